"""Reads of participation, satisfaction, silent schools, lectures and duty coverage with next week's staffing, for
the filters and within the scope ``selectors.insights_filters`` checked. Each table's columns are defined once in
``tutoring.insights.metrics``; every figure is read from the rollups (``engagement_rollups`` and ``Counts``), never
from the raw rows, except next week's shifts (the schedule itself) and the typical answer time of a subject.

As everywhere in the insights, a group of fewer than MIN_GROUP students shows no figure, and nothing names a
student."""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tutoring.accounts.models import StudentProfile
from tutoring.core.errors import ServiceError
from tutoring.insights import metrics
from tutoring.insights.metrics import RATINGS, Column, share, teachers_needed
from tutoring.insights.models import CoverageHour, DayFigures, HourFigures, LectureFigures, RatingComment, StudentDay
from tutoring.insights.rollups import day_bounds
from tutoring.insights.selectors import (
    MIN_GROUP,
    WEEKDAYS,
    Filters,
    _place_schools,
    _refused,
    _rows,
    enrolled,
)
from tutoring.routing.models import Shift
from tutoring.routing.selectors import answer_seconds_typical
from tutoring.schools.models import GradeBand, School, Subject
from tutoring.schools.selectors import grade_label

TABLES = ("participation", "satisfaction", "comments", "silent", "lectures", "coverage", "staffing")
TREND_BY_DAY_UP_TO = 31  # days: a longer period's satisfaction trend is by week


@dataclass
class Table:
    """A table of the engagement page: its columns (with their definitions) and rows, each ``cells`` by column code
    (None where nothing is shown) and whether the row's group is too small to show."""

    code: str
    title: Promise
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    suppressed: bool = False  # the filters' whole group is too small
    unavailable: str | Promise | None = None  # why the table is not shown for these filters

    def data(self) -> dict[str, Any]:
        return {
            "table": self.code,
            "title": str(self.title),
            "columns": [
                {"code": column.code, "label": str(column.label), "definition": str(column.definition)}
                for column in self.columns
            ],
            "rows": [
                {
                    "suppressed": row["suppressed"],
                    "cells": {
                        code: value.isoformat() if isinstance(value, date) else value
                        for code, value in row["cells"].items()
                    },
                }
                for row in self.rows
            ],
            "suppressed": self.suppressed,
            "unavailable": str(self.unavailable) if self.unavailable else None,
        }


def _row(columns: tuple[Column, ...], cells: dict[str, Any], *, suppressed: bool, names: int) -> dict[str, Any]:
    """A row whose first ``names`` columns name it; a suppressed row shows only those."""
    shown = {column.code: cells.get(column.code) for column in columns}
    if suppressed:
        shown.update({column.code: None for column in columns[names:]})
    return {"cells": shown, "suppressed": suppressed}


# --- Participation ------------------------------------------------------------------------------------------------


def _student_days(filters: Filters) -> QuerySet[StudentDay]:
    rows = StudentDay.objects.filter(day__gte=filters.start, day__lte=filters.end, school__in=_place_schools(filters))
    if filters.subject is not None:
        rows = rows.filter(subject=filters.subject)
    if filters.grade is not None:
        rows = rows.filter(grade=filters.grade)
    return rows


