"""A photo with a student's question in a live lecture: uploaded over HTTP, checked and processed like a question's
photo at intake, asked with by its id, served only to whoever may see the question."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext as _

from tests.factories import CityFactory, LectureFactory, StudentFactory, TeacherFactory
from tests.samples import question_photo
from tests.tutoring.lectures.test_consumers import live_lecture
from tests.tutoring.lectures.test_slides import opened, stored_files, turned_photo
from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.lectures import selectors, services
from tutoring.lectures.models import Lecture, LectureFact, LectureQuestion, LectureQuestionPhoto

pytestmark = pytest.mark.django_db


def student_of(lecture: Lecture) -> User:
    """A student of the lecture's city and grades, who may watch it."""
    return StudentFactory(profile__school__district__city=lecture.city, profile__grade=3)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, lecture: Lecture, content: bytes | None):
    """POST a photo (or no file) to ask with in ``lecture``."""
    data = {"photo": SimpleUploadedFile("IMG_0001.jpg", content)} if content is not None else {}
    return client.post(reverse("lectures:question-photos", args=[lecture.pk]), data)


def uploaded_photo(lecture: Lecture, student: User) -> LectureQuestionPhoto:
    return services.lecture_question_photo_add(
        lecture_id=lecture.pk, student=student, file=SimpleUploadedFile("IMG_0002.jpg", question_photo())
    )


def asked_facts(lecture: Lecture) -> list[tuple[int | None, dict]]:
    return list(LectureFact.objects.filter(lecture=lecture, kind=LectureFact.Kind.ASKED).values_list("user_id", "data"))


def photo_url(question: LectureQuestion, variant: str) -> str:
    return reverse("lectures:question-photo", args=[question.lecture_id, question.pk, variant])


def error(code: str, message: str, field: str | None = "photo") -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


# --- Asking with a photo ----------------------------------------------------------------------------


def test_a_student_asks_with_a_photo_kept_upright_without_its_metadata_and_with_a_thumbnail(media_root: Path):
    lecture = live_lecture()
    student = student_of(lecture)

    uploaded = upload(logged_in(student), lecture, turned_photo())
    question = services.lecture_question_ask(
        lecture_id=lecture.pk, student=student, text=" 这道题 怎么做？", photo_id=uploaded.json()["id"]
    )

    photo = LectureQuestionPhoto.objects.get()
    image, thumbnail = opened(photo.image.name), opened(photo.thumbnail.name)
    assert (uploaded.status_code, uploaded.json()) == (201, {"id": photo.pk, "width": 600, "height": 800})
    assert (photo.lecture_id, photo.student_id, question.photo_id) == (lecture.pk, student.pk, photo.pk)
    assert (image.format, image.size, dict(image.getexif()), "exif" in image.info) == ("JPEG", (600, 800), {}, False)
    assert (thumbnail.format, thumbnail.size, dict(thumbnail.getexif())) == ("JPEG", (240, 320), {})
    assert stored_files(media_root) == sorted([photo.image.name, photo.thumbnail.name])
    assert all(name.startswith(f"lectures/{lecture.pk}/questions/") for name in stored_files(media_root))
    assert selectors.question_shown(question) == {
        "id": question.pk,
        "text": "这道题 怎么做？",
        "status": "open",
        "upvotes": 0,
        "photo": {
            "url": f"/api/v1/lectures/{lecture.pk}/questions/{question.pk}/photo/image",
            "thumbnail_url": f"/api/v1/lectures/{lecture.pk}/questions/{question.pk}/photo/thumbnail",
        },
    }
    assert asked_facts(lecture) == [
        (student.pk, {"question": question.pk, "text": "这道题 怎么做？", "photo": photo.pk})
    ]


def test_a_question_without_a_photo_shows_none_and_its_fact_names_none():
    lecture = live_lecture()
    student = student_of(lecture)

    question = services.lecture_question_ask(lecture_id=lecture.pk, student=student, text="为什么要进位？")

    assert selectors.question_shown(question)["photo"] is None
    assert asked_facts(lecture) == [(student.pk, {"question": question.pk, "text": "为什么要进位？"})]


