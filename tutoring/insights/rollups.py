"""The rollups recomputed from the facts: a day's rows whole, for every local day whose questions something
happened to since the last refresh (asked, understood, matched, judged, queued, accepted, finished, a session
started, ended or rated, a knowledge point chosen). Insights only read the other apps' rows; nothing here writes
them."""

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from tutoring.insights.engagement_rollups import engagement_changed_days, engagement_rollup_day
from tutoring.insights.metrics import RATINGS, bucket_of
from tutoring.insights.models import (
    COUNTED,
    CityDayFigures,
    CityDaySpread,
    CityHourFigures,
    CityPointFigures,
    DayFigures,
    DaySpread,
    DistrictDayFigures,
    DistrictDaySpread,
    DistrictPointFigures,
    HourFigures,
    PointFigures,
    RollupMark,
)
from tutoring.library.models import Feedback
from tutoring.questions.models import Attachment, Question, QuestionKnowledgePoint
from tutoring.routing.models import Ticket
from tutoring.schools.models import District, School
from tutoring.sessions.models import TutoringSession

logger = logging.getLogger(__name__)

MARK = "insights"
# Changes are re-read with this overlap: a transaction that began before the last refresh may commit after it.
OVERLAP = timedelta(minutes=2)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class QuestionFacts:
    """What happened to one question, as the rollups count it."""

    day: date
    hour: int
    weekday: int
    school_id: int
    district_id: int
    subject_id: int
    grade: int
    counts: Counter[str] = field(default_factory=Counter)
    wait: float | None = None
    session: float | None = None
    points: list[int] = field(default_factory=list)


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A local day as the instants it starts and ends at."""
    zone = _zone()
    return (
        datetime.combine(day, time(), tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time(), tzinfo=zone),
    )


def questions_of_day(day: date) -> QuerySet[Question]:
    start, end = day_bounds(day)
    return Question.objects.filter(created_at__gte=start, created_at__lt=end, student__student_profile__isnull=False)


def question_facts(day: date) -> list[QuestionFacts]:
    """The questions asked on a local day, each with what became of it (four queries)."""
    attachments = Attachment.objects.filter(question=OuterRef("pk"))
    rows = (
        questions_of_day(day)
        .annotate(
            photo=Exists(attachments.filter(kind=Attachment.Kind.PHOTO)),
            voice=Exists(attachments.filter(kind=Attachment.Kind.VOICE)),
            queued=Min("tickets__queued_at"),
            accepted=Min("tickets__assigned_at"),
        )
        .values(
            "pk",
            "created_at",
            "subject_id",
            "grade",
            "status",
            "understood_at",
            "match_outcome",
            "photo",
            "voice",
            "queued",
            "accepted",
            "student__student_profile__school_id",
            "student__student_profile__school__district_id",
        )
    )
    zone = _zone()
    facts: dict[int, QuestionFacts] = {}
    for row in rows:
        local = row["created_at"].astimezone(zone)
        fact = facts[row["pk"]] = QuestionFacts(
            day=local.date(),
            hour=local.hour,
            weekday=local.isoweekday(),
            school_id=row["student__student_profile__school_id"],
            district_id=row["student__student_profile__school__district_id"],
            subject_id=row["subject_id"],
            grade=row["grade"],
        )
        counts = fact.counts
        counts["asked"] = 1
        counts["by_photo" if row["photo"] else "by_voice" if row["voice"] else "by_text"] = 1
        counts["understood"] = int(row["understood_at"] is not None)
        if row["match_outcome"]:
            counts[f"matched_{row['match_outcome']}"] = 1
        counts["solved_by_library"] = int(row["status"] == Question.Status.RESOLVED)
        counts["sent_to_teacher"] = int(row["queued"] is not None)
        counts["answered"] = int(row["status"] == Question.Status.ANSWERED)
        counts["cancelled"] = int(row["status"] == Question.Status.CANCELLED)
        if row["queued"] is not None and row["accepted"] is not None:
            fact.wait = max((row["accepted"] - row["queued"]).total_seconds(), 0.0)
            counts["accepted"] = 1
    sessions = (
        TutoringSession.objects.filter(question__in=questions_of_day(day), status=TutoringSession.Status.ENDED)
        .order_by("question_id", "started_at", "pk")
        .values_list("question_id", "started_at", "ended_at", "rating")
    )
    for question_id, started_at, ended_at, rating in sessions:
        fact = facts[question_id]
        if fact.session is not None or ended_at is None:
            continue  # the question's first session counts
        fact.session = max((ended_at - started_at).total_seconds(), 0.0)
        fact.counts["sessions"] = 1
        if rating in RATINGS:
            fact.counts[f"rating_{rating}"] = 1
    # Unordered: the model's ordering joins the questions again and made PostgreSQL scan every tag (5 s a day at
    # a city's year, bench/insights; 0.7 s without).
    tags = (
        QuestionKnowledgePoint.objects.filter(question__in=questions_of_day(day))
        .order_by()
        .values_list("question_id", "point_id")
    )
    for question_id, point_id in tags:
        facts[question_id].points.append(point_id)
    return list(facts.values())


Totals = dict[tuple, defaultdict[str, float]]  # counts stay ints: an int default, ints added


def _summed(groups: Totals, key: tuple, fact: QuestionFacts) -> None:
    total = groups[key]
    for column, count in fact.counts.items():
        total[column] += count
    total["wait_seconds"] += fact.wait or 0.0
    total["session_seconds"] += fact.session or 0.0


def _inserted(model: type[Any], keys: list[str], rows: list[tuple[Any, ...]]) -> None:
    """A day's rows of a rollup, written with one statement prepared once and sent for every row, not through
    model instances (``bulk_create`` spent most of a city's day preparing them, bench/insights)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in ["day", *keys])
    marks = ", ".join(["%s"] * (len(keys) + 1))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})", rows)


