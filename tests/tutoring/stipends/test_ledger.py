from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from tests.embedded import embedded_call
from tests.factories import (
    AnswerFactory,
    FeedbackFactory,
    LectureFactory,
    StudentFactory,
    TeacherFactory,
    VideoAnswerFactory,
    local_time,
    message_append,
    presence,
    session_held,
)
from tests.factories import opened_session as session_opened
from tests.samples import STROKE
from tutoring.lectures.models import LectureFact
from tutoring.library.models import Feedback
from tutoring.routing.models import RoutingFact, Ticket
from tutoring.sessions import services as sessions
from tutoring.sessions.models import SessionFact
from tutoring.stipends import ledger
from tutoring.stipends.models import LedgerLine
from tutoring.stipends.selectors import ledger_days

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 2)
RULES = {"idle_gap_seconds": 300, "min_session_seconds": 60}
BUILT = datetime(2026, 11, 10, 12, 0, tzinfo=ZONE)


def at(hour: int, minute: float = 0) -> datetime:
    return datetime(2026, 11, 2, 0, 0, tzinfo=ZONE) + timedelta(hours=hour, minutes=minute)


def lines(**filters) -> list[tuple]:
    return list(
        LedgerLine.objects.filter(**filters)
        .order_by("source")
        .values_list("source", "counted_ms", "span_ms", "students", "rating", "flag", "facts")
    )


def test_a_session_counts_to_its_last_activity_without_its_long_pauses():
    teacher = TeacherFactory()
    session, facts = session_held(
        teacher,
        start=at(19),
        board=((0.5, "teacher"), (2, "student"), (10, "teacher"), (12, "teacher")),  # 8 min pause left out
        voice=((12, 30, "teacher"),),  # to 12:30
        end=at(19, 20),
        rating=5,
    )

    assert ledger.ledger_build(DAY, now=BUILT) == 1

    line = LedgerLine.objects.get()
    assert (line.teacher_id, line.day, line.kind, line.built_at) == (teacher.pk, DAY, "session", BUILT)
    assert lines() == [(f"session:{session.pk}", 120_000 + 150_000, 1_200_000, 1, 5, "", {"session": facts})]
    assert line.details == {
        "student": session.student_id,
        "events": 4,
        "voice_frames": 1,
        "active_ms": 270_000,
        "by_hour": {"19": 270_000},
    }
    assert line.counting == RULES


@override_settings(XUEWEN={**settings.XUEWEN, "LEDGER_IDLE_GAP_SECONDS": 600})
def test_the_idle_gap_is_a_setting_written_on_the_line():
    teacher = TeacherFactory()
    session_held(teacher, start=at(19), board=((0.5, "teacher"), (10, "teacher"), (12, "teacher")), end=at(19, 20))

    ledger.ledger_build(DAY, now=BUILT)

    assert LedgerLine.objects.values_list("counted_ms", "counting").get() == (
        720_000,
        {"idle_gap_seconds": 600, "min_session_seconds": 60},
    )


def test_a_session_without_the_teacher_or_too_short_counts_nothing_and_is_flagged():
    teacher = TeacherFactory()
    silent, _ = session_held(teacher, start=at(8), board=((0.5, "student"), (3, "student")), end=at(8, 5))
    short, _ = session_held(teacher, start=at(9), board=((0.2, "teacher"), (0.9, "teacher")), end=at(9, 1))
    enough, _ = session_held(teacher, start=at(10), board=((0.2, "teacher"), (1, "teacher")), end=at(10, 2))

    ledger.ledger_build(DAY, now=BUILT)

    assert [line[:6] for line in lines()] == [
        (f"session:{silent.pk}", 0, 300_000, 1, None, "no_teacher_activity"),
        (f"session:{short.pk}", 0, 60_000, 1, None, "short"),
        (f"session:{enough.pk}", 60_000, 120_000, 1, None, ""),
    ]


