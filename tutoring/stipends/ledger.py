"""Building the workload ledger from the facts (see ``models``).

``ledger_build(day)`` reads, for one local day, the facts of every teacher's work and writes the day's lines anew
in one transaction; building a day twice over the same facts writes the same lines. The counting rules:

- **A session** belongs to the day it started on. It counts from its start to its last activity (a board or chat
  event or a voice frame, of either side), leaving out every pause longer than ``LEDGER_IDLE_GAP_SECONDS``
  between two activities. A session with no board, voice or chat from the teacher, or whose counted time is
  under ``LEDGER_MIN_SESSION_SECONDS``, counts nothing and is flagged. Its line carries the student served and
  the student's rating.
- **Duty time** counts while the teacher was on duty (from "went on duty" to "went off duty", a silent console
  going off at its last heartbeat), cut to the day, less the time of the teacher's sessions (from start to end),
  so that no minute counts twice.
- **A lecture** belongs to the day it started on: from its start to its end, with its audience (the students who
  joined it).
- **A published video** (a session's or a lecture's replay) is a line on the day it was published.
- **A student helped**: a student said 解决了 (solved) to a library entry offered to them that holds a video
  answer of the teacher's: a line on the day they said it, for each teacher with a video in that entry.

Each line's counted time is also split by local hour (``details["by_hour"]``), which is what rules price by
time slot.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone

from tutoring.lectures.models import Lecture, LectureFact
from tutoring.library.models import Answer, Feedback
from tutoring.routing.models import RoutingFact
from tutoring.sessions.models import AudioChunk, Role, SessionEvent, SessionFact, TutoringSession
from tutoring.sessions.services import AUDIO_SAMPLE_RATE
from tutoring.stipends import counting
from tutoring.stipends.counting import Interval
from tutoring.stipends.models import LedgerLine

logger = logging.getLogger(__name__)

PRESENCE = (RoutingFact.Kind.PRESENCE_STARTED, RoutingFact.Kind.PRESENCE_ENDED)
PRESENCE_LOOKBACK = timedelta(days=31)  # a duty presence open longer than this counts from this far back only
SESSION_LOOKBACK = timedelta(days=1)  # a session started the day before may run past midnight into this day


@dataclass(frozen=True)
class Upto:
    """The last row of each table of facts a reading takes in: facts appended later have higher ids, so a
    reading with the same ``Upto`` (and the same ``now``) gives the same lines, whatever came since."""

    routing: int = 0
    session: int = 0
    event: int = 0
    voice: int = 0
    lecture: int = 0
    feedback: int = 0

    @classmethod
    def latest(cls) -> "Upto":
        tables: dict[str, type[models.Model]] = {
            "routing": RoutingFact,
            "session": SessionFact,
            "event": SessionEvent,
            "voice": AudioChunk,
            "lecture": LectureFact,
            "feedback": Feedback,
        }
        last = {name: model._default_manager.aggregate(last=Max("id"))["last"] for name, model in tables.items()}
        return cls(**{name: value or 0 for name, value in last.items()})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def counting_settings() -> dict[str, int]:
    """The counting rules' settings, as written on each line."""
    return {
        "idle_gap_seconds": settings.XUEWEN["LEDGER_IDLE_GAP_SECONDS"],
        "min_session_seconds": settings.XUEWEN["LEDGER_MIN_SESSION_SECONDS"],
    }


@dataclass
class _Session:
    """A session as its facts tell it."""

    id: int
    teacher_id: int
    started_at: datetime
    facts: list[int] = field(default_factory=list)
    ended_at: datetime | None = None
    rating: int | None = None
    student_id: int | None = None
    activity: list[Interval] = field(default_factory=list)
    teacher_active: bool = False
    events: int = 0
    voice_frames: int = 0

    def span(self) -> Interval:
        """From its start to its end; to its last activity while it has none."""
        last = max((end for _, end in self.activity), default=self.started_at)
        return self.started_at, self.ended_at or last


