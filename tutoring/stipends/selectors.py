from datetime import date
from typing import Any

from django.db.models import Count, F, Q, Sum

from tutoring.accounts.models import User
from tutoring.schools.models import City, School
from tutoring.stipends.models import LedgerLine, Statement, StatementDay


def ledger_days(*, teacher: User, first: date, last: date) -> list[dict[str, Any]]:
    """The teacher's ledger day by day from ``first`` to ``last``: duty, sessions counted and their time, the
    students served (each once a day), sessions flagged, lectures and their audience, videos published, and
    the ratings (how many, and their sum, so that any mean is exact)."""
    lines = LedgerLine.objects.filter(teacher=teacher, day__gte=first, day__lte=last)
    session = Q(kind=LedgerLine.Kind.SESSION)
    counted = session & Q(flag=LedgerLine.Flag.NONE)
    days = (
        lines.values("day")
        .annotate(
            duty_ms=Sum("counted_ms", filter=Q(kind=LedgerLine.Kind.DUTY), default=0),
            sessions=Count("id", filter=counted),
            session_ms=Sum("counted_ms", filter=session, default=0),
            flagged=Count("id", filter=session & ~Q(flag=LedgerLine.Flag.NONE)),
            lectures=Count("id", filter=Q(kind=LedgerLine.Kind.LECTURE)),
            lecture_ms=Sum("counted_ms", filter=Q(kind=LedgerLine.Kind.LECTURE), default=0),
            audience=Sum("students", filter=Q(kind=LedgerLine.Kind.LECTURE), default=0),
            videos=Count("id", filter=Q(kind=LedgerLine.Kind.VIDEO)),
            ratings=Count("rating", filter=session),
            rating_sum=Sum("rating", filter=session, default=0),
        )
        .order_by("day")
    )
    served: dict[date, set[int]] = {}
    for day, details in lines.filter(counted).values_list("day", "details"):
        served.setdefault(day, set()).add(details["student"])
    return [{**row, "students": len(served.get(row["day"], ()))} for row in days]


# The figures of a statement's day that exports show (with ``class_hour_minutes``, its rule version's class hour).
STATEMENT_DAY_FIGURES = (
    "duty_ms",
    "session_ms",
    "sessions",
    "flagged",
    "students",
    "lectures",
    "audience",
    "videos",
    "helped",
    "ratings",
    "rating_sum",
    "time_fen",
    "session_fen",
    "lecture_fen",
    "credit",
)


def statement_list(*, school: School, month: date) -> list[Statement]:
    """The school's statements of the month (its first day), by teacher, with the teacher (for their name)."""
    return list(
        Statement.objects.filter(school=school, month=month)
        .select_related("teacher")
        .only("teacher__username", "teacher__display_name", "amount_fen", "quality")
        .order_by("teacher_id")
    )


def statement_day_list(*, school: School, month: date) -> list[dict[str, Any]]:
    """The days of the school's statements of the month, by statement and day: the statement, the day, its rule
    version, its figures (``STATEMENT_DAY_FIGURES``) and the minutes of a class hour in that version."""
    days = StatementDay.objects.filter(statement__school=school, statement__month=month).order_by("statement_id", "day")
    return list(
        days.values(
            "statement_id", "day", "rule_id", *STATEMENT_DAY_FIGURES, class_hour_minutes=F("rule__class_hour_minutes")
        )
    )


def stated_school_list(*, city: City, month: date) -> list[School]:
    """The city's schools with statements of the month, by district and name."""
    stated = Statement.objects.filter(month=month, school__district__city=city).values("school_id")
    return list(
        School.objects.filter(pk__in=stated).select_related("district").order_by("district__name", "name", "pk")
    )
