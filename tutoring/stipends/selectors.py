from datetime import date
from typing import Any

from django.db.models import Count, Q, Sum

from tutoring.accounts.models import User
from tutoring.stipends.models import LedgerLine


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
