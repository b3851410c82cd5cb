"""Replay viewing time: the replay page reports the stretches of video it played; each report is one fact, stored
once however often it comes, and the facts sum to the seconds watched."""

import json
import threading
import time
from datetime import datetime, timedelta

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    CityFactory,
    DistrictFactory,
    PublishedRecordingFactory,
    StaffFactory,
    StudentFactory,
    TeacherFactory,
)
from tutoring.core.errors import ServiceError
from tutoring.lectures import selectors, services
from tutoring.lectures.models import Lecture, LectureFact, LectureRecording

pytestmark = pytest.mark.django_db

VIEWING = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def student_of(lecture: Lecture):
    return StudentFactory(profile__school__district__city=lecture.city, profile__grade=3)


def watched(lecture: Lecture, user, *, seq: int = 1, intervals=((0.0, 20.0),), viewing: str = VIEWING):
    return services.lecture_replay_watched(
        lecture=lecture, user=user, viewing=viewing, seq=seq, intervals=list(intervals)
    )


def replay_facts() -> list[tuple[int, int | None, str | None, dict]]:
    rows = LectureFact.objects.filter(kind="replay_watched").order_by("id")
    return list(rows.values_list("lecture_id", "user_id", "idempotency_key", "data"))


def test_a_report_is_one_fact_with_the_seconds_played_and_its_stretches():
    lecture = PublishedRecordingFactory().lecture
    student = student_of(lecture)

    fact = watched(lecture, student, seq=3, intervals=[(95.5, 110.25), (300.0, 305.1234)])

    assert (fact.kind, fact.lecture_id, fact.user_id) == ("replay_watched", lecture.pk, student.pk)
    assert replay_facts() == [
        (
            lecture.pk,
            student.pk,
            f"replay:{VIEWING}:3",
            {
                "viewing": VIEWING,
                "seq": 3,
                "seconds": 19.873,
                "intervals": [[95.5, 110.25], [300.0, 305.123]],
                "role": "viewer",
            },
        )
    ]


def test_the_same_report_again_appends_nothing_and_returns_the_first():
    lecture = PublishedRecordingFactory().lecture
    student = student_of(lecture)
    first = watched(lecture, student, seq=1, intervals=[(0, 20)])

    again = watched(lecture, student, seq=1, intervals=[(0, 20)])
    retold = watched(lecture, student, seq=1, intervals=[(40, 60)])  # a different body under the same number

    assert again.pk == retold.pk == first.pk
    assert len(replay_facts()) == 1
    assert selectors.lecture_replay_seconds(lecture_id=lecture.pk) == 20.0