@pytest.mark.parametrize(
    ("content", "limits", "code", "status", "message"),
    [
        (
            lambda: b"\xff\xd8\xff" + b"\0" * (1024 * 1024),
            {"MAX_PHOTO_BYTES": 1024 * 1024},
            "too_large",
            413,
            lambda: _("The photo is larger than {limit} MB.").format(limit=1),
        ),
        (
            lambda: "小明有12个苹果".encode(),
            {},
            "not_an_image",
            400,
            lambda: _("Please choose a photo (JPEG, PNG or WebP)."),
        ),
        (
            lambda: question_photo()[:3000],
            {},
            "corrupt_image",
            400,
            lambda: _("The photo is damaged or incomplete. Please take it again."),
        ),
        (
            lambda: question_photo(size=(900, 240)),
            {"MAX_IMAGE_PIXELS": 900 * 240 - 1},
            "too_many_pixels",
            400,
            lambda: _("The photo has too many pixels. Please take a smaller one."),
        ),
        (lambda: None, {}, "no_file", 400, lambda: _("Please choose a photo.")),
    ],
)
def test_what_is_not_a_photo_within_the_intake_limits_is_refused_and_nothing_is_stored(
    content, limits, code, status, message, settings, media_root: Path
):
    settings.XUEWEN = {**settings.XUEWEN, **limits}
    lecture = live_lecture()

    response = upload(logged_in(student_of(lecture)), lecture, content())

    assert (response.status_code, response.json()) == (status, error(code, message()))
    assert (LectureQuestionPhoto.objects.count(), stored_files(media_root), asked_facts(lecture)) == (0, [], [])


def test_only_students_watching_a_live_lecture_upload_a_photo_and_nothing_else_is_stored(media_root: Path):
    lecture = live_lecture()
    moderator = TeacherFactory()
    lecture.moderators.add(moderator)
    scheduled = LectureFactory(city=lecture.city)
    elsewhere = StudentFactory(profile__school__district__city=CityFactory(name="杭州市"), profile__grade=3)
    not_watching = error("not_allowed", _("Only the students watching do this."), None)

    responses = [
        upload(logged_in(lecture.lecturer), lecture, question_photo()),
        upload(logged_in(moderator), lecture, question_photo()),
        upload(logged_in(TeacherFactory()), lecture, question_photo()),  # an observer
        upload(logged_in(elsewhere), lecture, question_photo()),
        upload(Client(), lecture, question_photo()),  # signed out
        upload(logged_in(student_of(lecture)), scheduled, question_photo()),
    ]

    assert [(response.status_code, response.json()) for response in responses] == [
        (403, not_watching),
        (403, not_watching),
        (403, not_watching),
        (404, {"detail": _("Not found.")}),
        (403, error("not_authenticated", _("Authentication credentials were not provided."), None)),
        (409, error("not_live", _("This lecture is not live."), None)),
    ]
    assert (LectureQuestionPhoto.objects.count(), stored_files(media_root)) == (0, [])


def test_a_student_who_may_not_ask_now_uploads_no_photo(settings, media_root: Path):
    settings.XUEWEN = {**settings.XUEWEN, "LECTURE_QUESTIONS_PER_MINUTE": 1, "LECTURE_QUESTIONS_PER_LECTURE": 2}
    lecture = live_lecture()
    fast, many = student_of(lecture), student_of(lecture)
    services.lecture_question_ask(lecture_id=lecture.pk, student=fast, text="第一个问题")
    for _number in range(2):  # two photos uploaded, none asked with
        uploaded_photo(lecture, many)
    before = (LectureQuestionPhoto.objects.count(), stored_files(media_root), asked_facts(lecture))

    too_fast = upload(logged_in(fast), lecture, question_photo())
    too_many = upload(logged_in(many), lecture, question_photo())

    assert (too_fast.status_code, too_fast.json()) == (
        429,
        error("rate_limited", _("You are asking too fast; wait a minute."), None),
    )
    message = _("You have sent %(count)s photos in this lecture, the most there can be.") % {"count": 2}
    assert (too_many.status_code, too_many.json()) == (429, error("too_many_photos", message))
    assert (LectureQuestionPhoto.objects.count(), stored_files(media_root), asked_facts(lecture)) == before


def test_a_photo_is_asked_with_only_by_its_student_in_its_lecture_and_once(settings):
    settings.XUEWEN = {**settings.XUEWEN, "LECTURE_QUESTIONS_PER_MINUTE": 5}
    lecture, other_lecture = live_lecture(), live_lecture()
    other_lecture.city = lecture.city
    other_lecture.save(update_fields=["city"])
    student, classmate = student_of(lecture), student_of(lecture)
    used = uploaded_photo(lecture, student)
    services.lecture_question_ask(lecture_id=lecture.pk, student=student, text="第一个问题", photo_id=used.pk)
    classmates = uploaded_photo(lecture, classmate)
    other_lectures = uploaded_photo(other_lecture, student)
    before = (list(LectureQuestion.objects.values_list("pk", "photo_id")), asked_facts(lecture))

    refused = []
    for photo_id in (used.pk, classmates.pk, other_lectures.pk, "1", 0):
        with pytest.raises(ServiceError) as refusal:
            services.lecture_question_ask(lecture_id=lecture.pk, student=student, text="再问一次", photo_id=photo_id)
        refused.append((refusal.value.code, refusal.value.status, refusal.value.field, str(refusal.value.message)))

    assert refused == [("unknown_photo", 400, "photo", _("Choose the photo again."))] * 5
    assert (list(LectureQuestion.objects.values_list("pk", "photo_id")), asked_facts(lecture)) == before


