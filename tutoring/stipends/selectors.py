from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db.models import Count, Q, Sum
from django.http import Http404

from tutoring.accounts.models import AdministratorProfile, User
from tutoring.schools.models import School
from tutoring.stipends.models import Adjustment, LedgerLine, SchoolMonth, Statement, StatementDay
from tutoring.stipends.pricing import class_hour_hundredths

SCHOOL_MONTHS_SHOWN = 60


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


def may_review(user: User, school: School) -> bool:
    """The school's administrators (its principal too) and the platform's superusers review a school's months."""
    if user.is_superuser:
        return True
    profile = AdministratorProfile.objects.filter(user=user).first()
    return profile is not None and profile.school_id == school.pk


def is_principal(user: User, school: School) -> bool:
    return AdministratorProfile.objects.filter(user=user, school=school, principal=True).exists()


def school_months_reviewed(user: User) -> list[SchoolMonth]:
    """The school months a user reviews, newest first: their school's; a superuser's, every school's."""
    months = SchoolMonth.objects.select_related("school").order_by("-month", "school__name")
    if user.is_superuser:
        return list(months[:SCHOOL_MONTHS_SHOWN])
    schools = AdministratorProfile.objects.filter(user=user, school__isnull=False).values("school_id")
    return list(months.filter(school_id__in=schools)[:SCHOOL_MONTHS_SHOWN])


def school_month_access(user: User, school_month_id: int) -> SchoolMonth:
    """A school month its reviewer may open; 404 for anyone else (its existence is not told)."""
    school_month = SchoolMonth.objects.select_related("school").filter(pk=school_month_id).first()
    if school_month is None or not may_review(user, school_month.school):
        raise Http404
    return school_month


def class_hours(statements: Iterable[Statement]) -> dict[int, int]:
    """Each statement's workload in hundredths of a class hour, by the class hour of each day's rule version."""
    days: dict[int, list[tuple[int, int]]] = {}
    for statement_id, duty_ms, session_ms, minutes in StatementDay.objects.filter(statement__in=statements).values_list(
        "statement_id", "duty_ms", "session_ms", "rule__class_hour_minutes"
    ):
        days.setdefault(statement_id, []).append((duty_ms + session_ms, minutes))
    return {statement_id: class_hour_hundredths(each) for statement_id, each in days.items()}


def school_month_rows(school_month: SchoolMonth) -> list[dict[str, Any]]:
    """Each teacher's statement of the school month with their adjustments, objections and flagged sessions."""
    statements = Statement.objects.filter(school=school_month.school, month=school_month.month).select_related(
        "teacher"
    )
    adjusted: dict[int, list[int]] = {}
    for teacher_id, amount, credit in Adjustment.objects.filter(
        school=school_month.school, month=school_month.month
    ).values_list("teacher_id", "amount_fen", "credit"):
        totals = adjusted.setdefault(teacher_id, [0, 0])
        totals[0] += amount
        totals[1] += credit
    objections = dict(
        school_month.objections.values("teacher_id").annotate(count=Count("id")).values_list("teacher_id", "count")
    )
    flagged = dict(
        StatementDay.objects.filter(statement__in=statements)
        .values("statement__teacher_id")
        .annotate(flagged=Sum("flagged"))
        .values_list("statement__teacher_id", "flagged")
    )
    hours = class_hours(statements)
    rows = []
    for statement in statements.order_by("teacher__display_name", "teacher__username"):
        amount, credit = adjusted.get(statement.teacher_id, [0, 0])
        rows.append(
            {
                "teacher": statement.teacher_id,
                "name": str(statement.teacher),
                "workload_ms": statement.workload_ms,
                "class_hours": hours.get(statement.pk, 0),
                "amount_fen": statement.amount_fen,
                "adjusted_fen": amount,
                "total_fen": statement.amount_fen + amount,
                "credit": statement.credit + credit,
                "flagged": flagged.get(statement.teacher_id) or 0,
                "objections": objections.get(statement.teacher_id, 0),
            }
        )
    return rows


def school_month_adjustments(school_month: SchoolMonth) -> list[Adjustment]:
    return list(
        Adjustment.objects.filter(school=school_month.school, month=school_month.month)
        .select_related("teacher", "author")
        .order_by("id")
    )


def teacher_statements(teacher: User) -> list[dict[str, Any]]:
    """A teacher's statements, newest first, each with its school month's status and the adjustments added."""
    statements = Statement.objects.filter(teacher=teacher).order_by("-month")
    status = dict(
        SchoolMonth.objects.filter(
            school_id__in={statement.school_id for statement in statements},
            month__in={statement.month for statement in statements},
        ).values_list("month", "status")
    )
    adjusted = dict(
        Adjustment.objects.filter(teacher=teacher)
        .values("month")
        .annotate(total=Sum("amount_fen"))
        .values_list("month", "total")
    )
    hours = class_hours(statements)
    return [
        {
            "statement": statement,
            "class_hours": hours.get(statement.pk, 0),
            "status": SchoolMonth.Status(status.get(statement.month, SchoolMonth.Status.DRAFT)),
            "total_fen": statement.amount_fen + (adjusted.get(statement.month) or 0),
        }
        for statement in statements
    ]


def teacher_statement(teacher: User, month: str) -> Statement:
    """The teacher's own statement of ``month`` (YYYY-MM); 404 when there is none."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise Http404 from None
    statement = Statement.objects.filter(teacher=teacher, month=first).select_related("school").first()
    if statement is None:
        raise Http404
    return statement