def participation_table(filters: Filters) -> Table:
    """For each school and grade with students enrolled: the distinct students who asked in the period (of the
    filters' subject) against those enrolled, and their questions; the last row is the whole place."""
    columns = (metrics.SCHOOL, metrics.GRADE, *metrics.PARTICIPATION)
    students = StudentProfile.objects.filter(school__in=_place_schools(filters))
    if filters.grade is not None:
        students = students.filter(grade=filters.grade)
    sizes = {
        (school, grade): count
        for school, grade, count in students.values_list("school", "grade").annotate(Count("pk")).order_by()
    }
    asked = {
        (row["school"], row["grade"]): row
        for row in _student_days(filters)
        .values("school", "grade")
        .annotate(students=Count("student", distinct=True), questions=Sum("questions"))
        .order_by()
    }
    names = dict(School.objects.filter(pk__in={school for school, _ in sizes}).values_list("pk", "name"))
    table = Table("participation", _("Participation"), columns)
    for school, grade in sorted(sizes, key=lambda key: (names[key[0]], key[1])):
        size = sizes[(school, grade)]
        found = asked.get((school, grade), {"students": 0, "questions": 0})
        cells = {
            "school": names[school],
            "grade": grade_label(grade),
            "enrolled": size,
            "participants": found["students"],
            "participation": share(found["students"], size),
            "questions": found["questions"],
        }
        table.rows.append(_row(columns, cells, suppressed=size < MIN_GROUP, names=2))
    total = sum(sizes.values())
    overall = _student_days(filters).aggregate(students=Count("student", distinct=True), questions=Sum("questions"))
    cells = {
        "school": str(_("All")),
        "grade": str(_("All")),
        "enrolled": total,
        "participants": overall["students"],
        "participation": share(overall["students"], total),
        "questions": overall["questions"] or 0,
    }
    table.rows.append(_row(columns, cells, suppressed=total < MIN_GROUP, names=2))
    table.suppressed = total < MIN_GROUP
    return table


# --- Satisfaction -------------------------------------------------------------------------------------------------


def _comments(filters: Filters) -> QuerySet[RatingComment]:
    rows = RatingComment.objects.filter(
        day__gte=filters.start, day__lte=filters.end, school__in=_place_schools(filters)
    )
    if filters.subject is not None:
        rows = rows.filter(subject=filters.subject)
    if filters.grade is not None:
        rows = rows.filter(grade=filters.grade)
    return rows


def _ratings(counts: dict[str, Any], commented: int) -> dict[str, Any]:
    stars = {f"rating_{number}": counts.get(f"rating_{number}") or 0 for number in RATINGS}
    rated = sum(stars.values())
    mean = sum(number * stars[f"rating_{number}"] for number in RATINGS) / rated if rated else None
    return {**stars, "rated": rated, "rating_mean": mean, "commented": commented}


def _rated_rows(filters: Filters) -> QuerySet[Any]:
    return _rows(filters, DayFigures)  # ratings are kept by day and school, not by knowledge point


def satisfaction_summary(filters: Filters) -> dict[str, Any]:
    """The ratings of the period and of the period of the same length before: how many of each stars, rated,
    the mean and how many came with a comment; None where the group is too small."""
    if enrolled(filters) < MIN_GROUP:
        return {"suppressed": True, "current": None, "previous": None}
    periods = {}
    for name, period in (("current", filters), ("previous", filters.previous())):
        counts = _rated_rows(period).aggregate(**{f"rating_{number}": Sum(f"rating_{number}") for number in RATINGS})
        periods[name] = _ratings(counts, _comments(period).count())
    return {"suppressed": False, **periods}


def _week(day: date) -> date:
    return day - timedelta(days=day.isoweekday() - 1)