def test_asking_with_a_photo_keeps_the_limits_and_a_refused_question_leaves_the_photo_to_ask_with_later(settings):
    settings.XUEWEN = {**settings.XUEWEN, "LECTURE_QUESTIONS_PER_MINUTE": 1}
    lecture = live_lecture()
    student = student_of(lecture)
    photo = uploaded_photo(lecture, student)
    services.lecture_question_ask(lecture_id=lecture.pk, student=student, text="第一个问题")

    with pytest.raises(ServiceError) as refusal:
        services.lecture_question_ask(lecture_id=lecture.pk, student=student, text="第二个问题", photo_id=photo.pk)

    assert (refusal.value.code, refusal.value.status) == ("rate_limited", 429)
    assert list(LectureQuestion.objects.values_list("text", "photo_id")) == [("第一个问题", None)]
    assert LectureQuestionPhoto.objects.filter(pk=photo.pk, question__isnull=True).exists()
    assert [data["text"] for _user, data in asked_facts(lecture)] == ["第一个问题"]


def test_the_end_deletes_the_photos_never_asked_with_and_keeps_the_others(
    media_root: Path, django_capture_on_commit_callbacks
):
    lecture = live_lecture()
    student = student_of(lecture)
    asked_with, never = uploaded_photo(lecture, student), uploaded_photo(lecture, student)
    services.lecture_question_ask(lecture_id=lecture.pk, student=student, text="这道题怎么做？", photo_id=asked_with.pk)

    with django_capture_on_commit_callbacks(execute=True):
        services.lecture_end(lecturer=lecture.lecturer, lecture_id=lecture.pk)

    assert list(LectureQuestionPhoto.objects.values_list("pk", flat=True)) == [asked_with.pk]
    assert stored_files(media_root) == sorted([asked_with.image.name, asked_with.thumbnail.name])
    assert not default_storage.exists(never.image.name)
    with pytest.raises(ServiceError) as after_the_end:
        uploaded_photo(lecture, student)
    assert after_the_end.value.code == "not_live"


# --- Who sees a question's photo ------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["image", "thumbnail"])
def test_a_questions_photo_is_served_to_whoever_may_see_the_question_and_never_with_a_name(variant):
    lecture = live_lecture()
    moderator = TeacherFactory()
    lecture.moderators.add(moderator)
    asker, viewer = student_of(lecture), student_of(lecture)
    outsider = StudentFactory(profile__school__district__city=CityFactory(name="杭州市"), profile__grade=3)
    question = services.lecture_question_ask(
        lecture_id=lecture.pk, student=asker, text="这道题怎么做？", photo_id=uploaded_photo(lecture, asker).pk
    )
    clients = {
        "lecturer": logged_in(lecture.lecturer),
        "moderator": logged_in(moderator),
        "asker": logged_in(asker),
        "viewer": logged_in(viewer),
        "observer": logged_in(TeacherFactory()),
        "outsider": logged_in(outsider),
        "anonymous": Client(),
    }
    url = photo_url(question, variant)

    shown = {who: client.get(url) for who, client in clients.items()}
    services.lecture_question_moderate(
        lecture_id=lecture.pk, user=lecture.lecturer, question_id=question.pk, action="hide"
    )
    hidden = {who: client.get(url).status_code for who, client in clients.items()}

    stored = getattr(LectureQuestionPhoto.objects.get(), variant)
    with default_storage.open(stored.name, "rb") as file:
        content = file.read()
    assert {who: response.status_code for who, response in shown.items()} == {
        "lecturer": 200,
        "moderator": 200,
        "asker": 200,
        "viewer": 200,
        "observer": 200,
        "outsider": 404,
        "anonymous": 404,
    }
    assert hidden == {
        "lecturer": 200,
        "moderator": 200,
        "asker": 200,
        "viewer": 404,
        "observer": 404,
        "outsider": 404,
        "anonymous": 404,
    }
    seen = shown["viewer"]
    assert (seen["Content-Type"], b"".join(seen.streaming_content)) == ("image/jpeg", content)
    assert not any(asker.username in value or str(asker) in value for value in seen.headers.values())


def test_no_photo_is_served_for_a_question_without_one_under_another_lecture_or_as_another_file():
    lecture = live_lecture()
    asker = student_of(lecture)
    with_photo = services.lecture_question_ask(
        lecture_id=lecture.pk, student=asker, text="这道题怎么做？", photo_id=uploaded_photo(lecture, asker).pk
    )
    without = services.lecture_question_ask(lecture_id=lecture.pk, student=student_of(lecture), text="为什么？")
    other = LectureFactory(city=lecture.city)
    client = logged_in(asker)

    assert client.get(photo_url(without, "image")).status_code == 404
    assert client.get(reverse("lectures:question-photo", args=[other.pk, with_photo.pk, "image"])).status_code == 404
    assert client.get(photo_url(with_photo, "original")).status_code == 404
    assert client.get(photo_url(with_photo, "image")).status_code == 200
