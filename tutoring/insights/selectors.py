"""Reads of the insights: who may look where, the filters checked, and the figures of ``metrics.FIGURES`` summed
from the rollups for a filter (with the previous period of the same length) or broken down by one dimension.

A figure about fewer than MIN_GROUP students (the students enrolled in the place and grade it is about) is not
shown, and no figure names a student."""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tutoring.accounts.models import AdministratorProfile, StudentProfile, User
from tutoring.core.errors import ServiceError
from tutoring.insights.metrics import BUCKET_SECONDS, FIGURES, RATINGS
from tutoring.insights.models import (
    COUNTED,
    Counts,
    DayFigures,
    DaySpread,
    HourFigures,
    PointFigures,
)
from tutoring.insights.rollups import COARSER, day_bounds
from tutoring.knowledge.models import KnowledgePoint
from tutoring.questions.models import Attachment, Question, QuestionKnowledgePoint
from tutoring.questions.selectors import question_visible_queryset
from tutoring.routing.models import Ticket
from tutoring.schools.models import MAX_GRADE, MIN_GRADE, District, School, Subject
from tutoring.schools.selectors import grade_label, subject_find
from tutoring.sessions.models import TutoringSession

MIN_GROUP = 5  # students: a group smaller than this shows no figure
MAX_SPAN_DAYS = 366
DEFAULT_DAYS = 7
BREAKDOWNS = ("day", "district", "school", "subject", "grade", "point", "hour", "weekday")


@dataclass(frozen=True)
class Scope:
    """Where a viewer may look: a city, a district or a school (nothing set: every city)."""

    city_id: int | None = None
    district_id: int | None = None
    school_id: int | None = None


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # included
    scope: Scope
    district: District | None = None
    school: School | None = None
    subject: Subject | None = None
    grade: int | None = None
    point: KnowledgePoint | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Filters":
        """The period of the same length just before."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))


def insights_scope(user: User | AnonymousUser) -> Scope:
    """Teaching-research staff see their city or district, administrators the place they run, superusers every
    city; anyone else is not found (404)."""
    if not user.is_authenticated or not user.is_active:
        raise Http404
    if user.is_superuser:
        return Scope()
    if user.is_research_staff and hasattr(user, "staff_profile"):
        return Scope(city_id=user.staff_profile.city_id, district_id=user.staff_profile.district_id)
    profile = AdministratorProfile.objects.filter(user=user).first()
    if user.role == User.Role.ADMINISTRATOR and profile is not None:
        return Scope(city_id=profile.city_id, district_id=profile.district_id, school_id=profile.school_id)
    raise Http404


def insights_reader(user: User | AnonymousUser) -> bool:
    """Whether the user may read insights (staff, administrators of a place, superusers)."""
    try:
        insights_scope(user)
    except Http404:
        return False
    return True


def insights_places(scope: Scope) -> tuple[list[District], list[School]]:
    """The districts and schools a viewer may choose, by name."""
    schools = list(_schools(scope).select_related("district").order_by("district__name", "name"))
    districts = list(dict.fromkeys(school.district for school in schools)) if scope.school_id is None else []
    return districts, schools


def _schools(scope: Scope) -> QuerySet[School]:
    schools = School.objects.all()
    if scope.school_id is not None:
        return schools.filter(pk=scope.school_id)
    if scope.district_id is not None:
        return schools.filter(district_id=scope.district_id)
    if scope.city_id is not None:
        return schools.filter(district__city_id=scope.city_id)
    return schools


def _refused(code: str, message: Any, field: str) -> ServiceError:
    return ServiceError(code, message, field=field)


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _refused("invalid_date", _("Give dates as YYYY-MM-DD."), field) from None


def insights_filters(*, user: User | AnonymousUser, query: Mapping[str, str]) -> Filters:
    """The filters of a request, checked: the dates (by default the last seven days to today), a district or
    school inside the viewer's scope, a subject, a grade, a knowledge point of the subject."""
    scope = insights_scope(user)
    today = timezone.localdate()
    end = _date(query["to"], "to") if query.get("to") else today
    start = _date(query["from"], "from") if query.get("from") else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise _refused("reversed_dates", _("The start of the period is after its end."), "from")
    if (end - start).days + 1 > MAX_SPAN_DAYS:
        raise _refused("period_too_long", _("A period can be at most %(days)s days.") % {"days": MAX_SPAN_DAYS}, "from")
    schools = _schools(scope)
    school = district = None
    if query.get("school"):
        school = schools.select_related("district").filter(pk=_number(query["school"], "school")).first()
        if school is None:
            raise _refused("unknown_place", _("Unknown school."), "school")
        district = school.district
    elif query.get("district"):
        district_id = _number(query["district"], "district")
        district = District.objects.filter(pk=district_id, pk__in=schools.values("district_id")).first()
        if district is None or scope.school_id is not None:
            raise _refused("unknown_place", _("Unknown district."), "district")
    subject = None
    if query.get("subject"):
        subject = subject_find(query["subject"])
        if subject is None:
            raise _refused("unknown_subject", _("Unknown subject."), "subject")
    grade = None
    if query.get("grade"):
        grade = _number(query["grade"], "grade")
        if not MIN_GRADE <= grade <= MAX_GRADE:
            raise _refused("unknown_grade", _("Unknown grade."), "grade")
    point = None
    if query.get("point"):
        if subject is None:
            raise _refused("point_without_subject", _("Choose the subject of the knowledge point."), "point")
        point = KnowledgePoint.objects.filter(subject=subject, code=query["point"]).first()
        if point is None:
            raise _refused("unknown_point", _("Unknown knowledge point."), "point")
    return Filters(start, end, scope, district, school, subject, grade, point)