def _sessions(bounds: Interval, upto: Upto) -> dict[int, _Session]:
    """The sessions started from a day before ``bounds`` to its end, with their facts and their activity."""
    low, high = bounds
    sessions: dict[int, _Session] = {}
    facts = SessionFact.objects.filter(id__lte=upto.session)
    started = facts.filter(kind=SessionFact.Kind.STARTED, at__gte=low - SESSION_LOOKBACK, at__lt=high)
    for fact_id, session_id, teacher_id, at in started.values_list("id", "session_id", "user_id", "at"):
        sessions[session_id] = _Session(id=session_id, teacher_id=teacher_id, started_at=at, facts=[fact_id])
    later = facts.filter(session_id__in=sessions, kind__in=(SessionFact.Kind.ENDED, SessionFact.Kind.RATED)).order_by(
        "at", "id"
    )
    for fact_id, session_id, kind, at, data in later.values_list("id", "session_id", "kind", "at", "data"):
        session = sessions[session_id]
        session.facts.append(fact_id)
        if kind == SessionFact.Kind.ENDED:
            session.ended_at = at
        else:  # the latest rating stands
            session.rating = data.get("score")
    for session_id, student_id in TutoringSession.objects.filter(pk__in=sessions).values_list("id", "student_id"):
        sessions[session_id].student_id = student_id
    for session_id, at_ms, role in SessionEvent.objects.filter(session_id__in=sessions, id__lte=upto.event).values_list(
        "session_id", "at_ms", "role"
    ):
        session = sessions[session_id]
        moment = session.started_at + timedelta(milliseconds=at_ms)
        session.activity.append((moment, moment))
        session.events += 1
        session.teacher_active |= role == Role.TEACHER
    for session_id, started_ms, samples, role in AudioChunk.objects.filter(
        session_id__in=sessions, id__lte=upto.voice
    ).values_list("session_id", "started_ms", "samples", "role"):
        session = sessions[session_id]
        begin = session.started_at + timedelta(milliseconds=started_ms)
        session.activity.append((begin, begin + timedelta(seconds=samples / AUDIO_SAMPLE_RATE)))
        session.voice_frames += 1
        session.teacher_active |= role == Role.TEACHER
    return sessions


def _session_line(session: _Session, day: date, rules: dict[str, int]) -> dict[str, Any]:
    spans = counting.active_spans(session.started_at, session.activity, timedelta(seconds=rules["idle_gap_seconds"]))
    counted = counting.total_ms(spans)
    flag = LedgerLine.Flag.NONE
    if not session.teacher_active:
        flag = LedgerLine.Flag.NO_TEACHER_ACTIVITY
    elif counted < rules["min_session_seconds"] * 1000:
        flag = LedgerLine.Flag.SHORT
    start, end = session.span()
    return {
        "teacher_id": session.teacher_id,
        "day": day,
        "kind": LedgerLine.Kind.SESSION,
        "source": f"session:{session.id}",
        "counted_ms": 0 if flag else counted,
        "span_ms": counting.milliseconds(end - start),
        "students": 1 if session.student_id else 0,
        "rating": session.rating,
        "flag": flag,
        "facts": {"session": session.facts},
        "details": {
            "student": session.student_id,
            "events": session.events,
            "voice_frames": session.voice_frames,
            "active_ms": counted,
            "by_hour": {} if flag else _by_hour(spans),
        },
    }


