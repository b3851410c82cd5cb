"""The insights requests the bench times (inside a Django process set up on the bench's database): every page,
API and export of the insights URLs, as a city's teaching-research staff member, a district's administrator and a
school's administrator, through Django's test client (the whole request: middleware, view, selectors, template)."""

import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.test import Client
from django.urls import NoReverseMatch, reverse

from tutoring.accounts.models import AdministratorProfile, StaffProfile, User
from tutoring.insights.selectors import BREAKDOWNS
from tutoring.schools.models import City, District, School

TARGET_MS = 500


@dataclass(frozen=True)
class Viewer:
    name: str
    user: User


@dataclass(frozen=True)
class Request:
    name: str
    path: str


def viewers() -> list[Viewer]:
    """The city's staff member, district 1's administrator and school 1's administrator (made once)."""
    city, district, school = City.objects.get(pk=1), District.objects.get(pk=1), School.objects.get(pk=1)
    staff, _ = User.objects.get_or_create(username="bench-staff", defaults={"role": User.Role.STAFF})
    StaffProfile.objects.get_or_create(user=staff, defaults={"city": city})
    district_admin, _ = User.objects.get_or_create(
        username="bench-district", defaults={"role": User.Role.ADMINISTRATOR}
    )
    AdministratorProfile.objects.get_or_create(user=district_admin, defaults={"city": city, "district": district})
    school_admin, _ = User.objects.get_or_create(username="bench-school", defaults={"role": User.Role.ADMINISTRATOR})
    AdministratorProfile.objects.get_or_create(
        user=school_admin, defaults={"city": city, "district": district, "school": school}
    )
    return [
        Viewer("city staff", staff),
        Viewer("district administrator", district_admin),
        Viewer("school administrator", school_admin),
    ]


def requests(end: date, point: str) -> list[Request]:
    """Each insights request, the periods ending on ``end`` (the last seeded day, today); those of pages or
    endpoints that do not exist (yet) are left out."""

    def period(days: int) -> str:
        return f"from={end - timedelta(days=days - 1)}&to={end}"

    quarter, year = period(90), period(366)
    wanted: list[tuple[str, str, dict[str, str], str]] = [
        ("page, last 7 days (default)", "frontend:insights", {}, ""),
        ("page, 90 days", "frontend:insights", {}, quarter),
        ("page, 366 days", "frontend:insights", {}, year),
        *((f"page, 90 days by {by}", "frontend:insights", {}, f"{quarter}&by={by}") for by in BREAKDOWNS),
        ("page, 366 days by point", "frontend:insights", {}, f"{year}&by=point"),
        ("page, math: heat map, 90 days", "frontend:insights", {}, f"{quarter}&subject=math"),
        ("page, a knowledge point, 90 days", "frontend:insights", {}, f"{quarter}&subject=math&point={point}"),
        ("API figures, 90 days by school", "insights:figures", {}, f"{quarter}&by=school"),
        ("API figures, 366 days", "insights:figures", {}, year),
        ("CSV export, 90 days by school", "insights:export", {"file_format": "csv"}, f"{quarter}&by=school"),
        ("XLSX export, 366 days by day", "insights:export", {"file_format": "xlsx"}, f"{year}&by=day"),
        ("drill-down: answered, last 7 days, page 1", "frontend:insights-questions", {}, "figure=answered"),
        ("drill-down: math asked, 90 days, page 1", "frontend:insights-questions", {}, f"{quarter}&subject=math"),
        ("engagement page, 90 days", "frontend:insights-engagement", {}, quarter),
        *(
            (f"engagement API {table}, 90 days", "insights:engagement", {"table": table}, quarter)
            for table in ("participation", "satisfaction", "comments", "silent", "lectures", "coverage", "staffing")
        ),
        ("live page", "frontend:insights-live", {}, ""),
        ("clusters page (latest week)", "frontend:insights-clusters", {}, ""),
        ("clusters CSV export", "insights:clusters-export", {"file_format": "csv"}, ""),
    ]
    listed = []
    for name, url_name, arguments, query in wanted:
        try:
            path = reverse(url_name, kwargs=arguments)
        except NoReverseMatch:
            continue
        listed.append(Request(name, f"{path}?{query}" if query else path))
    return listed


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def timed(viewer: Viewer, request: Request, *, runs: int, budget_seconds: float) -> dict[str, Any]:
    """One warm-up, then ``runs`` timed requests (fewer when they take more than ``budget_seconds`` in all, but
    at least 3)."""
    client = Client()
    client.force_login(viewer.user)
    response = client.get(request.path)
    statuses = {response.status_code}
    size = len(response.content)
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < runs and (len(times) < 3 or time.perf_counter() - started < budget_seconds):
        before = time.perf_counter()
        response = client.get(request.path)
        times.append((time.perf_counter() - before) * 1000)
        statuses.add(response.status_code)
    return {
        "viewer": viewer.name,
        "request": request.name,
        "status": "/".join(str(status) for status in sorted(statuses)),
        "bytes": size,
        "runs": len(times),
        "p50": statistics.median(times),
        "p99": percentile(times, 0.99),
    }