def _number(value: str, field: str) -> int:
    if not value.strip().isdigit():
        raise _refused(f"invalid_{field}", _("Not a number."), field)
    return int(value)


# The coarser rollups that hold the same sums as a finer one: a district's (of a school-grain rollup) and a
# city's (of a school- or district-grain one).
DISTRICT_OF = {how.fine: coarse for coarse, how in COARSER.items() if how.place is School}
CITY_OF = {how.fine: coarse for coarse, how in COARSER.items() if how.place is District}
CITY_OF |= {fine: CITY_OF[district] for fine, district in DISTRICT_OF.items()}


def _grain(filters: Filters, by: str | None) -> str:
    """The largest place whose rollups can answer: "city" for whole cities not broken down by district or school,
    "district" for whole districts not broken down by school, else "school" (every figure of a place is a sum over
    the places inside it)."""
    if filters.school is not None or filters.scope.school_id is not None or by == "school":
        return "school"
    if filters.district is not None or filters.scope.district_id is not None or by == "district":
        return "district"
    return "city"


def _place_rows(filters: Filters, model: type[Any], by: str | None) -> QuerySet[Any]:
    """The rows of a rollup (``DayFigures``, ``PointFigures``, ``DaySpread`` by school, ``HourFigures`` by
    district) for the filters' period and place, read at the largest grain that can answer (``_grain``)."""
    grain = _grain(filters, by)
    place: dict[str, Any]
    if grain == "city":
        source = CITY_OF[model]
        place = {} if filters.scope.city_id is None else {"city": filters.scope.city_id}
    elif grain == "district" or model not in DISTRICT_OF:
        source, place = DISTRICT_OF.get(model, model), {"district__in": _place_districts(filters)}
    else:
        source, place = model, {"school__in": _place_schools(filters)}
    manager: Any = source._default_manager  # typed as Any: the grains' rollups have different fields
    return manager.filter(day__gte=filters.start, day__lte=filters.end, **place)


def _district_column(rows: QuerySet[Any], column: str) -> str:
    """A breakdown's column as the rows' rollup names it (the district-grain ones hold the district itself)."""
    return "district" if column == "school__district" and rows.model in COARSER else column


def _rows(filters: Filters, model: type[Counts], by: str | None = None) -> QuerySet[Any]:
    """The rollup rows of the filters: by day and school or district (DayFigures), by knowledge point
    (PointFigures) or by hour and district (HourFigures, refused below a district: it would show other schools'
    questions); ``by`` is the breakdown they are grouped by, if any."""
    if model is HourFigures and (filters.school is not None or filters.scope.school_id is not None):
        raise _refused("hours_by_school", _("Hours and weekdays are counted by district, not by school."), "by")
    rows = _place_rows(filters, model, by)
    if model is PointFigures:
        if filters.point is not None:
            rows = rows.filter(point=filters.point)
        elif filters.subject is not None:
            rows = rows.filter(point__subject=filters.subject)
    elif filters.subject is not None:
        rows = rows.filter(subject=filters.subject)
    if filters.grade is not None:
        rows = rows.filter(grade=filters.grade)
    return rows


def _source(filters: Filters) -> type[Counts]:
    return PointFigures if filters.point is not None else DayFigures


def _sums(rows: QuerySet[Any]) -> dict[str, float]:
    found = rows.aggregate(**{column: Sum(column) for column in COUNTED})
    return {column: found[column] or 0 for column in COUNTED}