class Clock:
    """The time every ``timezone.now()`` reads: still until a test moves it on."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock)
    return clock


def viewing_facts() -> list[tuple[str, datetime, float]]:
    rows = LectureFact.objects.filter(kind="replay_watched").order_by("id")
    return [(key, at, data["seconds"]) for key, at, data in rows.values_list("idempotency_key", "at", "data")]


def test_a_viewing_reports_its_first_report_and_twice_the_seconds_since_then_and_ten_more(clock):
    lecture = PublishedRecordingFactory().lecture
    student = student_of(lecture)
    began = clock.now
    watched(lecture, student, seq=1, intervals=[(0, 30)])

    clock.tick(10)
    fact = watched(lecture, student, seq=2, intervals=[(30, 40), (50, 70)])  # 60 s in all: 30 + 2 × 10 + 10
    elsewhere = watched(lecture, student, seq=1, intervals=[(0, 40)], viewing="b" * 32)  # a viewing of its own

    assert (fact.data["seconds"], elsewhere.data["seconds"]) == (30.0, 40.0)
    assert viewing_facts() == [
        (f"replay:{VIEWING}:1", began, 30.0),
        (f"replay:{VIEWING}:2", began + timedelta(seconds=10), 30.0),
        (f"replay:{'b' * 32}:1", began + timedelta(seconds=10), 40.0),
    ]


def test_a_report_past_what_the_clock_allows_is_refused_and_nothing_is_stored(clock):
    lecture = PublishedRecordingFactory().lecture
    student = student_of(lecture)
    began = clock.now
    watched(lecture, student, seq=1, intervals=[(0, 30)])
    clock.tick(10)

    with pytest.raises(ServiceError) as refused:
        watched(lecture, student, seq=2, intervals=[(30, 60.001)])

    assert (refused.value.code, str(refused.value.message), refused.value.status, refused.value.field) == (
        "replay_ahead_of_time",
        "这次观看报告的回放时长超过了开始观看以来经过的时间。",
        409,
        "intervals",
    )
    assert viewing_facts() == [(f"replay:{VIEWING}:1", began, 30.0)]
    assert selectors.lecture_replay_seconds(lecture_id=lecture.pk, user_id=student.pk) == 30.0


def test_a_stored_report_sent_again_is_answered_with_it_once_the_viewing_has_reached_its_limit(clock):
    lecture = PublishedRecordingFactory().lecture
    student = student_of(lecture)
    first = watched(lecture, student, seq=1, intervals=[(0, 30)])
    clock.tick(10)
    second = watched(lecture, student, seq=2, intervals=[(30, 60)])
    with pytest.raises(ServiceError):
        watched(lecture, student, seq=3, intervals=[(60, 61)])

    again = [watched(lecture, student, seq=2, intervals=[(30, 60)]), watched(lecture, student, intervals=[(0, 30)])]

    assert [fact.pk for fact in again] == [second.pk, first.pk]
    assert [key for key, _, _ in viewing_facts()] == [f"replay:{VIEWING}:1", f"replay:{VIEWING}:2"]
    assert selectors.lecture_replay_seconds(lecture_id=lecture.pk, user_id=student.pk) == 60.0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_report_waits_for_the_users_report_in_flight_and_counts_it(clock):
    lecture = PublishedRecordingFactory().lecture
    student = student_of(lecture)
    refusals: list[str] = []

    def report_meanwhile() -> None:
        try:
            watched(lecture, student, seq=2, intervals=[(120, 140)])
        except ServiceError as refused:
            refusals.append(refused.code)
        finally:
            connections.close_all()

    with transaction.atomic():  # the first report, stored but not yet committed while the second comes
        watched(lecture, student, seq=1, intervals=[(0, 120)])
        meanwhile = threading.Thread(target=report_meanwhile)
        meanwhile.start()
        deadline, waiting = time.monotonic() + 10, 0
        with connection.cursor() as cursor:
            while not waiting and time.monotonic() < deadline:
                time.sleep(0.02)
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # read afresh within this transaction
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                [waiting] = cursor.fetchone()
        assert waiting == 1, "the second report did not wait for the first"
    meanwhile.join(timeout=10)

    assert refusals == ["replay_ahead_of_time"]
    assert [key for key, _, _ in viewing_facts()] == [f"replay:{VIEWING}:1"]


def test_the_same_number_in_another_viewing_or_of_another_user_counts():
    lecture = PublishedRecordingFactory().lecture
    student, classmate = student_of(lecture), student_of(lecture)

    watched(lecture, student, seq=1)
    watched(lecture, student, seq=1, viewing="a" * 32)
    watched(lecture, classmate, seq=1)

    assert [(user, key) for _, user, key, _ in replay_facts()] == [
        (student.pk, f"replay:{VIEWING}:1"),
        (student.pk, f"replay:{'a' * 32}:1"),
        (classmate.pk, f"replay:{VIEWING}:1"),
    ]


def test_replay_seconds_sum_the_facts_by_lecture_and_by_user(clock):
    recording = PublishedRecordingFactory()
    lecture, other = recording.lecture, PublishedRecordingFactory().lecture
    student, classmate = student_of(lecture), student_of(lecture)
    watched(lecture, student, seq=1, intervals=[(0, 20), (30, 30.1)])
    clock.tick(20)
    watched(lecture, student, seq=2, intervals=[(30.1, 50.3)])
    watched(lecture, student, seq=2, intervals=[(30.1, 50.3)])  # a retry
    watched(lecture, classmate, seq=1, intervals=[(95.5, 100)])
    watched(other, student, seq=1, intervals=[(0, 0.7)])

    assert selectors.lecture_replay_seconds(lecture_id=lecture.pk) == 44.8
    assert selectors.lecture_replay_seconds(lecture_id=lecture.pk, user_id=student.pk) == 40.3
    assert selectors.lecture_replay_seconds(user_id=student.pk) == 41.0
    assert selectors.lecture_replay_seconds(user_id=classmate.pk) == 4.5
    assert selectors.lecture_replay_seconds() == 45.5
    assert selectors.lecture_replay_seconds(lecture_id=other.pk, user_id=classmate.pk) == 0.0


def test_teachers_watching_are_counted_with_their_role():
    lecture = PublishedRecordingFactory().lecture

    watched(lecture, TeacherFactory())
    watched(lecture, lecture.lecturer)

    assert [data["role"] for *_, data in replay_facts()] == ["observer", "lecturer"]


@pytest.mark.parametrize(
    ("intervals", "code", "message"),
    [
        ([], "invalid_intervals", "每次报告 1 到 50 段回放。"),
        ([(0, 1)] * 51, "invalid_intervals", "每次报告 1 到 50 段回放。"),
        ([(-1, 5)], "invalid_interval", "每一段都必须先开始后结束，并且在回放的时长之内。"),
        ([(5, 5)], "invalid_interval", "每一段都必须先开始后结束，并且在回放的时长之内。"),
        ([(6, 5)], "invalid_interval", "每一段都必须先开始后结束，并且在回放的时长之内。"),
        ([(590, 601.5)], "invalid_interval", "每一段都必须先开始后结束，并且在回放的时长之内。"),
        ([(0, float("nan"))], "invalid_interval", "每一段都必须先开始后结束，并且在回放的时长之内。"),
        ([(0, float("inf"))], "invalid_interval", "每一段都必须先开始后结束，并且在回放的时长之内。"),
        ([(0, 100), (200, 221)], "report_too_long", "每次报告最多包含 120 秒回放。"),
    ],
)
def test_bad_stretches_are_refused_in_chinese_and_append_nothing(intervals, code, message):
    lecture = PublishedRecordingFactory().lecture

    with pytest.raises(ServiceError) as refused:
        watched(lecture, student_of(lecture), intervals=intervals)

    assert (refused.value.code, str(refused.value.message), refused.value.field) == (code, message, "intervals")
    assert replay_facts() == []


def test_a_stretch_may_end_a_little_past_the_stored_length():
    lecture = PublishedRecordingFactory().lecture

    fact = watched(lecture, student_of(lecture), intervals=[(590, 601)])

    assert fact.data["seconds"] == 11.0


@pytest.mark.parametrize(
    ("fields", "code", "message", "field"),
    [
        ({"viewing": "short"}, "invalid_viewing", "观看记录的标识无效。", "viewing"),
        ({"viewing": "x" * 65}, "invalid_viewing", "观看记录的标识无效。", "viewing"),
        ({"viewing": "abc def ghi"}, "invalid_viewing", "观看记录的标识无效。", "viewing"),
        ({"seq": 0}, "invalid_seq", "报告的编号无效。", "seq"),
        ({"seq": 1_000_001}, "invalid_seq", "报告的编号无效。", "seq"),
    ],
)
def test_a_bad_viewing_key_or_number_is_refused(fields, code, message, field):
    lecture = PublishedRecordingFactory().lecture

    with pytest.raises(ServiceError) as refused:
        watched(lecture, student_of(lecture), **fields)

    assert (refused.value.code, str(refused.value.message), refused.value.field) == (code, message, field)
    assert replay_facts() == []


@pytest.mark.parametrize(
    "status", [LectureRecording.Status.PENDING, LectureRecording.Status.RENDERING, LectureRecording.Status.FAILED]
)
def test_no_viewing_is_counted_before_the_replay_is_published(status):
    lecture = PublishedRecordingFactory(status=status).lecture

    with pytest.raises(ServiceError) as refused:
        watched(lecture, student_of(lecture))

    assert (refused.value.code, str(refused.value.message), refused.value.status) == (
        "no_replay",
        "这场讲座还没有回放。",
        409,
    )
    assert replay_facts() == []


# --- The API -------------------------------------------------------------------------------------


def logged_in(user, *, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(user)
    return client


def report(client: Client, lecture: Lecture, body: dict):
    url = reverse("lectures:replay-watched", args=[lecture.pk])
    return client.post(url, json.dumps(body), content_type="application/json")


REPORT = {"viewing": VIEWING, "seq": 1, "intervals": [[95.5, 115.5]]}


def test_a_student_reports_what_they_played_once_however_often_it_is_sent():
    lecture = PublishedRecordingFactory().lecture
    student = student_of(lecture)
    client = logged_in(student)

    first, second = report(client, lecture, REPORT), report(client, lecture, REPORT)

    assert (first.status_code, first.json()) == (200, {"seconds": 20.0})
    assert (second.status_code, second.json()) == (200, {"seconds": 20.0})
    assert selectors.lecture_replay_seconds(lecture_id=lecture.pk, user_id=student.pk) == 20.0


def test_a_student_outside_the_scope_gets_404_and_nothing_is_counted():
    lecture = PublishedRecordingFactory().lecture
    elsewhere = StudentFactory(profile__school__district__city=CityFactory(name="杭州市"), profile__grade=3)
    staff_elsewhere = StaffFactory(scope=DistrictFactory(city=CityFactory(name="宁波市")))

    assert report(logged_in(elsewhere), lecture, REPORT).status_code == 404
    assert report(logged_in(staff_elsewhere), lecture, REPORT).status_code == 404
    assert report(Client(), lecture, REPORT).status_code == 403
    assert replay_facts() == []


def test_a_bad_report_is_answered_with_its_error_in_chinese():
    lecture = PublishedRecordingFactory().lecture
    client = logged_in(student_of(lecture))

    late = report(client, lecture, REPORT | {"intervals": [[599, 700]]})
    shapeless = report(client, lecture, REPORT | {"intervals": [[1, 2, 3]]})

    assert (late.status_code, late.json()) == (
        400,
        {
            "error": {
                "code": "invalid_interval",
                "message": "每一段都必须先开始后结束，并且在回放的时长之内。",
                "field": "intervals",
            }
        },
    )
    assert (shapeless.status_code, shapeless.json()["error"]["field"]) == (400, "intervals")
    assert replay_facts() == []


def test_a_report_past_what_the_clock_allows_is_answered_409_with_its_error_in_chinese(clock):
    lecture = PublishedRecordingFactory().lecture
    client = logged_in(student_of(lecture))
    report(client, lecture, REPORT | {"intervals": [[0, 100]]})

    refused = report(client, lecture, REPORT | {"seq": 2, "intervals": [[100, 120]]})  # 120 s > 100 + 0 + 10

    assert (refused.status_code, refused.json()) == (
        409,
        {
            "error": {
                "code": "replay_ahead_of_time",
                "message": "这次观看报告的回放时长超过了开始观看以来经过的时间。",
                "field": "intervals",
            }
        },
    )
    assert [key for key, _, _ in viewing_facts()] == [f"replay:{VIEWING}:1"]


def test_a_report_without_the_csrf_token_is_refused():
    lecture = PublishedRecordingFactory().lecture

    response = report(logged_in(student_of(lecture), enforce_csrf_checks=True), lecture, REPORT)

    assert response.status_code == 403
    assert replay_facts() == []