def rollup_day(day: date, *, now: datetime | None = None) -> int:
    """Recompute a local day's rows from its questions (and the engagement rollups of the day, see
    ``engagement_rollups``); returns how many questions they hold."""
    facts = question_facts(day)
    days: Totals = defaultdict(lambda: defaultdict(int))
    hours: Totals = defaultdict(lambda: defaultdict(int))
    points: Totals = defaultdict(lambda: defaultdict(int))
    spreads: Counter[tuple] = Counter()
    for fact in facts:
        place = (fact.school_id, fact.subject_id, fact.grade)
        _summed(days, place, fact)
        _summed(hours, (fact.hour, fact.weekday, fact.district_id, fact.subject_id, fact.grade), fact)
        for point_id in dict.fromkeys(fact.points):
            _summed(points, (fact.school_id, point_id, fact.grade), fact)
        for measure, seconds in ((DaySpread.Measure.WAIT, fact.wait), (DaySpread.Measure.SESSION, fact.session)):
            if seconds is not None:
                spreads[(*place, measure, bucket_of(seconds))] += 1
    written = connection.ops.adapt_datefield_value(day)
    with transaction.atomic():
        rollups: list[type[Any]] = [DayFigures, HourFigures, PointFigures, DaySpread, *COARSER]
        for model in rollups:
            model._default_manager.filter(day=day).delete()
        for model, keys, totals in (
            (DayFigures, ["school_id", "subject_id", "grade"], days),
            (HourFigures, ["hour", "weekday", "district_id", "subject_id", "grade"], hours),
            (PointFigures, ["school_id", "point_id", "grade"], points),
        ):
            _inserted(
                model,
                [*keys, *COUNTED],
                [(written, *key, *(counts.get(column, 0) for column in COUNTED)) for key, counts in totals.items()],
            )
        _inserted(
            DaySpread,
            ["school_id", "subject_id", "grade", "measure", "bucket", "count"],
            [(written, *key, count) for key, count in spreads.items()],
        )
        coarser_rollup_day(day)
        engagement_rollup_day(
            day, questions=questions_of_day(day), bounds=day_bounds(day), zone=_zone(), now=now or timezone.now()
        )
    return len(facts)


@dataclass(frozen=True)
class Coarser:
    """A rollup of sums over a larger place: the finer rollup it sums, the model of the finer rows' place (a school
    or a district) and its column there, the columns (besides the day) it is grouped by and those it sums."""

    fine: type[Any]
    place: type[Any]
    parent: str  # the column of ``place`` this rollup keeps: "district_id" or "city_id"
    keys: list[str]
    summed: list[str]