def satisfaction_table(filters: Filters) -> Table:
    """The ratings by day (by week from its Monday, for a period of more than TREND_BY_DAY_UP_TO days)."""
    columns = (metrics.PERIOD, *metrics.SATISFACTION)
    table = Table("satisfaction", _("Satisfaction"), columns, suppressed=enrolled(filters) < MIN_GROUP)
    if table.suppressed:
        return table
    by_week = filters.days > TREND_BY_DAY_UP_TO
    periods: defaultdict[date, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    sums = {f"rating_{number}": Sum(f"rating_{number}") for number in RATINGS}
    for row in _rated_rows(filters).values("day").annotate(**sums).order_by("day"):
        key = _week(row["day"]) if by_week else row["day"]
        for number in RATINGS:
            periods[key][f"rating_{number}"] += row[f"rating_{number}"] or 0
    commented: defaultdict[date, int] = defaultdict(int)
    for day, count in _comments(filters).values_list("day").annotate(Count("pk")).order_by():
        commented[_week(day) if by_week else day] += count
    for key in sorted(periods):
        label = str(_("Week of %(day)s") % {"day": key.isoformat()}) if by_week else key.isoformat()
        cells = {"period": label, **_ratings(periods[key], commented[key])}
        table.rows.append(_row(columns, cells, suppressed=False, names=1))
    return table


def rating_comment_list(filters: Filters) -> QuerySet[RatingComment]:
    """The comments students left with their ratings, newest first, within the filters; none where the group is
    too small. Only the day, subject, grade, stars and words: never who wrote it."""
    if enrolled(filters) < MIN_GROUP:
        return RatingComment.objects.none()
    return _comments(filters).select_related("subject").order_by("-rated_at", "-pk")


def comments_table(filters: Filters) -> Table:
    """Every comment of the filters as a table (the exports'; the page shows them a page at a time)."""
    columns = metrics.COMMENTS
    table = Table("comments", _("Comments with ratings"), columns, suppressed=enrolled(filters) < MIN_GROUP)
    for comment in rating_comment_list(filters):
        cells = {
            "day": comment.day,
            "subject": comment.subject.name,
            "grade": grade_label(comment.grade),
            "stars": comment.stars,
            "comment": comment.comment,
        }
        table.rows.append(_row(columns, cells, suppressed=False, names=0))
    return table


# --- Silent schools -----------------------------------------------------------------------------------------------


def silent_table(filters: Filters) -> Table:
    """The schools of the place whose students asked nothing in the SILENT_DAYS days up to the period's end, the
    longest silent first, with the last day one of them asked (whatever the subject and grade). A school of fewer
    than MIN_GROUP students is not judged: it is left out."""
    columns = (metrics.SCHOOL, metrics.DISTRICT, *metrics.SILENT)
    table = Table("silent", _("Schools without questions"), columns)
    schools = _place_schools(filters)
    sizes = _school_sizes(schools)
    last = dict(
        DayFigures.objects.filter(school__in=schools, day__lte=filters.end, asked__gt=0)
        .values_list("school")
        .annotate(Max("day"))
        .order_by()
    )
    since = filters.end - timedelta(days=metrics.SILENT_DAYS - 1)
    silent = [
        school
        for school in schools.select_related("district")
        if sizes.get(school.pk, 0) >= MIN_GROUP and (last.get(school.pk) is None or last[school.pk] < since)
    ]
    silent.sort(key=lambda school: (last.get(school.pk) or date.min, school.name))
    for school in silent:
        cells = {
            "school": school.name,
            "district": school.district.name,
            "enrolled": sizes[school.pk],
            "last_day": last.get(school.pk),
            "silent": str(_("Yes")),
        }
        table.rows.append(_row(columns, cells, suppressed=False, names=2))
    return table


def small_schools(filters: Filters) -> int:
    """How many schools of the place have fewer than MIN_GROUP students (not judged silent or not)."""
    schools = _place_schools(filters)
    sizes = _school_sizes(schools)
    return sum(sizes.get(school, 0) < MIN_GROUP for school in schools.values_list("pk", flat=True))


def _school_sizes(schools: QuerySet[School]) -> dict[int, int]:
    """The students enrolled in each of the schools."""
    return dict(
        StudentProfile.objects.filter(school__in=schools).values_list("school").annotate(Count("pk")).order_by()
    )


def _of_subject_and_band(rows: QuerySet[Any], filters: Filters) -> QuerySet[Any]:
    """Rows (with a subject and a grade band) of the filters' subject and of the grade band holding their grade."""
    if filters.subject is not None:
        rows = rows.filter(subject=filters.subject)
    if filters.grade is not None:
        rows = rows.filter(grade_band__min_grade__lte=filters.grade, grade_band__max_grade__gte=filters.grade)
    return rows


# --- Lectures -----------------------------------------------------------------------------------------------------


def _lecture_rows(filters: Filters) -> QuerySet[LectureFigures]:
    """The lectures started in the period whose audience overlaps the place: one of its schools, a district of
    its schools, or their whole city."""
    schools = _place_schools(filters)
    rows = LectureFigures.objects.filter(day__gte=filters.start, day__lte=filters.end).filter(
        Q(school__in=schools)
        | Q(school__isnull=True, district__in=schools.values("district_id"))
        | Q(school__isnull=True, district__isnull=True, city__in=schools.values("district__city_id"))
    )
    return _of_subject_and_band(rows, filters)


def lecture_table(filters: Filters) -> Table:
    """Each lecture held in the period, in the order they started, with its live and replay audience; a lecture
    watched live by fewer than MIN_GROUP students shows only its day and title."""
    columns = metrics.LECTURES
    table = Table("lectures", _("Lectures and their audiences"), columns)
    for row in _lecture_rows(filters).select_related("lecture").order_by("day", "lecture__started_at", "pk"):
        cells = {
            "day": row.day,
            "title": row.lecture.title,
            "minutes": round(row.minutes),
            "signups": row.signups,
            "viewers": row.viewers,
            "peak": row.peak,
            "replay_viewers": row.replay_viewers,
            "replay_minutes": round(row.replay_seconds / 60),
        }
        table.rows.append(_row(columns, cells, suppressed=row.viewers < MIN_GROUP, names=2))
    return table


# --- Duty coverage and next week's staffing -----------------------------------------------------------------------


def _coverage_city(filters: Filters) -> int | None:
    """The city whose duty is counted: teachers serve a city's queue, so coverage is read for a whole city only
    (refused below it); None for a superuser's every city."""
    if filters.scope.district_id is not None or filters.scope.school_id is not None:
        raise _refused("coverage_below_city", _("Teachers on duty are counted for a whole city."), "district")
    if filters.district is not None or filters.school is not None:
        raise _refused("coverage_below_city", _("Teachers on duty are counted for a whole city."), "district")
    return filters.scope.city_id


def _city_shown(filters: Filters, table: Table) -> tuple[bool, int | None]:
    """Whether a table of a whole city's duty shows for the filters (else ``table`` says why not), and the city."""
    try:
        city = _coverage_city(filters)
    except ServiceError as refused:  # the reason is shown instead
        table.unavailable = refused.message
        return False, None
    table.suppressed = enrolled(filters) < MIN_GROUP
    return not table.suppressed, city


def _coverage_rows(filters: Filters, city: int | None, start: date, end: date) -> QuerySet[CoverageHour]:
    rows = CoverageHour.objects.filter(day__gte=start, day__lte=end)
    if city is not None:
        rows = rows.filter(city_id=city)
    return _of_subject_and_band(rows, filters)


def coverage_table(filters: Filters) -> Table:
    """For each hour of the day: the teacher-hours on duty in the period against the questions asked in that hour
    that were sent to a teacher, and their mean wait (the city's, or for the filters' subject and grade)."""
    columns = (metrics.HOUR, *metrics.COVERAGE)
    table = Table("coverage", _("Teachers on duty against questions, by hour"), columns)
    shown, city = _city_shown(filters, table)
    if not shown:
        return table
    duty = dict(
        _coverage_rows(filters, city, filters.start, filters.end)
        .values_list("hour")
        .annotate(Sum("teacher_seconds"))
        .order_by()
    )
    demand = {
        row["hour"]: row
        for row in _rows(filters, HourFigures)
        .values("hour")
        .annotate(sent=Sum("sent_to_teacher"), waited=Sum("wait_seconds"), accepted=Sum("accepted"))
        .order_by()
    }
    for hour in sorted(set(duty) | set(demand)):
        hours = (duty.get(hour) or 0.0) / 3600
        found = demand.get(hour, {"sent": 0, "waited": 0.0, "accepted": 0})
        cells = {
            "hour": f"{hour:02d}:00",
            "teacher_hours": round(hours, 2),
            "sent_to_teacher": found["sent"],
            "per_teacher_hour": round(found["sent"] / hours, 2) if hours else None,
            "wait_mean": round(found["waited"] / found["accepted"], 1) if found["accepted"] else None,
        }
        table.rows.append(_row(columns, cells, suppressed=False, names=1))
    return table


def next_week(today: date) -> tuple[date, date]:
    """The Monday after ``today`` and the Sunday after it."""
    monday = today + timedelta(days=8 - today.isoweekday())
    return monday, monday + timedelta(days=6)


def staffing_table(filters: Filters, *, today: date | None = None) -> Table:
    """Next week's shifts against the demand, per subject, grade band, weekday and hour: the teachers needed
    (``metrics.teachers_needed`` of the mean questions sent to a teacher in the same weekday and hour over the last
    STAFFING_WEEKS weeks) against the teacher-hours of the shifts scheduled; rows where either is above zero, and
    ``add`` the teachers to add (the suggestions)."""
    columns = metrics.STAFFING
    table = Table("staffing", _("Staffing for next week"), columns)
    shown, city = _city_shown(filters, table)
    if not shown:
        return table
    today = today or timezone.localdate()
    history = Filters(
        start=today - timedelta(weeks=metrics.STAFFING_WEEKS),
        end=today - timedelta(days=1),
        scope=filters.scope,
        subject=filters.subject,
        grade=filters.grade,
    )
    bands = list(GradeBand.objects.order_by("min_grade"))
    band_of = {grade: band for band in bands for grade in range(band.min_grade, band.max_grade + 1)}
    expected: defaultdict[tuple[int, int, int, int], float] = defaultdict(float)
    for subject, grade, weekday, hour, sent in (
        _rows(history, HourFigures)
        .values_list("subject", "grade", "weekday", "hour")
        .annotate(Sum("sent_to_teacher"))
        .order_by()
    ):
        if grade in band_of and sent:
            expected[(subject, band_of[grade].pk, weekday, hour)] += sent / metrics.STAFFING_WEEKS
    scheduled = _scheduled(filters, city, today)
    keys = set(expected) | set(scheduled)
    subjects = {subject.pk: subject for subject in Subject.objects.filter(pk__in={key[0] for key in keys})}
    names = {band.pk: band.name for band in bands}
    typical = {subject: answer_seconds_typical(subject) for subject in subjects}
    for key in sorted(keys, key=lambda key: (subjects[key[0]].name, key[1:])):
        subject, band, weekday, hour = key
        needed = teachers_needed(expected.get(key, 0.0), typical[subject])
        planned = round(scheduled.get(key, 0.0), 2)
        cells = {
            "subject": subjects[subject].name,
            "grade_band": names[band],
            "weekday": str(WEEKDAYS[weekday - 1]),
            "hour": f"{hour:02d}:00–{hour + 1:02d}:00",
            "expected": round(expected.get(key, 0.0), 2),
            "needed": needed,
            "scheduled": planned,
            "add": max(0, math.ceil(round(needed - planned, 9))),
        }
        table.rows.append(_row(columns, cells, suppressed=False, names=4))
    return table


def _scheduled(filters: Filters, city: int | None, today: date) -> dict[tuple[int, int, int, int], float]:
    """Teacher-hours of next week's shifts of the city (and the filters' subject and grade), by subject, grade
    band, weekday and local hour."""
    monday, sunday = next_week(today)
    start, end = day_bounds(monday)[0], day_bounds(sunday)[1]
    shifts = Shift.objects.filter(starts_at__lt=end, ends_at__gt=start)
    if city is not None:
        shifts = shifts.filter(city_id=city)
    shifts = _of_subject_and_band(shifts, filters)
    zone = timezone.get_current_timezone()
    hours: defaultdict[tuple[int, int, int, int], float] = defaultdict(float)
    for subject, band, starts_at, ends_at in shifts.values_list("subject", "grade_band", "starts_at", "ends_at"):
        moment = max(starts_at, start).astimezone(zone).replace(minute=0, second=0, microsecond=0)
        while moment < min(ends_at, end):
            following = moment + timedelta(hours=1)
            overlap = (min(ends_at, following, end) - max(starts_at, moment)).total_seconds()
            if overlap > 0:
                hours[(subject, band, moment.isoweekday(), moment.hour)] += overlap / 3600
            moment = following
    return hours


def engagement_table(filters: Filters, table: str) -> Table:
    """One of TABLES for the filters."""
    builders = {
        "participation": participation_table,
        "satisfaction": satisfaction_table,
        "comments": comments_table,
        "silent": silent_table,
        "lectures": lecture_table,
        "coverage": coverage_table,
        "staffing": staffing_table,
    }
    if table not in builders:
        raise _refused("unknown_table", _("Unknown table."), "table")
    return builders[table](filters)
