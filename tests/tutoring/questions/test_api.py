import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import (
    CityFactory,
    DistrictFactory,
    QuestionFactory,
    StaffFactory,
    StudentFactory,
    TeacherFactory,
    subject,
)
from tests.samples import question_photo
from tutoring.questions.models import Attachment, Question
from tutoring.questions.services import question_understand

pytestmark = pytest.mark.django_db

QUESTIONS_URL = "/api/v1/questions"


@pytest.fixture
def student_client(client):
    student = StudentFactory()
    client.force_login(student)
    client.user = student
    return client


def post_question(client, **fields):
    data = {"subject": "math", "grade": 3, "idempotency_key": "key-0000001", **fields}
    return client.post(QUESTIONS_URL, data)


def test_post_question_answers_202_with_the_question(student_client):
    response = post_question(
        student_client, text="3加5等于几？", photos=[SimpleUploadedFile("a.jpg", question_photo())]
    )

    question = Question.objects.get()
    body = response.json()
    assert response.status_code == 202
    assert (body["id"], body["status"], body["subject"], body["subject_name"], body["grade"]) == (
        question.pk,
        "received",
        "math",
        "数学",
        3,
    )
    assert (body["typed_text"], body["stage"]) == ("3加5等于几？", "reading_photo")
    assert [(a["kind"], a["status"], a["url"]) for a in body["attachments"]] == [("photo", "pending", None)]


def test_post_question_replay_answers_200_with_the_first_question(student_client):
    first = post_question(student_client, text="3加5等于几？")

    replay = post_question(student_client, text="3加5等于几？")

    assert (first.status_code, replay.status_code) == (202, 200)
    assert replay.json()["id"] == first.json()["id"]
    assert Question.objects.count() == 1


@pytest.mark.parametrize("named", ["math", "数学", " 数学 "])
def test_post_question_takes_the_subject_by_its_code_or_its_name(student_client, named):
    response = post_question(student_client, text="3加5等于几？", subject=named)

    body = response.json()
    assert (response.status_code, body["subject"], body["subject_name"], body["grade"]) == (202, "math", "数学", 3)
    assert list(Question.objects.values_list("subject__code", "grade")) == [("math", 3)]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"subject": "炼金术"}, {"code": "unknown_subject", "message": "未知的学科。", "field": "subject"}),
        ({"subject": "物理"}, {"code": "unknown_grade", "message": "3年级没有开设物理。", "field": "grade"}),
    ],
)
def test_post_question_unknown_subject_by_name_answers_400_and_creates_nothing(student_client, fields, error):
    response = post_question(student_client, text="题", **fields)

    assert (response.status_code, response.json()) == (400, {"error": error})
    assert Question.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "status", "code", "message"),
    [
        ({"text": ""}, 400, "empty_question", "请输入题目、拍照或录音。"),
        ({"text": "题", "subject": "astrology"}, 400, "unknown_subject", "未知的学科。"),
        ({"text": "题", "grade": "three"}, 400, "invalid", "请填写合法的整数值。"),
        ({"photos": [SimpleUploadedFile("a.jpg", b"GIF89a not a jpeg")]}, 400, "not_an_image", None),
    ],
)
def test_post_question_bad_input_answers_in_chinese_and_creates_nothing(student_client, fields, status, code, message):
    response = post_question(student_client, **fields)

    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (status, code)
    if message:
        assert error["message"] == message
    assert Question.objects.count() == 0


def test_post_question_over_the_rate_limit_answers_429(student_client, settings):
    settings.XUEWEN = {**settings.XUEWEN, "QUESTIONS_PER_MINUTE": 1}
    post_question(student_client, text="第1题", idempotency_key="key-first-1")

    response = post_question(student_client, text="第2题", idempotency_key="key-second-2")

    assert (response.status_code, response.json()["error"]["code"]) == (429, "rate_limited")
    assert Question.objects.count() == 1


def test_only_students_may_ask(client):
    client.force_login(TeacherFactory())

    response = post_question(client, text="老师的题")

    assert response.status_code == 403
    assert Question.objects.count() == 0


def test_anonymous_requests_are_refused(client):
    assert client.get(QUESTIONS_URL).status_code == 403
    assert post_question(client, text="题").status_code == 403
    assert Question.objects.count() == 0


def test_student_lists_and_reads_only_their_own_questions(student_client):
    own = QuestionFactory(student=student_client.user)
    other = QuestionFactory()

    listed = student_client.get(QUESTIONS_URL).json()

    assert [q["id"] for q in listed] == [own.pk]
    assert student_client.get(f"{QUESTIONS_URL}/{own.pk}").status_code == 200
    assert student_client.get(f"{QUESTIONS_URL}/{other.pk}").status_code == 404
    assert (
        student_client.patch(f"{QUESTIONS_URL}/{other.pk}", {"text": "改"}, content_type="application/json").status_code
        == 404
    )
    other.refresh_from_db()
    assert other.text == ""