def test_duty_counts_while_on_duty_within_the_day_less_its_sessions():
    teacher = TeacherFactory()
    started = presence(teacher, RoutingFact.Kind.PRESENCE_STARTED, at(-1))  # the evening before
    ended = presence(teacher, RoutingFact.Kind.PRESENCE_ENDED, at(2))
    again = presence(teacher, RoutingFact.Kind.PRESENCE_STARTED, at(20))
    presence(teacher, RoutingFact.Kind.PRESENCE_STARTED, at(20, 30))  # already on: changes nothing
    session, _ = session_held(teacher, start=at(21), board=((1, "teacher"), (5, "teacher")), end=at(21, 10))

    ledger.ledger_build(DAY, now=BUILT)

    duty = LedgerLine.objects.get(source="duty")
    # 00:00-02:00 and 20:00-24:00 (still on at midnight), less the session's 10 minutes.
    assert (duty.counted_ms, duty.span_ms, duty.facts) == (
        (2 * 60 + 4 * 60 - 10) * 60_000,
        6 * 3_600_000,
        {"routing": [started, ended, again]},
    )
    assert duty.details["by_hour"] == {
        "0": 3_600_000,
        "1": 3_600_000,
        "20": 3_600_000,
        "21": 3_000_000,
        "22": 3_600_000,
        "23": 3_600_000,
    }
    assert duty.details["intervals"] == [
        [at(0).isoformat(), at(2).isoformat()],
        [at(20).isoformat(), at(21).isoformat()],
        [at(21, 10).isoformat(), at(24).isoformat()],
    ]
    assert lines(kind="session")[0][:2] == (f"session:{session.pk}", 300_000)


def test_duty_of_a_silent_console_ends_at_its_last_heartbeat_even_when_recorded_later():
    teacher = TeacherFactory()
    presence(teacher, RoutingFact.Kind.PRESENCE_STARTED, at(18))
    presence(teacher, RoutingFact.Kind.PRESENCE_ENDED, at(18, 45))  # dated back by the sweep
    off_before = TeacherFactory()
    presence(off_before, RoutingFact.Kind.PRESENCE_STARTED, at(-3))
    presence(off_before, RoutingFact.Kind.PRESENCE_ENDED, at(-2))

    ledger.ledger_build(DAY, now=BUILT)

    assert lines() == [("duty", 45 * 60_000, 45 * 60_000, 0, None, "", {"routing": presence_facts(teacher)})]


def presence_facts(teacher) -> list[int]:
    return list(RoutingFact.objects.filter(teacher=teacher).order_by("id").values_list("id", flat=True))


def test_duty_still_on_counts_until_now_on_the_day_being_built():
    teacher = TeacherFactory()
    presence(teacher, RoutingFact.Kind.PRESENCE_STARTED, at(10))

    ledger.ledger_build(DAY, now=at(10, 30))

    assert LedgerLine.objects.values_list("counted_ms", flat=True).get() == 30 * 60_000


def test_a_lecture_counts_from_start_to_end_with_the_students_who_joined_and_its_replay_is_a_video():
    lecture = LectureFactory()
    lecturer = lecture.lecturer
    first, second = StudentFactory(), StudentFactory()
    started = LectureFact.objects.create(kind="started", lecture=lecture, user=lecturer, at=at(19)).pk
    for student in (first, second, first):  # a rejoin counts the student once
        LectureFact.objects.create(kind="joined", lecture=lecture, user=student, at=at(19, 5), data={"role": "viewer"})
    LectureFact.objects.create(kind="joined", lecture=lecture, user=TeacherFactory(), data={"role": "observer"})
    ended = LectureFact.objects.create(kind="ended", lecture=lecture, user=lecturer, at=at(19, 45)).pk
    published = LectureFact.objects.create(
        kind="published", lecture=lecture, user=lecturer, at=at(19, 50), data={"entries": [7]}
    ).pk

    ledger.ledger_build(DAY, now=BUILT)

    assert lines() == [
        (f"lecture-video:{lecture.pk}", 0, 0, 0, None, "", {"lecture": [published]}),
        (f"lecture:{lecture.pk}", 45 * 60_000, 45 * 60_000, 2, None, "", {"lecture": [started, ended]}),
    ]


def test_building_a_day_again_writes_the_same_lines_and_leaves_other_days_alone():
    teacher = TeacherFactory()
    session_held(teacher, start=at(19), board=((1, "teacher"), (3, "teacher")), end=at(19, 5), rating=4)
    session_held(teacher, start=at(19) + timedelta(days=1), board=((1, "teacher"), (3, "teacher")))
    ledger.ledger_build(DAY + timedelta(days=1), now=BUILT)
    ledger.ledger_build(DAY, now=BUILT)
    first = lines()

    ledger.ledger_build(DAY, now=BUILT)

    assert lines() == first
    assert LedgerLine.objects.filter(day=DAY + timedelta(days=1)).count() == 1


