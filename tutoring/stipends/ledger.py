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

A month (``ledger_lines_by_day``, what ``services.statements_build`` and ``statements_verify`` read) is read a day
at a time and gives each day exactly the lines ``ledger_lines`` gives it: a day's sessions are read once, for
their day and as the day before of the next; their activity is read by the range of their ids (which grow with
time) and kept as integer microseconds; a day's lines are written by one COPY on PostgreSQL, on a thread of its
own while the next day is read (``days_writer``). A city's month (a million sessions, eight million rows of
activity) is built so in under two minutes here; see ``bench/stipends``.
"""

import functools
import gc
import json
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import BigIntegerField, Case, Count, F, Func, IntegerField, Max, Q, QuerySet, When
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
CHUNK = 20_000  # rows of activity fetched at a time
DENSE = 2  # a day's sessions are read by their range of ids while they are at least half of it
GC_THRESHOLD = 100_000  # allocations between two runs of the youngest garbage collection (Python's default: 700)
COPY_VENDORS = {"postgresql": True}  # databases the ledger's lines are written to by COPY (others: bulk_create)


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


@dataclass(slots=True)
class _Session:
    """A session as its facts tell it; its activity (board and chat events, voice frames) as microseconds from
    its start."""

    id: int
    teacher_id: int
    started_at: datetime
    facts: list[int]
    ended_at: datetime | None = None
    rating: int | None = None
    student_id: int | None = None
    activity: list[tuple[int, int]] = field(default_factory=list)
    reached: int = 0  # the end of its last activity
    teacher_active: bool = False
    events: int = 0
    voice_frames: int = 0

    def span(self) -> Interval:
        """From its start to its end; to its last activity while it has none."""
        return self.started_at, self.ended_at or self.started_at + self.reached * counting.MICROSECOND


def _of(rows: QuerySet[Any], field: str, sessions: dict[int, _Session], read: QuerySet[Any]) -> QuerySet[Any]:
    """``rows`` narrowed to those of ``sessions`` (their ``field`` a session's id). Ids grow with time, so a day's
    sessions are most of their range of ids: the rows are read by that range, and the few of other sessions in it
    skipped by the reader; where they are not (``read``: the sessions' ids as a subquery) the database filters."""
    low, high = min(sessions), max(sessions)
    rows = rows.filter(**{f"{field}__gte": low, f"{field}__lte": high})
    if high - low + 1 > DENSE * len(sessions):
        rows = rows.filter(**{f"{field}__in": read})
    return rows.order_by()


class _EpochMicroseconds(Func):
    """A timestamp as whole microseconds since 1970 (exact: PostgreSQL keeps microseconds)."""

    template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint"
    output_field = BigIntegerField()


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _moments() -> tuple[Callable[[str], Any], Callable[[Any], datetime]]:
    """How to read a timestamp column, and to make the datetime of what was read. On PostgreSQL timestamps are
    read as microseconds since 1970 and made datetimes here (in UTC, as Django reads them): Django reads a
    timestamp in Python, some microseconds each, and a city's day has a hundred thousand of them."""
    if connection.vendor == "postgresql":
        return _EpochMicroseconds, _from_epoch
    return F, _same


def _from_epoch(microseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds)


def _same(moment: datetime) -> datetime:
    return moment


def _sessions(window: Interval, upto: Upto) -> dict[int, _Session]:
    """The sessions started within ``window`` (each as its latest start there tells it), with their facts and
    their activity. Each session's reading depends on its own facts only, so the sessions of two windows side by
    side are those of the whole, the later window's start standing for a session started in both."""
    low, high = window
    sessions: dict[int, _Session] = {}
    facts = SessionFact.objects.filter(id__lte=upto.session)
    started = facts.filter(kind=SessionFact.Kind.STARTED, at__gte=low, at__lt=high)
    moment, as_datetime = _moments()
    for fact_id, session_id, teacher_id, at in started.values_list("id", "session_id", "user_id", moment("at")):
        sessions[session_id] = _Session(
            id=session_id, teacher_id=teacher_id, started_at=as_datetime(at), facts=[fact_id]
        )
    if not sessions:
        return sessions
    read = started.values("session_id")
    get = sessions.get
    ended, rated = SessionFact.Kind.ENDED, SessionFact.Kind.RATED
    later = _of(facts.filter(kind__in=(ended, rated)), "session_id", sessions, read).order_by("at", "id")
    # In the order they happened: the last end and the latest rating stand. Each row brings only what its kind
    # tells (a timestamp and a JSON value cost microseconds each to read, and there are millions).
    for fact_id, session_id, ended_at, score in later.values_list(
        "id",
        "session_id",
        Case(When(kind=ended, then=moment("at"))),
        Case(When(kind=rated, then="data__score"), output_field=IntegerField()),
    ):
        if (session := get(session_id)) is not None:
            session.facts.append(fact_id)
            if ended_at is not None:
                session.ended_at = as_datetime(ended_at)
            else:
                session.rating = score
    students = _of(TutoringSession.objects.all(), "id", sessions, read)
    for session_id, student_id in students.values_list("id", "student_id"):
        if (session := get(session_id)) is not None:
            session.student_id = student_id
    teacher = str(Role.TEACHER)
    events = _of(SessionEvent.objects.filter(id__lte=upto.event), "session_id", sessions, read)
    for session_id, at_ms, role in events.values_list("session_id", "at_ms", "role").iterator(chunk_size=CHUNK):
        if (session := get(session_id)) is not None:
            moment = at_ms * 1000
            session.activity.append((moment, moment))
            if moment > session.reached:
                session.reached = moment
            session.events += 1
            if role == teacher:
                session.teacher_active = True
    voice = _of(AudioChunk.objects.filter(id__lte=upto.voice), "session_id", sessions, read)
    lengths: dict[int, int] = {}  # microseconds by samples, as a timedelta of the seconds rounds them
    for session_id, started_ms, samples, role in voice.values_list(
        "session_id", "started_ms", "samples", "role"
    ).iterator(chunk_size=CHUNK):
        if (session := get(session_id)) is not None:
            length = lengths.get(samples)
            if length is None:
                length = lengths[samples] = timedelta(seconds=samples / AUDIO_SAMPLE_RATE) // counting.MICROSECOND
            begin = started_ms * 1000
            session.activity.append((begin, begin + length))
            if begin + length > session.reached:
                session.reached = begin + length
            session.voice_frames += 1
            if role == teacher:
                session.teacher_active = True
    return sessions


def _session_line(session: _Session, day: date, rules: dict[str, int], zone: tzinfo) -> dict[str, Any]:
    start = session.started_at
    gap = rules["idle_gap_seconds"] * 1_000_000
    offsets = counting.active_offsets(session.activity, gap)
    spans = [(start + low * counting.MICROSECOND, start + high * counting.MICROSECOND) for low, high in offsets]
    merged = gap >= 0  # the spans are their own union: no need to merge them again
    counted = sum((high - low) // 1000 for low, high in offsets) if merged else counting.total_ms(spans)
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
            "by_hour": {} if flag else _by_hour(spans, zone, merged=merged),
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


def _lectures(bounds: Interval, day: date, now: datetime, upto: Upto, zone: tzinfo) -> Iterable[dict[str, Any]]:
    low, high = bounds
    facts = LectureFact.objects.filter(id__lte=upto.lecture)
    started = list(
        facts.filter(kind=LectureFact.Kind.STARTED, at__gte=low, at__lt=high).values_list("id", "lecture_id", "at")
    )
    if not started:
        return
    read = {lecture_id for _, lecture_id, _ in started}
    lecturers = dict(Lecture.objects.filter(pk__in=read).values_list("id", "lecturer_id"))
    ends: dict[int, tuple[int, datetime]] = {}  # each lecture's first end
    ended = facts.filter(lecture_id__in=read, kind=LectureFact.Kind.ENDED).order_by("-at", "-id")
    for lecture_id, fact_id, at in ended.values_list("lecture_id", "id", "at"):
        ends[lecture_id] = (fact_id, at)
    joins = {
        row["lecture_id"]: row
        for row in facts.filter(lecture_id__in=read, kind=LectureFact.Kind.JOINED, data__role="viewer")
        .order_by()
        .values("lecture_id")
        .annotate(
            joins=Count("id"),
            users=Count("user_id", distinct=True),
            anonymous=Count("id", filter=Q(user_id__isnull=True)),
        )
    }
    for fact_id, lecture_id, at in started:
        end_fact, end = ends.get(lecture_id, (None, now))
        span = counting.milliseconds(end - at)
        joined = joins.get(lecture_id, {"joins": 0, "users": 0, "anonymous": 0})
        yield {
            "teacher_id": lecturers[lecture_id],
            "day": day,
            "kind": LedgerLine.Kind.LECTURE,
            "source": f"lecture:{lecture_id}",
            "counted_ms": span,
            "span_ms": span,
            # Each student once; joins without a user (none are recorded so) count as one more.
            "students": joined["users"] + (1 if joined["anonymous"] else 0),
            "facts": {"lecture": [fact_id, *([end_fact] if end_fact else [])]},
            "details": {"joins": joined["joins"], "live": end_fact is None, "by_hour": _by_hour([(at, end)], zone)},
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


def _by_hour(intervals: list[Interval], zone: tzinfo, *, merged: bool = False) -> dict[str, int]:
    """Counted milliseconds by local hour ("19": ...), for pricing by time slot."""
    hours = counting.hours_of(intervals, zone) if merged else counting.by_hour(intervals, zone)
    return {str(hour): ms for hour, ms in hours.items()}


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


def _local(moment: datetime, zone: tzinfo) -> str:
    return timezone.localtime(moment, zone).isoformat()


def _lines(
    day: date, bounds: Interval, sessions: dict[int, _Session], now: datetime, upto: Upto, rules: dict[str, int]
) -> list[dict[str, Any]]:
    """The day's lines from the sessions started from a day before ``bounds`` to its end and the other facts."""
    zone = timezone.get_current_timezone()
    low, high = bounds
    lines = [_session_line(s, day, rules, zone) for s in sessions.values() if low <= s.started_at < high]
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
                    "intervals": [[_local(start, zone), _local(end, zone)] for start, end in duty],
                    "by_hour": _by_hour(duty, zone),
                },
            }
        )
    lines += _lectures(bounds, day, now, upto, zone)
    lines += _videos(bounds, day, upto)
    lines += _helped(bounds, day, upto)
    for line in lines:
        line["counting"] = rules
    return lines


def ledger_lines(day: date, *, now: datetime | None = None, upto: Upto | None = None) -> list[dict[str, Any]]:
    """The day's lines (not stored) as the facts up to ``upto`` (all of them by default) give them, with what is
    still open (on duty, a lecture live) counted until ``now``."""
    return next(ledger_lines_by_day([day], now=now or timezone.now(), upto=upto or Upto.latest()))[1]


def ledger_lines_by_day(
    days: Iterable[date], *, now: datetime, upto: Upto
) -> Iterator[tuple[date, list[dict[str, Any]]]]:
    """Each day's lines, as ``ledger_lines`` gives them, one day at a time: a day's sessions are read once, for
    their day and as the day before of the next (a session may run past midnight into it)."""
    zone = timezone.get_current_timezone()
    rules = counting_settings()
    before: tuple[Interval, dict[int, _Session]] | None = None
    for day in days:
        bounds = counting.day_bounds(day, zone)
        lookback = (bounds[0] - SESSION_LOOKBACK, bounds[0])
        earlier = before[1] if before is not None and before[0] == lookback else _sessions(lookback, upto)
        current = _sessions(bounds, upto)
        sessions = dict(earlier)
        sessions.update(current)  # a session started on both days is the later start's, where the day had it
        yield day, _lines(day, bounds, sessions, now, upto, rules)
        before = (bounds, current)


@contextmanager
def collections_spaced() -> Iterator[None]:
    """Fewer runs of the cyclic garbage collector while a city's month is read: its days are millions of small
    objects (activity, lines) that all live until the day is done, which the collector would otherwise trace
    again and again, finding nothing (a fifth of the time). Cycles are still collected, less often."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], GC_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


class _Writer:
    """Writes days' lines (``ledger_store``) on a thread of its own, with its own connection, while the caller
    reads the next day: the database takes in one day as the next is read. One day waits at most."""

    def __init__(self) -> None:
        self.days: queue.Queue[tuple[date, list[dict[str, Any]], datetime] | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (item := self.days.get()) is not None:
                if self.error is None:  # after a failure, only take what comes until the end
                    try:
                        ledger_store(item[0], item[1], built_at=item[2])
                    except BaseException as error:  # raised in the caller's thread
                        self.error = error
        finally:
            connection.close()

    def __call__(self, day: date, lines: list[dict[str, Any]], *, built_at: datetime) -> None:
        self._raise()
        self.days.put((day, lines, built_at))

    def close(self) -> None:
        self.days.put(None)
        self.thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


@contextmanager
def days_writer() -> Iterator[Callable[..., Any]]:
    """``ledger_store`` for one day after another: on a thread of its own where the caller is not inside a
    transaction (another connection could not see what it has not committed, nor roll back with it)."""
    if connection.in_atomic_block or not COPY_VENDORS.get(connection.vendor, False):
        yield ledger_store
        return
    writer = _Writer()
    try:
        yield writer
    finally:
        writer.close()


def ledger_store(day: date, lines: Iterable[dict[str, Any]], *, built_at: datetime) -> int:
    """Write the day's ledger anew: these lines in place of what it held; the number of lines. On PostgreSQL
    the lines go in by one COPY (a city's day is tens of thousands of lines)."""
    lines = list(lines)
    with transaction.atomic():
        LedgerLine.objects.filter(day=day).delete()
        if COPY_VENDORS.get(connection.vendor, False):
            _lines_copy(lines, built_at)
        else:
            LedgerLine.objects.bulk_create((LedgerLine(**line, built_at=built_at) for line in lines), batch_size=2000)
    logger.info("ledger.built", extra={"day": day.isoformat(), "lines": len(lines)})
    return len(lines)


def _lines_copy(lines: list[dict[str, Any]], built_at: datetime) -> None:
    """``bulk_create`` of the lines by COPY: every field of the model, the line's value or the field's default,
    written as text (what COPY reads): JSON encoded, dates and choices as their text, numbers as they are."""
    fields = [field for field in LedgerLine._meta.concrete_fields if not field.primary_key]
    defaults = {field.attname: field.get_default() for field in fields} | {"built_at": built_at}
    plain = [(field.attname, defaults[field.attname]) for field in fields]
    texts: list[tuple[int, Callable[[Any], str]]] = []
    for column, model_field in enumerate(fields):
        if isinstance(model_field, models.JSONField):
            texts.append((column, functools.partial(json.dumps, cls=model_field.encoder)))
        elif isinstance(model_field, models.DateField):  # DateTimeField too
            texts.append((column, _isoformat))
        elif isinstance(model_field, models.CharField):
            texts.append((column, str))
    # A value written as the line before's (the day, the counting settings, built_at: the same for all lines) is
    # written as the same text.
    last: dict[int, tuple[Any, str]] = {}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    table = quote(LedgerLine._meta.db_table)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for line in lines:
            row = [line.get(name, default) for name, default in plain]
            for column, text in texts:
                value = row[column]
                if value is None:
                    continue
                previous = last.get(column)
                if previous is None or previous[0] is not value:
                    previous = last[column] = (value, text(value))
                row[column] = previous[1]
            copy.write_row(row)


def _isoformat(moment: date) -> str:
    return moment.isoformat()


def ledger_build(day: date, *, now: datetime | None = None, upto: Upto | None = None) -> int:
    """Write the day's ledger anew from the facts (up to ``upto``); the number of lines."""
    built_at = now or timezone.now()
    return ledger_store(day, ledger_lines(day, now=built_at, upto=upto), built_at=built_at)
