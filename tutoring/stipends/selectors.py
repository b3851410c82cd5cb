from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from tutoring.accounts.models import AdministratorProfile, User
from tutoring.routing.models import RoutingFact
from tutoring.schools.models import City, School
from tutoring.stipends import pricing
from tutoring.stipends.counting import day_bounds
from tutoring.stipends.models import Adjustment, LedgerLine, SchoolMonth, Statement, StatementDay

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


def class_hours(statements: Iterable[Statement]) -> dict[int, Fraction]:
    """Each statement's workload in class hours, exactly, by the class hour of each day's rule version."""
    days: dict[int, list[tuple[int, int]]] = {}
    for statement_id, duty_ms, session_ms, minutes in StatementDay.objects.filter(statement__in=statements).values_list(
        "statement_id", "duty_ms", "session_ms", "rule__class_hour_minutes"
    ):
        days.setdefault(statement_id, []).append((duty_ms + session_ms, minutes))
    return {statement_id: pricing.class_hours(each) for statement_id, each in days.items()}


def school_month_rows(school_month: SchoolMonth) -> list[dict[str, Any]]:
    """Each teacher's statement of the school month with their adjustments, objections and flagged sessions."""
    statements = Statement.objects.filter(school=school_month.school, month=school_month.month).select_related(
        "teacher"
    )
    adjusted = adjustment_totals(school=school_month.school, month=school_month.month)
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
        amount, credit = adjusted.get(statement.teacher_id, (0, 0))
        rows.append(
            {
                "teacher": statement.teacher_id,
                "name": str(statement.teacher),
                "workload_ms": statement.workload_ms,
                "class_hours": pricing.rounded(hours.get(statement.pk, Fraction(0))),
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
    """A teacher's statements, newest first, each with its school month's status and, with their corrections,
    the amount and credit."""
    statements = Statement.objects.filter(teacher=teacher).order_by("-month")
    status = {
        (school_month.school_id, school_month.month): school_month.status
        for school_month in SchoolMonth.objects.filter(
            school_id__in={statement.school_id for statement in statements},
            month__in={statement.month for statement in statements},
        ).only("school_id", "month", "status")
    }
    adjusted = {
        (school, month): (fen, credit)
        for school, month, fen, credit in Adjustment.objects.filter(teacher=teacher)
        .values("school_id", "month")
        .annotate(fen=Sum("amount_fen"), credit=Sum("credit"))
        .values_list("school_id", "month", "fen", "credit")
    }
    hours = class_hours(statements)
    rows = []
    for statement in statements:
        fen, credit = adjusted.get((statement.school_id, statement.month), (0, 0))
        rows.append(
            {
                "statement": statement,
                "class_hours": pricing.rounded(hours.get(statement.pk, Fraction(0))),
                "status": SchoolMonth.Status(
                    status.get((statement.school_id, statement.month), SchoolMonth.Status.DRAFT)
                ),
                "total_fen": statement.amount_fen + fen,
                "credit": statement.credit + credit,
            }
        )
    return rows


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


# --- Flags for reviewers: never money by themselves; a reviewer decides, by an adjustment ---------------

SHORT_REPEATED = 3  # short sessions with one student in a month
OFFERS_EXPIRED = 5  # offers left to expire in a month
RATINGS_ONE_STUDENT = 3  # ratings from one student, when they are at least half of the teacher's
FAR_ABOVE_PEERS = 3  # times the median workload of the month's statements
PEERS_NEEDED = 5  # statements in the month before "far above peers" means anything


def school_month_flags(school_month: SchoolMonth) -> dict[int, list[dict[str, Any]]]:
    """What a reviewer should look at, by teacher: sessions with no activity of the teacher, short sessions
    repeated with one student, offers left to expire while on duty, ratings mostly from one student, and a
    workload far above the month's median."""
    month = school_month.month
    last = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    teachers = set(
        Statement.objects.filter(school=school_month.school, month=month).values_list("teacher_id", flat=True)
    )
    flags: dict[int, list[dict[str, Any]]] = {teacher: [] for teacher in teachers}
    sessions = LedgerLine.objects.filter(
        teacher_id__in=teachers, day__gte=month, day__lte=last, kind=LedgerLine.Kind.SESSION
    )
    idle = Counter(sessions.filter(flag=LedgerLine.Flag.NO_TEACHER_ACTIVITY).values_list("teacher_id", flat=True))
    short = Counter(
        (teacher, details.get("student"))
        for teacher, details in sessions.filter(flag=LedgerLine.Flag.SHORT).values_list("teacher_id", "details")
    )
    ratings: dict[int, Counter[int]] = defaultdict(Counter)
    for teacher, details in sessions.filter(rating__isnull=False).values_list("teacher_id", "details"):
        ratings[teacher][details.get("student")] += 1
    bounds = day_bounds(month, timezone.get_current_timezone())[0], day_bounds(last, timezone.get_current_timezone())[1]
    expired = Counter(
        RoutingFact.objects.filter(
            kind=RoutingFact.Kind.EXPIRED, teacher_id__in=teachers, at__gte=bounds[0], at__lt=bounds[1]
        ).values_list("teacher_id", flat=True)
    )
    workloads = sorted(Statement.objects.filter(month=month).values_list("workload_ms", flat=True))
    median = workloads[len(workloads) // 2] if len(workloads) >= PEERS_NEEDED else None
    for statement in Statement.objects.filter(school=school_month.school, month=month):
        teacher = statement.teacher_id
        if idle[teacher]:
            flags[teacher].append({"code": "no_activity", "count": idle[teacher]})
        repeated = sum(count for (who, _), count in short.items() if who == teacher and count >= SHORT_REPEATED)
        if repeated:
            flags[teacher].append({"code": "short_repeated", "count": repeated})
        if expired[teacher] >= OFFERS_EXPIRED:
            flags[teacher].append({"code": "offers_expired", "count": expired[teacher]})
        top = ratings[teacher].most_common(1)
        if top and top[0][1] >= RATINGS_ONE_STUDENT and 2 * top[0][1] >= sum(ratings[teacher].values()):
            flags[teacher].append({"code": "ratings_one_student", "count": top[0][1]})
        if median and statement.workload_ms > FAR_ABOVE_PEERS * median:
            flags[teacher].append({"code": "far_above_peers", "count": statement.workload_ms // median})
    return flags


def schools_overseen(user: User) -> QuerySet[School] | None:
    """The schools whose totals a district's or the city's administrator reads (a superuser: all); None for
    anyone else."""
    if user.is_superuser:
        return School.objects.all()
    profile = AdministratorProfile.objects.filter(user=user, school__isnull=True).first()
    if profile is None:
        return None
    if profile.district_id:
        return School.objects.filter(district_id=profile.district_id)
    return School.objects.filter(district__city_id=profile.city_id)


def school_totals(schools: QuerySet[School], month: date) -> list[dict[str, Any]]:
    """Per school of ``schools`` with statements in ``month``: its status, teachers, workload, the amount to pay
    (adjustments included) and credit, school by school in name order; no student anywhere."""
    statements = Statement.objects.filter(month=month, school__in=schools)
    totals = {
        row["school_id"]: row
        for row in statements.values("school_id").annotate(
            teachers=Count("id"), workload_ms=Sum("workload_ms"), amount_fen=Sum("amount_fen"), credit=Sum("credit")
        )
    }
    adjusted = dict(
        Adjustment.objects.filter(month=month, school__in=schools)
        .values("school_id")
        .annotate(total=Sum("amount_fen"))
        .values_list("school_id", "total")
    )
    status = dict(SchoolMonth.objects.filter(month=month, school__in=schools).values_list("school_id", "status"))
    return [
        {
            "school": school,
            "status": SchoolMonth.Status(status.get(school.pk, SchoolMonth.Status.DRAFT)),
            "teachers": totals[school.pk]["teachers"],
            "workload_ms": totals[school.pk]["workload_ms"],
            "total_fen": totals[school.pk]["amount_fen"] + (adjusted.get(school.pk) or 0),
            "credit": totals[school.pk]["credit"],
        }
        for school in schools.filter(pk__in=totals).order_by("name")
    ]


def stated_months(schools: QuerySet[School]) -> list[date]:
    """The months with statements of ``schools``, newest first."""
    months = Statement.objects.filter(school__in=schools).values_list("month", flat=True).distinct()
    return sorted(months, reverse=True)


def term_months(month: date) -> list[date]:
    """The months of the school term ``month`` is in: the autumn term from September to January, the spring term
    from February to August (its summer months simply hold no work)."""
    first = month.replace(day=1)
    if first.month >= 9 or first.month == 1:
        start = date(first.year if first.month >= 9 else first.year - 1, 9, 1)
        count = 5
    else:
        start, count = date(first.year, 2, 1), 7
    months = [start]
    for _ in range(count - 1):
        months.append((months[-1] + timedelta(days=31)).replace(day=1))
    return months


def teacher_term(teacher: User, month: date) -> dict[str, Any]:
    """The teacher's term so far, the months stated added up: workload, class hours, the amount with its
    adjustments, credit."""
    months = term_months(month)
    statements = list(Statement.objects.filter(teacher=teacher, month__in=months))
    adjusted = Adjustment.objects.filter(teacher=teacher, month__in=months).aggregate(
        fen=Sum("amount_fen", default=0), credit=Sum("credit", default=0)
    )
    hours = class_hours(statements)
    return {
        "first": months[0],
        "last": months[-1],
        "months": len(statements),
        "workload_ms": sum(statement.workload_ms for statement in statements),
        "class_hours": pricing.rounded(sum(hours.values(), Fraction(0))),
        "total_fen": sum(statement.amount_fen for statement in statements) + adjusted["fen"],
        "credit": sum(statement.credit for statement in statements) + adjusted["credit"],
    }


# The figures of a statement's day that exports show (with ``class_hour_minutes``, its rule version's class hour).
STATEMENT_DAY_FIGURES = (*(key for key in pricing.DAY_FIGURES if key != "good_ratings"), *pricing.PRICED)


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


def adjustment_totals(*, school: School, month: date) -> dict[int, tuple[int, int]]:
    """Each teacher's corrections of the school's month added up: (fen, credit points)."""
    rows = (
        Adjustment.objects.filter(school=school, month=month)
        .values("teacher_id")
        .annotate(fen=Sum("amount_fen"), credit=Sum("credit"))
        .values_list("teacher_id", "fen", "credit")
    )
    return {teacher: (fen, credit) for teacher, fen, credit in rows}


PUBLISHED = (SchoolMonth.Status.PUBLICIZED, SchoolMonth.Status.APPROVED, SchoolMonth.Status.LOCKED)


def school_month_exportable(user: User, school_month_id: int, file_format: str) -> SchoolMonth:
    """A school month ``user`` may export as ``file_format``: its reviewers and the administrators over its
    district or city, every format; a teacher with a statement in it, its published notice (PDF) only. 404 for
    anyone else."""
    school_month = SchoolMonth.objects.select_related("school__district").filter(pk=school_month_id).first()
    if school_month is None:
        raise Http404
    overseen = schools_overseen(user)
    if may_review(user, school_month.school) or (
        overseen is not None and overseen.filter(pk=school_month.school_id).exists()
    ):
        return school_month
    if (
        file_format == "pdf"
        and school_month.status in PUBLISHED
        and Statement.objects.filter(school=school_month.school, month=school_month.month, teacher=user).exists()
    ):
        return school_month
    raise Http404
