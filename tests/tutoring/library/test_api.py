import pytest
from asgiref.sync import sync_to_async
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile

from config.celery import app
from tests.factories import AdministratorFactory, QuestionFactory, StudentFactory, TeacherFactory
from tests.samples import video_clip
from tests.sockets import communicator
from tutoring.library.models import Answer, Entry, Feedback
from tutoring.library.services import answer_video_process, entry_save, question_match
from tutoring.questions.models import Question

pytestmark = pytest.mark.django_db

APPLES = "小明有12个苹果，吃了5个，还剩几个？"


def test_a_teacher_uploads_a_video_answer_that_phones_can_seek(client, django_capture_on_commit_callbacks):
    teacher = TeacherFactory()
    client.force_login(teacher)

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/api/v1/library/entries",
            {"text": APPLES, "subject": "数学", "grade": 3, "video": SimpleUploadedFile("a.webm", video_clip())},
        )
    answer = Answer.objects.get()
    answer_video_process(answer_id=answer.pk)
    answer.refresh_from_db()
    whole = client.get(f"/api/v1/library/answers/{answer.pk}/video")
    part = client.get(f"/api/v1/library/answers/{answer.pk}/video", HTTP_RANGE="bytes=0-99")
    outside = client.get(f"/api/v1/library/answers/{answer.pk}/video", HTTP_RANGE="bytes=999999999-")

    assert (response.status_code, response.json()["answers"]) == (201, [])  # still processing
    assert (answer.status, answer.original.name, answer.duration_seconds) == ("ready", "", pytest.approx(2.0, abs=0.2))
    size = len(b"".join(whole.streaming_content))
    assert (whole.status_code, whole["Accept-Ranges"], whole["Content-Type"]) == (200, "bytes", "video/mp4")
    assert (part.status_code, part["Content-Range"], len(b"".join(part.streaming_content))) == (
        206,
        f"bytes 0-99/{size}",
        100,
    )
    assert (outside.status_code, outside["Content-Range"]) == (416, f"bytes */{size}")
    assert client.get(f"/api/v1/library/answers/{answer.pk}/poster")["Content-Type"] == "image/jpeg"


def test_an_unreadable_video_is_refused_and_nothing_is_written(client, media_root):
    client.force_login(TeacherFactory())
    fake = b"\x1aE\xdf\xa3" + b"\x00" * 4000  # a WebM header and nothing playable

    response = client.post(
        "/api/v1/library/entries",
        {"text": APPLES, "subject": "数学", "grade": 3, "video": SimpleUploadedFile("v.webm", fake)},
    )

    assert (response.status_code, response.json()["error"]["code"]) == (400, "video_unreadable")
    assert (Entry.objects.count(), Answer.objects.count()) == (0, 0)
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


def test_students_cannot_add_to_or_search_the_library(client):
    client.force_login(StudentFactory())

    created = client.post("/api/v1/library/entries", {"text": APPLES, "subject": "数学", "grade": 3, "solution": "7"})
    searched = client.post(
        "/api/v1/matches", {"text": APPLES, "subject": "math", "grade": 3}, content_type="application/json"
    )

    assert (created.status_code, searched.status_code) == (403, 403)
    assert Entry.objects.count() == 0


def test_only_its_creator_or_an_administrator_withdraws_an_entry(client):
    owner = TeacherFactory()
    entry, _ = entry_save(text=APPLES, subject="数学", grade=3, solution="7个", created_by=owner)

    client.force_login(TeacherFactory())
    other = client.delete(f"/api/v1/library/entries/{entry.pk}")
    client.force_login(AdministratorFactory())
    admin = client.delete(f"/api/v1/library/entries/{entry.pk}")

    entry.refresh_from_db()
    assert (other.status_code, admin.status_code, entry.status) == (404, 204, "withdrawn")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_match_api_answers_through_a_matching_worker(client):
    entry, _ = entry_save(text=APPLES, subject="数学", grade=3, solution="7个")
    client.force_login(TeacherFactory())

    with start_worker(app, queues=["matching"], pool="solo", perform_ping_check=False, shutdown_timeout=30):
        by_code, by_name = (
            client.post(
                "/api/v1/matches", {"text": APPLES, "subject": named, "grade": 3}, content_type="application/json"
            )
            for named in ("math", "数学")
        )
    bad = client.post("/api/v1/matches", {"text": "", "subject": "math", "grade": 3}, content_type="application/json")

    for response in (by_code, by_name):
        assert response.status_code == 200
        assert (response.json()["outcome"], [m["entry_id"] for m in response.json()["matches"]]) == ("same", [entry.pk])
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "empty_text")