def test_the_ledger_reads_what_a_real_session_records():
    session = session_opened()
    message_append(
        session_id=session.pk,
        user=session.teacher,
        role="teacher",
        content=STROKE,
    )
    sessions.session_end(teacher=session.teacher, ticket_id=Ticket.objects.get(question=session.question).pk)
    sessions.session_rate(session_id=session.pk, student=session.student, score=4)

    ledger.ledger_build(timezone.localdate())

    facts = list(SessionFact.objects.filter(session=session).exclude(kind="joined").values_list("id", flat=True))
    line = LedgerLine.objects.get(source=f"session:{session.pk}")
    assert (line.teacher_id, line.rating, line.flag, line.counted_ms, line.facts) == (
        session.teacher_id,
        4,
        "short",
        0,
        {"session": facts},
    )
    assert LedgerLine.objects.filter(teacher=session.teacher, source="duty").count() == 1


def test_ledger_days_sums_each_day_and_counts_a_student_once():
    teacher = TeacherFactory()
    student = StudentFactory()
    presence(teacher, RoutingFact.Kind.PRESENCE_STARTED, at(18))
    presence(teacher, RoutingFact.Kind.PRESENCE_ENDED, at(20))
    for hour, rating in ((18, 5), (19, 3)):
        session_held(
            teacher,
            start=at(hour),
            board=((1, "teacher"), (3, "teacher")),
            end=at(hour, 10),
            rating=rating,
            student=student,
        )
    session_held(teacher, start=at(19, 30), board=((0.1, "teacher"),), end=at(19, 31))  # short
    ledger.ledger_build(DAY, now=BUILT)

    assert ledger_days(teacher=teacher, first=DAY, last=DAY) == [
        {
            "day": DAY,
            "duty_ms": (120 - 20 - 1) * 60_000,
            "sessions": 2,
            "session_ms": 2 * 180_000,
            "flagged": 1,
            "lectures": 0,
            "lecture_ms": 0,
            "audience": 0,
            "videos": 0,
            "ratings": 2,
            "rating_sum": 8,
            "students": 1,
        }
    ]


def test_the_command_builds_a_month_day_by_day_and_refuses_a_bad_month(capsys):
    teacher = TeacherFactory()
    session_held(teacher, start=at(19), board=((1, "teacher"), (3, "teacher")), end=at(19, 5))

    call_command("ledger_build", "--month", "2026-11")

    output = capsys.readouterr().out.splitlines()
    assert (len(output), output[0], output[1]) == (30, "2026-11-01: 0", "2026-11-02: 1")
    with pytest.raises(Exception, match="YYYY-MM"):
        call_command("ledger_build", "--month", "2026-13")
    assert LedgerLine.objects.count() == 1


def test_a_student_who_said_solved_to_a_teachers_video_is_a_line_for_each_teacher_with_a_video_in_the_entry():
    author, coauthor, writer = TeacherFactory(), TeacherFactory(), TeacherFactory()
    solved = FeedbackFactory()
    entry = solved.match.entry
    VideoAnswerFactory(entry=entry, created_by=coauthor)
    VideoAnswerFactory(entry=entry, created_by=author)
    AnswerFactory(entry=entry, created_by=writer)  # a worked solution: not a video
    FeedbackFactory(choice=Feedback.Choice.STILL_STUCK)

    ledger.ledger_build(timezone.localdate())

    assert list(
        LedgerLine.objects.order_by("teacher_id").values_list(
            "teacher_id", "kind", "source", "students", "facts", "details"
        )
    ) == [
        (
            teacher.pk,
            "helped",
            f"helped:{solved.pk}",
            1,
            {"feedback": [solved.pk]},
            {"entry": entry.pk, "student": solved.question.student_id},
        )
        for teacher in sorted((author, coauthor), key=lambda teacher: teacher.pk)
    ]


