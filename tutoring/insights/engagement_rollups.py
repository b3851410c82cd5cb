"""The rollups of participation, rating comments, duty coverage and lectures: a local day's rows recomputed whole
from the other apps' facts, with the question rollups of the same day (``rollups.rollup_day`` calls
``engagement_rollup_day``; ``rollups.changed_days`` adds ``engagement_changed_days``), so they are as current as
those (a beat task each minute) and can be rebuilt at any time. Nothing here writes another app's rows.

- ``StudentDay``: one row per student, subject and day they asked (distinct students are counted over any period).
- ``RatingComment``: the comment of each rated first session of a question asked that day.
- ``CoverageHour``: teacher-seconds on duty in each local hour, from the presence facts, cut at hour boundaries
  and at midnight; by the city, subject and grade band of the shift the teacher was on.
- ``LectureFigures``: each lecture started that day, with its live audience and its replay's viewers."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import TruncDate

from tutoring.insights.metrics import RATINGS
from tutoring.insights.models import CoverageHour, LectureFigures, RatingComment, StudentDay
from tutoring.lectures.models import Lecture, LectureFact, LectureSignup
from tutoring.questions.models import Question
from tutoring.routing.models import Duty, RoutingFact, Shift
from tutoring.schools.models import School
from tutoring.sessions.models import TutoringSession

PRESENCE = (RoutingFact.Kind.PRESENCE_STARTED, RoutingFact.Kind.PRESENCE_ENDED)
PRESENCE_LOOKBACK = timedelta(days=31)  # a duty open longer than this counts from this far back only
VIEWER = "viewer"
Interval = tuple[datetime, datetime]


def engagement_rollup_day(
    day: date, *, questions: QuerySet[Question], bounds: Interval, zone: tzinfo, now: datetime
) -> None:
    """Recompute the day's rows (the caller holds the transaction): ``questions`` are the day's questions of
    students, ``bounds`` the instants the local day starts and ends at."""
    _student_days(day, questions)
    _rating_comments(day, questions)
    _coverage(day, bounds, zone, now)
    _lectures(day, bounds, now)


def _student_days(day: date, questions: QuerySet[Question]) -> None:
    """Grouped and written in the database (``INSERT … SELECT``): a city's day is some 32,000 rows."""
    rows = (
        questions.values(
            "student_id", "subject_id", "student__student_profile__school_id", "student__student_profile__grade"
        )
        .annotate(asked=Count("pk"))
        .order_by()
    )
    StudentDay.objects.filter(day=day).delete()
    select, parameters = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in ("student_id", "subject_id", "school_id", "grade", "questions"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(StudentDay._meta.db_table)} ({columns}, {quote('day')}) "
            f"SELECT grouped.*, %s FROM ({select}) grouped",
            [connection.ops.adapt_datefield_value(day), *parameters],
        )


def _rating_comments(day: date, questions: QuerySet[Question]) -> None:
    """The comments of the sessions ``Counts.rating_*`` count: each question's first ended session, rated."""
    sessions = (
        TutoringSession.objects.filter(question__in=questions, status=TutoringSession.Status.ENDED)
        .order_by("question_id", "started_at", "pk")
        .values_list(
            "pk",
            "question_id",
            "ended_at",
            "rating",
            "rating_comment",
            "rated_at",
            "question__subject_id",
            "question__grade",
            "question__student__student_profile__school_id",
        )
    )
    seen: set[int] = set()
    comments = []
    for pk, question_id, ended_at, rating, comment, rated_at, subject_id, grade, school_id in sessions:
        if question_id in seen or ended_at is None:
            continue
        seen.add(question_id)
        if rating in RATINGS and comment.strip():
            comments.append(
                RatingComment(
                    day=day,
                    session_id=pk,
                    school_id=school_id,
                    subject_id=subject_id,
                    grade=grade,
                    stars=rating,
                    comment=comment.strip(),
                    rated_at=rated_at or ended_at,
                )
            )
    RatingComment.objects.filter(day=day).delete()
    RatingComment.objects.bulk_create(comments)