def test_the_match_api_refuses_an_unknown_subject_before_asking_a_worker(client, redis_client):
    client.force_login(TeacherFactory())

    response = client.post(
        "/api/v1/matches", {"text": APPLES, "subject": "炼金术", "grade": 3}, content_type="application/json"
    )

    assert (response.status_code, response.json()) == (
        400,
        {"error": {"code": "unknown_subject", "message": "未知的学科。", "field": "subject"}},
    )
    assert redis_client.llen("matching") == 0


@pytest.mark.parametrize(("named", "listed"), [("math", ["apples"]), ("数学", ["apples"]), ("炼金术", [])])
def test_the_library_lists_entries_of_a_subject_by_its_code_or_its_name(client, named, listed):
    entry_save(text=APPLES, subject="math", grade=3, solution="7个", external_id="apples")
    entry_save(
        text="“守株待兔”告诉我们什么道理？", subject="语文", grade=3, solution="不能心存侥幸。", external_id="idiom"
    )
    client.force_login(TeacherFactory())

    response = client.get("/api/v1/library/entries", {"subject": named})

    assert (response.status_code, [entry["external_id"] for entry in response.json()]) == (200, listed)


def test_the_match_api_answers_503_when_no_matching_worker_answers_in_time(client, settings, redis_client):
    settings.XUEWEN = {**settings.XUEWEN, "MATCH_WAIT_SECONDS": 0.3}
    client.force_login(TeacherFactory())

    response = client.post(
        "/api/v1/matches", {"text": APPLES, "subject": "math", "grade": 3}, content_type="application/json"
    )

    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "matching_unavailable",
        "message": "匹配服务繁忙，请稍后再试。",
        "field": None,
    }
    assert redis_client.llen("matching") == 1  # the search was asked for, and expires unanswered


def test_the_student_tells_whether_the_answer_solved_it(client):
    entry_save(text=APPLES, subject="数学", grade=3, solution="7个")
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES)
    question_match(question_id=question.pk)
    match = question.matches.get()
    client.force_login(question.student)

    shown = client.get(f"/api/v1/questions/{question.pk}").json()
    solved = client.post(
        f"/api/v1/questions/{question.pk}/feedback",
        {"choice": "resolved", "match_id": match.pk},
        content_type="application/json",
    )

    assert (
        shown["match_outcome"],
        shown["matches"][0]["label"],
        shown["matches"][0]["entry"]["answers"][0]["solution"],
    ) == (
        "same",
        "same",
        "7个",
    )
    assert (solved.status_code, solved.json()["status"]) == (200, "resolved")
    assert list(Feedback.objects.values_list("choice", "match_id")) == [("resolved", match.pk)]


def test_another_student_cannot_give_feedback(client):
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES, match_outcome="none")
    client.force_login(StudentFactory())

    response = client.post(
        f"/api/v1/questions/{question.pk}/feedback", {"choice": "resolved"}, content_type="application/json"
    )

    assert response.status_code == 404
    assert Feedback.objects.count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_the_matches_reach_the_students_socket():
    await sync_to_async(entry_save)(text=APPLES, subject="数学", grade=3, solution="7个")
    question = await sync_to_async(QuestionFactory)(status=Question.Status.UNDERSTOOD, text=APPLES)
    ws = await communicator(question.pk, question.student)
    await ws.connect()
    await ws.receive_json_from()

    await sync_to_async(question_match)(question_id=question.pk)
    event = await ws.receive_json_from(timeout=5)
    await ws.disconnect()

    assert (event["type"], event["question"]["match_outcome"]) == ("question.status", "same")
    assert [(m["rank"], m["label"], m["entry"]["text"]) for m in event["question"]["matches"]] == [(0, "same", APPLES)]