def test_the_days_of_a_month_read_together_give_each_day_as_read_alone():
    night, evening = TeacherFactory(), TeacherFactory()
    # Monday night: on duty across midnight, with a session from 23:50 to 00:20 (Monday's, and cut from Tuesday's
    # duty) and one started at 23:00 and again at 00:30 (each day's reading takes its own latest start).
    presence(night, RoutingFact.Kind.PRESENCE_STARTED, at(22))
    presence(night, RoutingFact.Kind.PRESENCE_ENDED, at(25))
    board = tuple((minute, "teacher") for minute in range(1, 26, 4))
    late, _ = session_held(night, start=at(23, 50), board=board, end=at(24, 20), rating=4)
    restarted, _ = session_held(night, start=at(23), board=((1, "teacher"),))
    SessionFact.objects.create(kind=SessionFact.Kind.STARTED, session=restarted, user=night, at=at(24, 30))
    for day in (0, 1, 2):
        on_duty_at = at(24 * day + 18)
        presence(evening, RoutingFact.Kind.PRESENCE_STARTED, on_duty_at)
        presence(evening, RoutingFact.Kind.PRESENCE_ENDED, on_duty_at + timedelta(hours=2))
        session_held(
            evening,
            start=on_duty_at + timedelta(minutes=10),
            board=((1, "teacher"), (2, "student")),
            voice=((3, 40, "teacher"),),
            end=on_duty_at + timedelta(minutes=20),
            rating=5,
        )
    lecture = LectureFactory(lecturer=evening)
    LectureFact.objects.create(kind="started", lecture=lecture, user=evening, at=at(24 + 20))
    for student in (StudentFactory(), StudentFactory(), None, None):  # two joins the facts name no student for
        LectureFact.objects.create(kind="joined", lecture=lecture, user=student, data={"role": "viewer"})
    LectureFact.objects.create(kind="ended", lecture=lecture, user=evening, at=at(24 + 21))
    days = [DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)]
    upto = ledger.Upto.latest()

    together = list(ledger.ledger_lines_by_day(days, now=BUILT, upto=upto))

    assert together == [(day, ledger.ledger_lines(day, now=BUILT, upto=upto)) for day in days]
    skipping = list(ledger.ledger_lines_by_day([days[0], days[2]], now=BUILT, upto=upto))
    assert skipping == [(day, ledger.ledger_lines(day, now=BUILT, upto=upto)) for day in (days[0], days[2])]
    monday, tuesday = ({line["source"]: line for line in lines} for _, lines in together[:2])
    assert monday[f"session:{late.pk}"]["counted_ms"] == 25 * 60_000
    assert monday[f"session:{restarted.pk}"]["facts"]["session"] == [restarted.facts.order_by("id").first().pk]
    assert tuesday[f"session:{restarted.pk}"]["facts"]["session"] == [restarted.facts.order_by("id").last().pk]
    night_duty = [line for line in together[1][1] if line["source"] == "duty" and line["teacher_id"] == night.pk]
    # Tuesday 00:00-01:00 on duty, less the Monday session's 20 minutes after midnight and the restarted session
    # (00:30 to its last activity at 00:31).
    assert night_duty[0]["counted_ms"] == 39 * 60_000
    assert (tuesday[f"lecture:{lecture.pk}"]["students"], tuesday[f"lecture:{lecture.pk}"]["details"]["joins"]) == (
        3,
        4,
    )


def test_a_day_is_stored_by_copy_as_bulk_create_stores_it(monkeypatch):
    teacher = TeacherFactory()
    presence(teacher, RoutingFact.Kind.PRESENCE_STARTED, at(18))
    presence(teacher, RoutingFact.Kind.PRESENCE_ENDED, at(20))
    session_held(teacher, start=at(19), board=((1, "teacher"), (3, "teacher")), end=at(19, 5), rating=4)
    session_held(teacher, start=at(19, 30), board=((0.1, "student"),), end=at(19, 31))
    solved = FeedbackFactory()
    VideoAnswerFactory(entry=solved.match.entry, created_by=teacher)
    Feedback.objects.filter(pk=solved.pk).update(created_at=at(12))
    fields = [field.attname for field in LedgerLine._meta.concrete_fields if field.attname != "id"]

    def stored() -> list[dict]:
        return list(LedgerLine.objects.order_by("teacher_id", "source").values(*fields))

    assert ledger.ledger_build(DAY, now=BUILT) == 4
    copied = stored()
    monkeypatch.setitem(ledger.COPY_VENDORS, "postgresql", False)  # what other databases get: bulk_create
    assert ledger.ledger_build(DAY, now=BUILT) == 4

    assert stored() == copied
    assert [line["kind"] for line in copied] == ["duty", "helped", "session", "session"]


def rated_session_lines() -> list[list]:
    """A session rated 4, as its day's ledger gives it: kind, counted time and rating."""
    session_held(
        TeacherFactory(),
        start=local_time(DAY, 19),
        board=((1, "teacher"), (3, "teacher")),
        end=local_time(DAY, 19, 5),
        rating=4,
    )
    return [[line["kind"], line["counted_ms"], line["rating"]] for line in ledger.ledger_lines(DAY)]


RATED_SESSION_LINES = [["session", 180_000, 4]]


def test_a_rated_session_is_read_with_its_rating():
    assert rated_session_lines() == RATED_SESSION_LINES


def test_a_rated_session_is_read_the_same_way_on_the_embedded_database(tmp_path):
    """The demo runs on SQLite, whose JSON functions give a rating as a number, not as JSON text."""
    assert embedded_call("tests.tutoring.stipends.test_ledger", "rated_session_lines", tmp_path) == RATED_SESSION_LINES