def _no_spreads() -> dict[str, list[int]]:
    return {measure: [0] * len(BUCKET_SECONDS) for measure in DaySpread.Measure.values}


def _spread_rows(filters: Filters, by: str | None = None) -> QuerySet[Any]:
    rows = _place_rows(filters, DaySpread, by)
    if filters.subject is not None:
        rows = rows.filter(subject=filters.subject)
    if filters.grade is not None:
        rows = rows.filter(grade=filters.grade)
    return rows


def _spreads(filters: Filters) -> dict[str, list[int]]:
    """The buckets of waits and session lengths; none under a knowledge point (they are kept by day and school)."""
    spreads = _no_spreads()
    if filters.point is None:
        for measure, bucket, count in _spread_rows(filters).values_list("measure", "bucket").annotate(Sum("count")):
            spreads[measure][bucket] = count
    return spreads


def _place_schools(filters: Filters) -> QuerySet[School]:
    if filters.school is not None:
        return School.objects.filter(pk=filters.school.pk)
    if filters.district is not None:
        return School.objects.filter(district=filters.district)
    return _schools(filters.scope)


def _place_districts(filters: Filters) -> QuerySet[District]:
    if filters.district is not None:
        return District.objects.filter(pk=filters.district.pk)
    if filters.scope.district_id is not None:
        return District.objects.filter(pk=filters.scope.district_id)
    if filters.scope.city_id is not None:
        return District.objects.filter(city_id=filters.scope.city_id)
    return District.objects.all()


ENROLMENT_SECONDS = 60  # enrolment counts are kept this long: a page asks for the same ones several times


def _enrolment_key(filters: Filters, by: str) -> str:
    school, district = filters.school.pk if filters.school else "", filters.district.pk if filters.district else ""
    scope = filters.scope
    return (
        f"insights.enrolled.{scope.city_id}.{scope.district_id}.{scope.school_id}.{district}.{school}"
        f".{filters.grade}.{by}"
    )


def enrolled(filters: Filters) -> int:
    """The students of the filters' place (and grade): the group every figure of the filters is about (counted
    once a minute: a city's 600,000 profiles take tens of milliseconds, and a page asks several times)."""

    def counted() -> int:
        students = StudentProfile.objects.filter(school__in=_place_schools(filters))
        if filters.grade is not None:
            students = students.filter(grade=filters.grade)
        return students.count()

    return cast(int, cache.get_or_set(_enrolment_key(filters, ""), counted, ENROLMENT_SECONDS))


def _values(sums: Mapping[str, float], spreads: Mapping[str, list[int]]) -> dict[str, float | None]:
    return {figure.code: figure.value(sums, spreads) for figure in FIGURES}


def insights_figures(filters: Filters) -> dict[str, Any]:
    """Every figure for the filters, and for the period of the same length before; none where the group is
    smaller than MIN_GROUP students."""
    suppressed = enrolled(filters) < MIN_GROUP
    current: dict[str, float | None] = {figure.code: None for figure in FIGURES}
    previous = current
    if not suppressed:
        current = _values(_sums(_rows(filters, _source(filters))), _spreads(filters))
        before = filters.previous()
        previous = _values(_sums(_rows(before, _source(before))), _spreads(before))
    return {
        "suppressed": suppressed,
        "figures": [
            {
                "code": figure.code,
                "label": str(figure.label),
                "definition": str(figure.definition),
                "unit": figure.unit,
                "value": current[figure.code],
                "previous": previous[figure.code],
            }
            for figure in FIGURES
        ],
    }