def _presence(bounds: Interval, now: datetime, upto: Upto) -> dict[int, tuple[list[Interval], list[int]]]:
    """Each teacher's time on duty within ``bounds`` (until ``now`` at most), with the facts it was read from."""
    low, high = bounds
    high = min(high, now)
    facts = RoutingFact.objects.filter(kind__in=PRESENCE, id__lte=upto.routing)
    before = (
        facts.filter(at__gte=low - PRESENCE_LOOKBACK, at__lt=low)
        .values("teacher_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    duty: dict[int, tuple[list[Interval], list[int]]] = {}
    opened: dict[int, datetime] = {}
    # In the order the duty's state changed (a silent console's end is dated back to its last heartbeat).
    read = facts.filter(id__in=list(before)) | facts.filter(at__gte=low, at__lt=high)
    for fact_id, teacher_id, kind, at in read.order_by("id").values_list("id", "teacher_id", "kind", "at"):
        started = kind == RoutingFact.Kind.PRESENCE_STARTED
        if started == (teacher_id in opened):  # already on, or already off: the fact changes nothing
            continue
        intervals, used = duty.setdefault(teacher_id, ([], []))
        used.append(fact_id)
        if started:
            opened[teacher_id] = max(at, low)
        else:
            intervals.append((opened.pop(teacher_id), max(min(at, high), low)))
    for teacher_id, start in opened.items():
        duty[teacher_id][0].append((start, high))
    return duty


def _lectures(bounds: Interval, day: date, now: datetime, upto: Upto) -> Iterable[dict[str, Any]]:
    low, high = bounds
    facts = LectureFact.objects.filter(id__lte=upto.lecture)
    started = facts.filter(kind=LectureFact.Kind.STARTED, at__gte=low, at__lt=high)
    for fact_id, lecture_id, at in started.values_list("id", "lecture_id", "at"):
        lecture = Lecture.objects.get(pk=lecture_id)
        ended = facts.filter(lecture_id=lecture_id, kind=LectureFact.Kind.ENDED).order_by("at").first()
        joined = facts.filter(lecture_id=lecture_id, kind=LectureFact.Kind.JOINED, data__role="viewer")
        end = ended.at if ended else now
        span = counting.milliseconds(end - at)
        yield {
            "teacher_id": lecture.lecturer_id,
            "day": day,
            "kind": LedgerLine.Kind.LECTURE,
            "source": f"lecture:{lecture_id}",
            "counted_ms": span,
            "span_ms": span,
            "students": joined.values("user_id").distinct().count(),
            "facts": {"lecture": [fact_id, *([ended.pk] if ended else [])]},
            "details": {"joins": joined.count(), "live": ended is None, "by_hour": _by_hour([(at, end)])},
        }


def _videos(bounds: Interval, day: date, upto: Upto) -> Iterable[dict[str, Any]]:
    low, high = bounds
    sessions = SessionFact.objects.filter(
        kind=SessionFact.Kind.PUBLISHED, at__gte=low, at__lt=high, id__lte=upto.session
    )
    for fact_id, session_id, teacher_id, data in sessions.values_list("id", "session_id", "user_id", "data"):
        yield {
            "teacher_id": teacher_id,
            "day": day,
            "kind": LedgerLine.Kind.VIDEO,
            "source": f"session-video:{session_id}",
            "facts": {"session": [fact_id]},
            "details": {"entry": data.get("entry_id")},
        }
    lectures = LectureFact.objects.filter(
        kind=LectureFact.Kind.PUBLISHED, at__gte=low, at__lt=high, id__lte=upto.lecture
    )
    for fact_id, lecture_id, lecturer_id, data in lectures.values_list("id", "lecture_id", "user_id", "data"):
        yield {
            "teacher_id": lecturer_id,
            "day": day,
            "kind": LedgerLine.Kind.VIDEO,
            "source": f"lecture-video:{lecture_id}",
            "facts": {"lecture": [fact_id]},
            "details": {"entries": data.get("entries", [])},
        }


def _by_hour(intervals: list[Interval]) -> dict[str, int]:
    """Counted milliseconds by local hour ("19": ...), for pricing by time slot."""
    return {str(hour): ms for hour, ms in counting.by_hour(intervals, timezone.get_current_timezone()).items()}


def _helped(bounds: Interval, day: date, upto: Upto) -> Iterable[dict[str, Any]]:
    low, high = bounds
    solved = Feedback.objects.filter(
        choice=Feedback.Choice.RESOLVED,
        match__isnull=False,
        created_at__gte=low,
        created_at__lt=high,
        id__lte=upto.feedback,
    )
    videos = Answer.objects.filter(kind=Answer.Kind.VIDEO, created_by__isnull=False)
    by_entry: dict[int, set[int]] = defaultdict(set)
    rows = list(solved.values_list("id", "match__entry_id", "question__student_id"))
    for entry_id, teacher_id in videos.filter(entry_id__in={row[1] for row in rows}).values_list(
        "entry_id", "created_by_id"
    ):
        by_entry[entry_id].add(teacher_id)
    for feedback_id, entry_id, student_id in rows:
        for teacher_id in sorted(by_entry[entry_id]):
            yield {
                "teacher_id": teacher_id,
                "day": day,
                "kind": LedgerLine.Kind.HELPED,
                "source": f"helped:{feedback_id}",
                "students": 1,
                "facts": {"feedback": [feedback_id]},
                "details": {"entry": entry_id, "student": student_id},
            }


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat()


def ledger_lines(day: date, *, now: datetime | None = None, upto: Upto | None = None) -> list[dict[str, Any]]:
    """The day's lines (not stored) as the facts up to ``upto`` (all of them by default) give them, with what is
    still open (on duty, a lecture live) counted until ``now``."""
    now = now or timezone.now()
    upto = upto or Upto.latest()
    bounds = counting.day_bounds(day, timezone.get_current_timezone())
    rules = counting_settings()
    sessions = _sessions(bounds, upto)
    lines = [_session_line(s, day, rules) for s in sessions.values() if bounds[0] <= s.started_at < bounds[1]]
    busy: dict[int, list[Interval]] = defaultdict(list)
    for session in sessions.values():
        busy[session.teacher_id].append(session.span())
    for teacher_id, (intervals, used) in _presence(bounds, now, upto).items():
        duty = counting.subtract(counting.clip(intervals, bounds), busy[teacher_id])
        on_duty = counting.total_ms(counting.clip(intervals, bounds))
        lines.append(
            {
                "teacher_id": teacher_id,
                "day": day,
                "kind": LedgerLine.Kind.DUTY,
                "source": "duty",
                "counted_ms": counting.total_ms(duty),
                "span_ms": on_duty,
                "facts": {"routing": used},
                "details": {
                    "intervals": [[_local(start), _local(end)] for start, end in duty],
                    "by_hour": _by_hour(duty),
                },
            }
        )
    lines += _lectures(bounds, day, now, upto)
    lines += _videos(bounds, day, upto)
    lines += _helped(bounds, day, upto)
    return [{**line, "counting": rules} for line in lines]


def ledger_build(day: date, *, now: datetime | None = None, upto: Upto | None = None) -> int:
    """Write the day's ledger anew from the facts (up to ``upto``); the number of lines."""
    built_at = now or timezone.now()
    lines = ledger_lines(day, now=built_at, upto=upto)
    with transaction.atomic():
        LedgerLine.objects.filter(day=day).delete()
        LedgerLine.objects.bulk_create([LedgerLine(**line, built_at=built_at) for line in lines])
    logger.info("ledger.built", extra={"day": day.isoformat(), "lines": len(lines)})
    return len(lines)