def presence_intervals(bounds: Interval, now: datetime) -> dict[int, list[tuple[Interval, int | None]]]:
    """Each teacher's time on duty within ``bounds`` (until ``now`` at most), with the shift they went on duty
    for (None: volunteering), read in the order the duty changed (a fact that changes nothing is skipped)."""
    low, high = bounds
    high = min(high, now)
    facts = RoutingFact.objects.filter(kind__in=PRESENCE)
    last_before = (
        facts.filter(at__gte=low - PRESENCE_LOOKBACK, at__lt=low)
        .values("teacher_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    read = facts.filter(id__in=list(last_before)) | facts.filter(at__gte=low, at__lt=high)
    duty: dict[int, list[tuple[Interval, int | None]]] = defaultdict(list)
    opened: dict[int, tuple[datetime, int | None]] = {}
    for teacher_id, kind, at, data in read.order_by("id").values_list("teacher_id", "kind", "at", "data"):
        started = kind == RoutingFact.Kind.PRESENCE_STARTED
        if teacher_id is None or started == (teacher_id in opened):
            continue
        if started:
            opened[teacher_id] = (max(at, low), (data or {}).get("shift_id"))
        else:
            begun, shift_id = opened.pop(teacher_id)
            duty[teacher_id].append(((begun, max(min(at, high), low)), shift_id))
    for teacher_id, (begun, shift_id) in opened.items():
        if begun < high:
            duty[teacher_id].append(((begun, high), shift_id))
    return duty


def _coverage(day: date, bounds: Interval, zone: tzinfo, now: datetime) -> None:
    duty = presence_intervals(bounds, now)
    shift_ids = {shift_id for intervals in duty.values() for _, shift_id in intervals if shift_id is not None}
    shifts = {
        pk: (city, subject, band)
        for pk, city, subject, band in Shift.objects.filter(pk__in=shift_ids).values_list(
            "pk", "city_id", "subject_id", "grade_band_id"
        )
    }
    # A volunteer serves the city of their school (as ``routing.services`` sets their duty).
    cities = dict(
        School.objects.filter(teachers__user_id__in=list(duty))
        .values_list("teachers__user_id", "district__city_id")
        .order_by()
    )
    hours = [(hour, datetime.combine(day, time(hour), tzinfo=zone), _hour_end(day, hour, zone)) for hour in range(24)]
    seconds: defaultdict[tuple[int, int, int | None, int | None], float] = defaultdict(float)
    for teacher_id, intervals in duty.items():
        for (begun, ended), shift_id in intervals:
            key: tuple[int, int | None, int | None] | None = shifts.get(shift_id) if shift_id is not None else None
            if key is None:
                if teacher_id not in cities:
                    continue  # neither a shift nor a school: no city to count it in
                key = (cities[teacher_id], None, None)
            for hour, start, end in hours:
                overlap = (min(ended, end) - max(begun, start)).total_seconds()
                if overlap > 0:
                    seconds[(hour, *key)] += overlap
    CoverageHour.objects.filter(day=day).delete()
    CoverageHour.objects.bulk_create(
        CoverageHour(
            day=day,
            hour=hour,
            weekday=day.isoweekday(),
            city_id=city,
            subject_id=subject,
            grade_band_id=band,
            teacher_seconds=round(total, 3),
        )
        for (hour, city, subject, band), total in seconds.items()
    )


def _hour_end(day: date, hour: int, zone: tzinfo) -> datetime:
    return datetime.combine(day + timedelta(days=1) if hour == 23 else day, time((hour + 1) % 24), tzinfo=zone)


def _lectures(day: date, bounds: Interval, now: datetime) -> None:
    low, high = bounds
    lectures = list(
        Lecture.objects.filter(started_at__gte=low, started_at__lt=high).exclude(status=Lecture.Status.CANCELLED)
    )
    ids = [lecture.pk for lecture in lectures]
    signups = dict(
        LectureSignup.objects.filter(lecture_id__in=ids).values_list("lecture_id").annotate(Count("pk")).order_by()
    )
    facts = LectureFact.objects.filter(lecture_id__in=ids)
    audience = facts.filter(kind__in=(LectureFact.Kind.JOINED, LectureFact.Kind.LEFT), data__role=VIEWER)
    moves: defaultdict[int, list[tuple[datetime, bool, int]]] = defaultdict(list)
    for lecture_id, kind, at, user_id in audience.order_by("at", "id").values_list(
        "lecture_id", "kind", "at", "user_id"
    ):
        moves[lecture_id].append((at, kind == LectureFact.Kind.JOINED, user_id))
    replays: dict[int, int] = dict(
        facts.filter(kind=LectureFact.Kind.REPLAY_WATCHED)
        .values_list("lecture_id")
        .annotate(Count("user_id", distinct=True))
        .order_by()
    )
    replay_seconds: defaultdict[int, float] = defaultdict(float)
    for lecture_id, data in facts.filter(kind=LectureFact.Kind.REPLAY_WATCHED).values_list("lecture_id", "data"):
        replay_seconds[lecture_id] += float((data or {}).get("seconds") or 0)
    LectureFigures.objects.filter(day=day).delete()
    LectureFigures.objects.bulk_create(
        LectureFigures(
            lecture=lecture,
            day=day,
            subject_id=lecture.subject_id,
            grade_band_id=lecture.grade_band_id,
            city_id=lecture.city_id,
            district_id=lecture.district_id,
            school_id=lecture.school_id,
            minutes=_minutes(lecture, now),
            signups=signups.get(lecture.pk, 0),
            viewers=len({user_id for _, joined, user_id in moves[lecture.pk] if joined}),
            peak=peak_audience(moves[lecture.pk]),
            replay_viewers=replays.get(lecture.pk, 0),
            replay_seconds=round(replay_seconds[lecture.pk], 3),
        )
        for lecture in lectures
    )


def _minutes(lecture: Lecture, now: datetime) -> float:
    started = lecture.started_at or now  # set: only started lectures are read
    return round(((lecture.ended_at or now) - started).total_seconds() / 60, 3)


def peak_audience(moves: Iterable[tuple[datetime, bool, int]]) -> int:
    """The most users watching at once, from their joins and leaves in time order (a leave of a user not watching,
    or a second join, changes nothing)."""
    watching: set[int] = set()
    peak = 0
    for _at, joined, user_id in moves:
        if joined:
            watching.add(user_id)
            peak = max(peak, len(watching))
        else:
            watching.discard(user_id)
    return peak


def _days(moments: Iterable[date | None]) -> set[date]:
    return {moment for moment in moments if moment is not None}


def _span(first: date, last: date) -> set[date]:
    return {first + timedelta(days=number) for number in range((last - first).days + 1)}


def engagement_changed_days(since: datetime, *, zone: tzinfo, now: datetime) -> set[date]:
    """The local days whose coverage or lectures changed since ``since`` (participation and comments change with
    the questions and sessions ``rollups.changed_days`` already reads): a presence fact's day and, for one that
    ends a duty, every day back to its start; every day since ``since`` while someone is on duty (their open duty
    grows); a lecture's day for any of its facts (a replay watched later included)."""
    days: set[date] = set()
    # A duty that fell silent ends at its last heartbeat: its fact may be dated that far before it was written.
    silent = timedelta(seconds=settings.XUEWEN["DUTY_SILENT_SECONDS"])
    changed = RoutingFact.objects.filter(kind__in=PRESENCE, at__gte=since - silent)
    firsts = dict(changed.values_list("teacher_id").annotate(Min("at")).order_by())
    for teacher_id, first in firsts.items():
        begun = (
            RoutingFact.objects.filter(
                teacher_id=teacher_id,
                kind=RoutingFact.Kind.PRESENCE_STARTED,
                at__lte=first,
                at__gte=first - PRESENCE_LOOKBACK,
            )
            .order_by("-at", "-id")
            .values_list("at", flat=True)
            .first()
        ) or first
        last = changed.filter(teacher_id=teacher_id).aggregate(last=Max("at"))["last"]
        days |= _span(begun.astimezone(zone).date(), last.astimezone(zone).date())
    if Duty.objects.filter(on_duty=True).exists():
        today = now.astimezone(zone).date()
        days |= _span(max(since.astimezone(zone).date(), today - PRESENCE_LOOKBACK), today)
    lectures = LectureFact.objects.filter(at__gte=since).filter(Q(lecture__started_at__isnull=False))
    days |= _days(
        lectures.annotate(held=TruncDate("lecture__started_at", tzinfo=zone)).values_list("held", flat=True).distinct()
    )
    return days