# A breakdown: the rollup it reads and the column it groups by (None: the filters' own source).
_GROUPED: dict[str, tuple[type[Counts] | None, str]] = {
    "day": (None, "day"),
    "district": (None, "school__district"),
    "school": (None, "school"),
    "subject": (DayFigures, "subject"),
    "grade": (None, "grade"),
    "point": (PointFigures, "point"),
    "hour": (HourFigures, "hour"),
    "weekday": (HourFigures, "weekday"),
}
WEEKDAYS = (_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday"))


def insights_breakdown(filters: Filters, by: str) -> list[dict[str, Any]]:
    """Every figure for each value of one dimension (day, district, school, subject, grade, knowledge point,
    hour of day, weekday) that has questions, in that dimension's order; a school, district or grade with fewer
    than MIN_GROUP students shows none, and every row none when the filters' group is that small."""
    if by not in _GROUPED:
        raise _refused("unknown_breakdown", _("Unknown breakdown."), "by")
    model, column = _GROUPED[by]
    model = model or _source(filters)
    if by == "subject" and filters.point is not None:
        model = PointFigures
        column = "point__subject"
    found = _rows(filters, model, by)
    column = _district_column(found, column)
    rows = found.values(column).annotate(**{name: Sum(name) for name in COUNTED}).order_by(column)
    spreads: dict[Any, dict[str, list[int]]] = {}
    if model is not HourFigures and filters.point is None and column != "point":
        spread_rows = _spread_rows(filters, by)
        spread_column = _district_column(spread_rows, _GROUPED[by][1])
        for key, measure, bucket, count in (
            spread_rows.values_list(spread_column, "measure", "bucket").annotate(Sum("count")).order_by()
        ):
            spreads.setdefault(key, _no_spreads())[measure][bucket] = count
    groups = _group_sizes(filters, by)
    labels = _labels(by, [row[column] for row in rows])
    everyone_small = enrolled(filters) < MIN_GROUP
    table = []
    for row in rows:
        key = row[column]
        small = everyone_small or (groups is not None and groups.get(key, 0) < MIN_GROUP)
        values: dict[str, float | None] = {figure.code: None for figure in FIGURES}
        if not small:
            sums = {name: row[name] or 0 for name in COUNTED}
            values = _values(sums, spreads.get(key, _no_spreads()))
        table.append(
            {
                "key": key.isoformat() if isinstance(key, date) else key,
                "label": labels[key],
                "suppressed": small,
                "values": values,
            }
        )
    return table


def _group_sizes(filters: Filters, by: str) -> dict[Any, int] | None:
    """The students enrolled in each school, district or grade of a breakdown by one of these; None for other
    dimensions (their rows are about the filters' whole group)."""
    column = {"school": "school", "district": "school__district", "grade": "grade"}.get(by)
    if column is None:
        return None

    def counted() -> dict[Any, int]:
        students = StudentProfile.objects.filter(school__in=_place_schools(filters))
        if filters.grade is not None:
            students = students.filter(grade=filters.grade)
        return dict(students.values_list(column).annotate(Count("pk")).order_by())

    return cast(dict[Any, int], cache.get_or_set(_enrolment_key(filters, by), counted, ENROLMENT_SECONDS))


def _labels(by: str, keys: list[Any]) -> dict[Any, str]:
    if by == "day":
        return {key: key.isoformat() for key in keys}
    if by == "hour":
        return {key: f"{key:02d}:00" for key in keys}
    if by == "weekday":
        return {key: str(WEEKDAYS[key - 1]) for key in keys}
    if by == "grade":
        return {key: grade_label(key) for key in keys}
    model = {"district": District, "school": School, "subject": Subject, "point": KnowledgePoint}[by]
    return {pk: name for pk, name in model._default_manager.filter(pk__in=keys).values_list("pk", "name")}


# --- Drill-down: the questions behind a figure --------------------------------------------------------------------


def _first_session(field: str) -> Subquery:
    first = TutoringSession.objects.filter(question=OuterRef("pk"), status=TutoringSession.Status.ENDED)
    return Subquery(first.order_by("started_at", "pk").values(field)[:1])


def _behind(code: str) -> Q:
    """The questions a figure counts (or is computed over), as the rollups count them: a test holds the two
    together for every figure."""
    photo = Exists(Attachment.objects.filter(question=OuterRef("pk"), kind=Attachment.Kind.PHOTO))
    voice = Exists(Attachment.objects.filter(question=OuterRef("pk"), kind=Attachment.Kind.VOICE))
    queued = Exists(Ticket.objects.filter(question=OuterRef("pk")))
    accepted = Exists(Ticket.objects.filter(question=OuterRef("pk"), assigned_at__isnull=False))
    ended = Exists(TutoringSession.objects.filter(question=OuterRef("pk"), status=TutoringSession.Status.ENDED))
    Status, Outcome = Question.Status, Question.MatchOutcome
    rules: dict[str, Q] = {
        "asked": Q(),
        "by_text": ~Q(photo) & ~Q(voice),
        "by_photo": Q(photo),
        "by_voice": Q(voice) & ~Q(photo),
        "understood": Q(understood_at__isnull=False),
        "matched_same": Q(match_outcome=Outcome.SAME),
        "matched_similar": Q(match_outcome=Outcome.SIMILAR),
        "matched_none": Q(match_outcome=Outcome.NONE),
        "match_rate": Q(match_outcome__in=(Outcome.SAME, Outcome.SIMILAR)),
        "solved_by_library": Q(status=Status.RESOLVED),
        "deflection": Q(status=Status.RESOLVED),
        "sent_to_teacher": Q(queued),
        "answered": Q(status=Status.ANSWERED),
        "answer_rate": Q(status=Status.ANSWERED),
        "cancelled": Q(status=Status.CANCELLED),
        "wait_p50": Q(queued) & Q(accepted),
        "wait_p90": Q(queued) & Q(accepted),
        "wait_mean": Q(queued) & Q(accepted),
        "sessions": Q(ended),
        "session_p50": Q(ended),
        "session_mean": Q(ended),
        "rated": Q(first_rating__in=RATINGS),
        "rating_mean": Q(first_rating__in=RATINGS),
    }
    if code not in rules:
        raise _refused("unknown_figure", _("Unknown figure."), "figure")
    return rules[code]


def insights_questions(*, user: User, filters: Filters, code: str) -> QuerySet[Question]:
    """The questions behind a figure of the filters, newest first: those the viewer may read
    (``question_visible_queryset``), of the period, place, subject, grade and knowledge point."""
    start, end = day_bounds(filters.start)[0], day_bounds(filters.end)[1]
    questions = question_visible_queryset(user).filter(
        created_at__gte=start,
        created_at__lt=end,
        student__student_profile__school__in=_place_schools(filters),
    )
    if filters.subject is not None:
        questions = questions.filter(subject=filters.subject)
    if filters.grade is not None:
        questions = questions.filter(grade=filters.grade)
    if filters.point is not None:
        tagged = QuestionKnowledgePoint.objects.filter(question=OuterRef("pk"), point=filters.point)
        questions = questions.filter(Exists(tagged))
    behind = _behind(code)
    return questions.annotate(first_rating=_first_session("rating")).filter(behind).order_by("-created_at", "-pk")


# --- The knowledge-point heat map ------------------------------------------------------------------------------

HEAT_POINTS = 12  # the knowledge points asked most in the city, as columns
HEAT_LEVELS = (0.5, 0.8, 1.25, 2.0)  # a school's share against the city's: below, near, above, well above


def _city_scope(filters: Filters) -> Scope:
    """The place the heat map compares with: the whole city of the viewer's place (every city, for a
    superuser); only sums of it are shown."""
    city_id = filters.scope.city_id
    if city_id is None and filters.scope.district_id is not None:
        city_id = District.objects.filter(pk=filters.scope.district_id).values_list("city_id", flat=True).first()
    return Scope(city_id=city_id)


def insights_heatmap(filters: Filters) -> dict[str, Any] | None:
    """For the filters' subject: each school of the place (rows) against the knowledge points the city's
    questions were tagged with most (columns), each cell the share of the school's questions tagged with the
    point, its ratio to the city's share and a level (0-4, ``HEAT_LEVELS``); None without a subject. A school of
    fewer than MIN_GROUP students shows no cell."""
    if filters.subject is None:
        return None
    city = replace(filters, scope=_city_scope(filters), district=None, school=None, point=None)
    city_points = list(
        _rows(city, PointFigures)
        .values_list("point")
        .annotate(asked=Sum("asked"))
        .order_by("-asked", "point")[:HEAT_POINTS]
    )
    top = [point for point, _asked in city_points]
    city_asked = _sums(_rows(city, DayFigures))["asked"]
    city_share = {point: asked / city_asked for point, asked in city_points if city_asked}
    local = replace(filters, point=None)
    school_asked = dict(_rows(local, DayFigures, "school").values_list("school").annotate(Sum("asked")).order_by())
    cells: dict[tuple[int, int], int] = {
        (school, point): asked
        for school, point, asked in _rows(local, PointFigures, "school")
        .filter(point__in=top)
        .values_list("school", "point")
        .annotate(Sum("asked"))
        .order_by()
    }
    sizes = _group_sizes(local, "school") or {}
    names = dict(KnowledgePoint.objects.filter(pk__in=top).values_list("pk", "name"))
    schools = School.objects.filter(pk__in=school_asked).order_by("district__name", "name")
    rows = []
    for school in schools:
        small = sizes.get(school.pk, 0) < MIN_GROUP
        row_cells = []
        for point in top:
            share = cells.get((school.pk, point), 0) / school_asked[school.pk] if school_asked[school.pk] else 0.0
            ratio = share / city_share[point] if city_share.get(point) else None
            level = sum(ratio >= bound for bound in HEAT_LEVELS) if ratio is not None else 0
            row_cells.append(None if small else {"share": share, "ratio": ratio, "level": level})
        rows.append({"school": school.name, "suppressed": small, "cells": row_cells})
    return {
        "points": [names[point] for point in top],
        "city": [city_share.get(point, 0.0) for point in top],
        "rows": rows,
    }