def test_student_corrects_the_recognised_text(student_client):
    question = QuestionFactory(student=student_client.user, status=Question.Status.FAILED, failure_reason="看不清")

    response = student_client.patch(
        f"{QUESTIONS_URL}/{question.pk}", {"text": "小明有12个苹果"}, content_type="application/json"
    )

    body = response.json()
    assert (response.status_code, body["status"], body["text"], body["text_source"], body["failure_reason"]) == (
        200,
        "understood",
        "小明有12个苹果",
        "corrected",
        "",
    )


def test_teacher_reads_questions_of_their_subjects_and_grades_only(client):
    teacher = TeacherFactory(teaching=(["math"], ["primary-middle"]))
    visible = QuestionFactory(grade=3)
    other_grade = QuestionFactory(grade=8)
    other_subject = QuestionFactory(grade=3, subject=subject("chinese"))
    client.force_login(teacher)

    statuses = [client.get(f"{QUESTIONS_URL}/{q.pk}").status_code for q in (visible, other_grade, other_subject)]

    assert statuses == [200, 404, 404]
    assert (
        client.patch(f"{QUESTIONS_URL}/{visible.pk}", {"text": "改"}, content_type="application/json").status_code
        == 403
    )


def test_staff_of_a_district_read_questions_of_that_district_only(client):
    question = QuestionFactory()
    district = question.student.student_profile.school.district
    elsewhere = QuestionFactory()
    client.force_login(StaffFactory(scope=district))

    assert client.get(f"{QUESTIONS_URL}/{question.pk}").status_code == 200
    assert client.get(f"{QUESTIONS_URL}/{elsewhere.pk}").status_code == 404


def test_every_role_lists_over_the_api_exactly_what_their_home_page_shows(client):
    here, next_door = DistrictFactory(), DistrictFactory()
    another_city = DistrictFactory(city=CityFactory(name="杭州市"))
    apples = QuestionFactory(student__profile__school__district=here)
    physics = QuestionFactory(student__profile__school__district=next_door, subject=subject("physics"), grade=8)
    poem = QuestionFactory(student__profile__school__district=here, subject=subject("chinese"), grade=4)
    elsewhere = QuestionFactory(student__profile__school__district=another_city, subject=subject("english"))
    student = apples.student
    own_later = QuestionFactory(student=student, grade=4)
    users = {
        "city staff": StaffFactory(),
        "district staff": StaffFactory(scope=here),
        "teacher": TeacherFactory(teaching=(["math", "chinese"], ["primary-middle"])),
        "student": student,
        "staff of another city": StaffFactory(scope=another_city),
    }

    listed, shown = {}, {}
    for role, user in users.items():
        client.force_login(user)
        listed[role] = [question["id"] for question in client.get(QUESTIONS_URL).json()]
        shown[role] = [question.pk for question in client.get("/").context["questions"]]

    assert listed == {
        "city staff": [own_later.pk, poem.pk, physics.pk, apples.pk],
        "district staff": [own_later.pk, poem.pk, apples.pk],
        "teacher": [own_later.pk, poem.pk, apples.pk],
        "student": [own_later.pk, apples.pk],
        "staff of another city": [elsewhere.pk],
    }
    assert shown == listed


def test_the_question_list_shows_the_newest_fifty(client):
    questions = QuestionFactory.create_batch(52, student=StudentFactory())
    client.force_login(StaffFactory())

    listed = [question["id"] for question in client.get(QUESTIONS_URL).json()]

    assert listed == [question.pk for question in reversed(questions)][:50]


def test_processed_photo_is_served_only_to_those_who_may_see_the_question(student_client, client):
    post_question(student_client, photos=[SimpleUploadedFile("a.jpg", question_photo())])
    question = Question.objects.get()
    question_understand(question_id=question.pk)
    attachment = question.attachments.get()
    url = reverse(
        "questions:attachment-file",
        kwargs={"question_id": question.pk, "attachment_id": attachment.pk, "variant": "processed"},
    )
    original_url = url.replace("processed", "original")

    own = student_client.get(url)
    student_client.logout()
    client.force_login(StudentFactory())
    stranger = client.get(url)

    assert (own.status_code, own["Content-Type"], b"".join(own.streaming_content)[:3]) == (
        200,
        "image/jpeg",
        b"\xff\xd8\xff",
    )
    assert stranger.status_code == 404
    assert client.get(original_url).status_code == 404
    assert Attachment.objects.get().status == Attachment.Status.DONE


def test_openapi_schema_describes_the_question_api(client):
    response = client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    schema = response.json()
    assert response.status_code == 200
    assert set(schema["paths"]["/api/v1/questions"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/questions/{question_id}"]) == {"get", "patch"}
    assert "multipart/form-data" in schema["paths"]["/api/v1/questions"]["post"]["requestBody"]["content"]
    assert schema["paths"]["/api/v1/questions"]["get"]["summary"] == "The newest questions the user may see"
    subjects = {
        name: schema["components"]["schemas"][name]["properties"]["subject"]
        for name in (
            "QuestionCreateRequest",
            "EntryCreateRequest",
            "MatchQueryRequest",
            "PatchedQuestionCorrectionRequest",
        )
    }
    assert all(field["description"] == "Subject code (math) or name (数学)." for field in subjects.values()), subjects
    assert "enum" not in str(subjects)