SPREAD_KEYS = ["subject_id", "grade", "measure", "bucket"]
# Each coarser rollup, in the order they are written (a city row sums district rows written just before).
COARSER: dict[type[Any], Coarser] = {
    DistrictDayFigures: Coarser(DayFigures, School, "district_id", ["subject_id", "grade"], COUNTED),
    DistrictPointFigures: Coarser(PointFigures, School, "district_id", ["point_id", "grade"], COUNTED),
    DistrictDaySpread: Coarser(DaySpread, School, "district_id", SPREAD_KEYS, ["count"]),
    CityDayFigures: Coarser(DistrictDayFigures, District, "city_id", ["subject_id", "grade"], COUNTED),
    CityHourFigures: Coarser(HourFigures, District, "city_id", ["hour", "weekday", "subject_id", "grade"], COUNTED),
    CityPointFigures: Coarser(DistrictPointFigures, District, "city_id", ["point_id", "grade"], COUNTED),
    CityDaySpread: Coarser(DistrictDaySpread, District, "city_id", SPREAD_KEYS, ["count"]),
}


def coarser_rollup_day(day: date) -> None:
    """The district- and city-grain rows of a day, summed in the database from the day's finer rows (written just
    before, in the same transaction): one ``INSERT … SELECT … GROUP BY`` each."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for coarse, how in COARSER.items():
            child = f"{how.place._meta.model_name}_id"  # the finer rows' place: school_id or district_id
            target = ", ".join(quote(column) for column in ["day", how.parent, *how.keys, *how.summed])
            grouped = ", ".join(f"fine.{quote(column)}" for column in how.keys)
            sums = ", ".join(f"SUM(fine.{quote(column)})" for column in how.summed)
            cursor.execute(
                f"INSERT INTO {quote(coarse._meta.db_table)} ({target}) "
                f"SELECT fine.{quote('day')}, place.{quote(how.parent)}, {grouped}, {sums} "
                f"FROM {quote(how.fine._meta.db_table)} fine JOIN {quote(how.place._meta.db_table)} place "
                f"ON place.{quote('id')} = fine.{quote(child)} WHERE fine.{quote('day')} = %s "
                f"GROUP BY fine.{quote('day')}, place.{quote(how.parent)}, {grouped}",
                [connection.ops.adapt_datefield_value(day)],
            )


def _days(moments: Iterable[Any]) -> set[date]:
    return {day for day in moments if day is not None}


def changed_days(since: datetime, *, now: datetime | None = None) -> set[date]:
    """The local days of the questions something happened to since ``since``."""
    zone = _zone()

    def asked_days(queryset: QuerySet[Any], path: str) -> set[date]:
        return _days(queryset.annotate(asked=TruncDate(path, tzinfo=zone)).values_list("asked", flat=True).distinct())

    return (
        asked_days(
            Question.objects.filter(Q(created_at__gte=since) | Q(understood_at__gte=since) | Q(matched_at__gte=since)),
            "created_at",
        )
        | asked_days(Feedback.objects.filter(created_at__gte=since), "question__created_at")
        | asked_days(
            Ticket.objects.filter(Q(queued_at__gte=since) | Q(assigned_at__gte=since) | Q(finished_at__gte=since)),
            "question__created_at",
        )
        | asked_days(
            TutoringSession.objects.filter(Q(started_at__gte=since) | Q(ended_at__gte=since) | Q(rated_at__gte=since)),
            "question__created_at",
        )
        | asked_days(QuestionKnowledgePoint.objects.filter(created_at__gte=since), "question__created_at")
        | engagement_changed_days(since, zone=zone, now=now or timezone.now())
    )


def insights_refresh(*, now: datetime | None = None) -> list[date]:
    """Bring the rollups up to date: every day changed since the last refresh (every day, the first time) is
    recomputed whole. One refresh at a time (the mark is locked); returns the days recomputed."""
    now = now or timezone.now()
    RollupMark.objects.get_or_create(name=MARK, defaults={"at": EPOCH})
    with transaction.atomic():
        mark = RollupMark.objects.select_for_update().get(name=MARK)
        since = mark.at - OVERLAP if mark.at > EPOCH else EPOCH
        days = sorted(changed_days(since, now=now))
        questions = sum(rollup_day(day, now=now) for day in days)
        mark.at = now
        mark.save(update_fields=["at"])
    logger.info("insights.refreshed", extra={"days": len(days), "questions": questions})
    return days


def insights_refresh_due(*, every: timedelta = timedelta(minutes=1)) -> None:
    """Where no beat runs (the embedded default: eager tasks, one process), a reader refreshes the rollups itself
    when the last refresh is older than ``every``."""
    mark = RollupMark.objects.filter(name=MARK).first()
    if mark is None or timezone.now() - mark.at >= every:
        insights_refresh()


def insights_rebuild() -> list[date]:
    """Recompute every day from the facts (after a change of definitions): the mark goes back to the start."""
    RollupMark.objects.update_or_create(name=MARK, defaults={"at": EPOCH})
    return insights_refresh()
