import io
import json
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext as _
from PIL import Image

from tests.admin_pages import admin_url, administrator_client
from tests.factories import (
    AdministratorFactory,
    CityFactory,
    EntryFactory,
    LectureFactory,
    LectureSlideFactory,
    StudentFactory,
    TeacherFactory,
)
from tests.samples import question_photo, slides_pdf
from tutoring.core.errors import ServiceError
from tutoring.lectures import services
from tutoring.lectures.models import Lecture, LectureSlide, LectureSlideDeck

pytestmark = pytest.mark.django_db


def pdf(pages: int = 3, **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile("slides.pdf", slides_pdf(pages, **kwargs))


def picture(**kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile("slide.png", question_photo(**kwargs))


def turned_photo() -> bytes:
    """A phone photo taken sideways (EXIF orientation 6: turn it a quarter clockwise), with a location."""
    image = Image.open(io.BytesIO(question_photo(size=(800, 600))))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 4.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def slide_rows() -> list[tuple[int, int | None, int | None, int, int]]:
    return list(LectureSlide.objects.order_by("id").values_list("lecture_id", "number", "entry_id", "width", "height"))


def opened(name: str) -> Image.Image:
    with default_storage.open(name, "rb") as file:
        image = Image.open(io.BytesIO(file.read()))
        image.load()
    return image


def refusal(lecture: Lecture, files: list, user=None) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        services.lecture_slides_upload(lecture=lecture, user=user or lecture.lecturer, files=files)
    return refused.value


# --- Uploading and rendering -------------------------------------------------------------------


def test_a_pdf_is_kept_as_uploaded_until_a_media_task_renders_its_pages(
    redis_client, django_capture_on_commit_callbacks, media_root
):
    lecture = LectureFactory()

    with django_capture_on_commit_callbacks(execute=True):
        deck = services.lecture_slides_upload(lecture=lecture, user=lecture.lecturer, files=[pdf(3)])

    [upload] = deck.uploads
    assert (deck.lecture_id, deck.status, deck.uploaded_by_id, deck.error) == (
        lecture.pk,
        "pending",
        lecture.lecturer_id,
        "",
    )
    assert upload.startswith(f"lectures/{lecture.pk}/slides/uploads/") and upload.endswith(".pdf")
    assert stored_files(media_root) == [upload]
    assert slide_rows() == []
    queued = [json.loads(message) for message in redis_client.lrange("media", 0, -1)]
    assert [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in queued] == [
        ("tutoring.lectures.tasks.lecture_slides_render", f"({deck.pk},)")
    ]


def test_a_pdf_is_rendered_into_one_picture_a_page_at_the_boards_size_and_the_upload_goes(
    media_root, django_capture_on_commit_callbacks
):
    lecture = LectureFactory()
    deck = services.lecture_slides_upload(lecture=lecture, user=lecture.lecturer, files=[pdf(3)])

    with django_capture_on_commit_callbacks(execute=True):
        services.lecture_slides_render(deck_id=deck.pk)

    deck.refresh_from_db()
    assert (deck.status, deck.uploads, deck.error, deck.rendered_at is not None) == ("ready", [], "", True)
    assert slide_rows() == [(lecture.pk, number, None, 1600, 900) for number in (1, 2, 3)]
    slides = LectureSlide.objects.order_by("number")
    assert [opened(slide.image.name).size for slide in slides] == [(1600, 900)] * 3
    assert [opened(slide.thumbnail.name).size for slide in slides] == [(320, 180)] * 3
    assert {opened(slide.image.name).format for slide in slides} == {"JPEG"}
    assert len(stored_files(media_root)) == 6  # the pages and their thumbnails, not the PDF
    assert not any(name.endswith(".pdf") for name in stored_files(media_root))


def test_pictures_become_slides_in_their_order_upright_and_without_their_metadata():
    lecture = LectureFactory()
    files = [SimpleUploadedFile("a.jpg", turned_photo()), picture(size=(900, 240), format="PNG")]
    deck = services.lecture_slides_upload(lecture=lecture, user=AdministratorFactory(), files=files)

    services.lecture_slides_render(deck_id=deck.pk)

    first, second = LectureSlide.objects.order_by("number")
    assert [(first.number, first.width, first.height), (second.number, second.width, second.height)] == [
        (1, 600, 800),
        (2, 900, 240),
    ]
    assert dict(opened(first.image.name).getexif()) == {}
    assert opened(first.image.name).size == (600, 800)


def test_a_new_upload_replaces_the_slides_before_and_their_files(media_root, django_capture_on_commit_callbacks):
    lecture = LectureFactory()
    with django_capture_on_commit_callbacks(execute=True):
        deck = services.lecture_slides_upload(lecture=lecture, user=lecture.lecturer, files=[pdf(3)])
        services.lecture_slides_render(deck_id=deck.pk)

    with django_capture_on_commit_callbacks(execute=True):
        deck = services.lecture_slides_upload(lecture=lecture, user=lecture.lecturer, files=[picture()])
        services.lecture_slides_render(deck_id=deck.pk)

    assert slide_rows() == [(lecture.pk, 1, None, 900, 240)]
    [slide] = LectureSlide.objects.all()
    assert stored_files(media_root) == sorted([slide.image.name, slide.thumbnail.name])
    assert LectureSlideDeck.objects.count() == 1


def test_a_second_render_does_nothing():
    lecture = LectureFactory()
    deck = services.lecture_slides_upload(lecture=lecture, user=lecture.lecturer, files=[pdf(2)])
    services.lecture_slides_render(deck_id=deck.pk)
    rendered = (list(LectureSlideDeck.objects.values()), slide_rows())

    services.lecture_slides_render(deck_id=deck.pk)

    assert (list(LectureSlideDeck.objects.values()), slide_rows()) == rendered


def test_slides_that_cannot_be_rendered_are_failed_with_the_reason(media_root, django_capture_on_commit_callbacks):
    lecture = LectureFactory()
    deck = services.lecture_slides_upload(lecture=lecture, user=lecture.lecturer, files=[pdf(1)])
    (media_root / deck.uploads[0]).write_bytes(b"%PDF-1.4 nothing else")  # the stored upload broke (a disk error)

    with django_capture_on_commit_callbacks(execute=True):
        services.lecture_slides_render(deck_id=deck.pk)

    deck.refresh_from_db()
    assert (deck.status, deck.uploads, deck.error) == ("failed", [], _("The PDF could not be read."))
    assert (slide_rows(), stored_files(media_root)) == ([], [])


# --- Refusals: nothing is stored -------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "code", "status", "message"),
    [
        (
            lambda: [SimpleUploadedFile("slides.pdf", "小明有12个苹果".encode())],
            "unsupported_file",
            400,
            "Choose a PDF or pictures (JPEG, PNG or WebP).",
        ),
        (
            lambda: [SimpleUploadedFile("slides.pdf", b"%PDF-1.7\n%garbage, not a document")],
            "corrupt_pdf",
            400,
            "The PDF cannot be opened: it is damaged or protected by a password.",
        ),
        (lambda: [pdf(2), picture()], "mixed_slides", 400, "Upload one PDF, or pictures only."),
        (lambda: [], "no_slides", 400, "Choose a PDF or pictures."),
    ],
)
def test_what_is_not_slides_is_refused_and_nothing_is_stored(files, code, status, message, media_root):
    lecture = LectureFactory()

    error = refusal(lecture, files())

    assert (error.code, error.status, error.field, str(error.message)) == (code, status, "slides", _(message))
    assert (LectureSlideDeck.objects.count(), slide_rows(), stored_files(media_root)) == (0, [], [])


def test_slides_too_large_or_with_too_many_pages_are_refused_and_nothing_is_stored(settings, media_root):
    settings.XUEWEN = {**settings.XUEWEN, "MAX_SLIDES": 2, "MAX_SLIDES_BYTES": 1024 * 1024}
    lecture = LectureFactory()
    padding = b"\0" * (1024 * 1024)
    large_pdf = SimpleUploadedFile("big.pdf", slides_pdf(1) + padding)
    large_pictures = [picture(), SimpleUploadedFile("big.png", question_photo(format="PNG") + padding)]

    errors = [
        refusal(lecture, [pdf(3)]),
        refusal(lecture, [picture(), picture(), picture()]),
        refusal(lecture, [large_pdf]),
        refusal(lecture, large_pictures),
    ]

    assert [(error.code, error.status, str(error.message)) for error in errors] == [
        ("too_many_pages", 400, _("The PDF has {pages} pages; at most {limit} are allowed.").format(pages=3, limit=2)),
        ("too_many_pages", 400, _("At most %(limit)s slides.") % {"limit": 2}),
        ("too_large", 413, _("The PDF is larger than {limit} MB.").format(limit=1)),
        ("too_large", 413, _("The slides are larger than %(limit)s MB in all.") % {"limit": 1}),
    ]
    assert (LectureSlideDeck.objects.count(), slide_rows(), stored_files(media_root)) == (0, [], [])


def test_only_the_lecturer_and_administrators_upload_slides_and_only_before_the_start(media_root):
    lecture = LectureFactory()
    other_teacher = refusal(lecture, [pdf(1)], user=TeacherFactory())
    services.lecture_start(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    lecture.refresh_from_db()

    started = refusal(lecture, [pdf(1)])

    assert (other_teacher.code, other_teacher.status) == ("unknown_lecture", 404)
    assert (started.code, started.status, str(started.message)) == (
        "lecture_started",
        409,
        _("Slides can only be changed before the lecture starts."),
    )
    assert (LectureSlideDeck.objects.count(), slide_rows(), stored_files(media_root)) == (0, [], [])


# --- The photos of the questions a lecture covers -------------------------------------------------


def entry_with_photo(text: str):
    entry = EntryFactory(text=text)
    entry.photo = default_storage.save("library/photos/question.jpg", ContentFile(question_photo(text)))
    entry.save(update_fields=["photo"])
    return entry


def test_the_photos_of_the_covered_questions_are_slides_until_they_are_no_longer_covered():
    lecture = LectureFactory()
    first, second = entry_with_photo("3 + 5 = ?"), entry_with_photo("7 - 2 = ?")
    lecture.entries.set([first, second, EntryFactory()])  # the last has no photo

    services.lecture_entry_photos_sync(lecture=lecture)
    services.lecture_entry_photos_sync(lecture=lecture)  # again: nothing changes
    covered = slide_rows()
    lecture.entries.set([second])
    services.lecture_entry_photos_sync(lecture=lecture)

    assert covered == [(lecture.pk, None, first.pk, 900, 240), (lecture.pk, None, second.pk, 900, 240)]
    assert slide_rows() == [(lecture.pk, None, second.pk, 900, 240)]


def test_a_started_lecture_keeps_the_photos_its_log_may_place():
    lecture = LectureFactory()
    entry = entry_with_photo("3 + 5 = ?")
    lecture.entries.set([entry])
    services.lecture_entry_photos_sync(lecture=lecture)
    services.lecture_start(lecturer=lecture.lecturer, lecture_id=lecture.pk)

    lecture.entries.set([])
    services.lecture_entry_photos_sync(lecture=lecture)

    assert slide_rows() == [(lecture.pk, None, entry.pk, 900, 240)]


# --- Over HTTP ---------------------------------------------------------------------------------


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_lecturer_uploads_slides_from_the_studio_and_reads_how_far_they_are():
    lecture = LectureFactory()
    client = logged_in(lecture.lecturer)
    url = reverse("lectures:slides", args=[lecture.pk])

    uploaded = client.post(url, {"files": [picture(), picture(format="PNG")]})
    services.lecture_slides_render(deck_id=LectureSlideDeck.objects.get().pk)
    read = client.get(url)

    assert (uploaded.status_code, uploaded.json()) == (202, {"status": "pending", "error": "", "slides": []})
    first, second = LectureSlide.objects.order_by("number")
    assert (read.status_code, read.json()) == (
        200,
        {
            "status": "ready",
            "error": "",
            "slides": [
                {
                    "id": slide.pk,
                    "number": slide.number,
                    "entry": None,
                    "width": 900,
                    "height": 240,
                    "url": f"/api/v1/lectures/{lecture.pk}/slides/{slide.pk}/image",
                    "thumbnail_url": f"/api/v1/lectures/{lecture.pk}/slides/{slide.pk}/thumbnail",
                }
                for slide in (first, second)
            ],
        },
    )


def test_a_refused_upload_answers_the_error_in_one_shape():
    lecture = LectureFactory()

    response = logged_in(lecture.lecturer).post(
        reverse("lectures:slides", args=[lecture.pk]), {"files": [SimpleUploadedFile("a.txt", b"hello")]}
    )

    assert (response.status_code, response.json()) == (
        400,
        {
            "error": {
                "code": "unsupported_file",
                "message": _("Choose a PDF or pictures (JPEG, PNG or WebP)."),
                "field": "slides",
            }
        },
    )
    assert LectureSlideDeck.objects.count() == 0


def test_students_neither_upload_slides_nor_list_them():
    city = CityFactory()
    lecture = LectureFactory(city=city)
    student = logged_in(StudentFactory(profile__school__district__city=city, profile__grade=3))
    url = reverse("lectures:slides", args=[lecture.pk])

    assert student.post(url, {"files": [picture()]}).status_code == 404
    assert student.get(url).status_code == 404
    assert LectureSlideDeck.objects.count() == 0


@pytest.mark.parametrize("variant", ["image", "thumbnail"])
def test_a_slide_is_served_to_whoever_may_see_the_lecture(variant):
    city = CityFactory()
    lecture = LectureFactory(city=city)
    deck = services.lecture_slides_upload(lecture=lecture, user=lecture.lecturer, files=[pdf(1)])
    services.lecture_slides_render(deck_id=deck.pk)
    slide = LectureSlide.objects.get()
    url = reverse("lectures:slide-file", args=[lecture.pk, slide.pk, variant])

    watching = logged_in(StudentFactory(profile__school__district__city=city, profile__grade=3)).get(url)
    elsewhere = logged_in(StudentFactory(profile__school__district__city=CityFactory(name="杭州市"), profile__grade=3))

    assert (watching.status_code, watching["Content-Type"]) == (200, "image/jpeg")
    assert b"".join(watching.streaming_content)[:3] == b"\xff\xd8\xff"
    assert elsewhere.get(url).status_code == 404
    assert Client().get(url).status_code == 404  # signed out


def test_no_slide_is_served_under_another_lecture_nor_an_unknown_file():
    city = CityFactory()
    slide = LectureSlideFactory(lecture__city=city)
    other = LectureFactory(city=city)
    student = logged_in(StudentFactory(profile__school__district__city=city, profile__grade=3))

    assert student.get(reverse("lectures:slide-file", args=[other.pk, slide.pk, "image"])).status_code == 404
    assert student.get(reverse("lectures:slide-file", args=[slide.lecture_id, slide.pk, "original"])).status_code == 404


# --- The admin ---------------------------------------------------------------------------------


def admin_form(lecture: Lecture, **changes) -> dict:
    return {
        "title": lecture.title,
        "description": lecture.description,
        "lecturer": lecture.lecturer_id,
        "subject": lecture.subject_id,
        "grade_band": lecture.grade_band_id,
        "city": lecture.city_id,
        "starts_at_0": lecture.starts_at.strftime("%Y-%m-%d"),
        "starts_at_1": lecture.starts_at.strftime("%H:%M:%S"),
        "planned_minutes": lecture.planned_minutes,
        "knowledge_points": "[]",
        "slides-TOTAL_FORMS": 0,
        "slides-INITIAL_FORMS": 0,
        **changes,
    }


def test_an_administrator_attaches_slides_and_the_covered_questions_photos_in_the_admin():
    lecture = LectureFactory()
    entry = entry_with_photo("3 + 5 = ?")
    client = administrator_client()

    response = client.post(
        admin_url(Lecture, "change", lecture.pk), admin_form(lecture, entries=[entry.pk], slides=[pdf(2)])
    )

    assert response.status_code == 302
    deck = LectureSlideDeck.objects.get()
    assert (deck.lecture_id, deck.status, len(deck.uploads)) == (lecture.pk, "pending", 1)
    assert slide_rows() == [(lecture.pk, None, entry.pk, 900, 240)]


def test_the_admin_refuses_files_that_are_not_slides_and_saves_nothing(media_root):
    lecture = LectureFactory()
    client = administrator_client()

    response = client.post(
        admin_url(Lecture, "change", lecture.pk),
        admin_form(lecture, title="改了", slides=[SimpleUploadedFile("a.pdf", b"%PDF-1.4 broken")]),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "slides": [_("The PDF cannot be opened: it is damaged or protected by a password.")]
    }
    assert Lecture.objects.get().title == lecture.title
    assert (LectureSlideDeck.objects.count(), stored_files(media_root)) == (0, [])
