"""The district-grain rollups (``DistrictDayFigures``, ``DistrictPointFigures``, ``DistrictDaySpread``): written
with the school rows, rebuilt with them, and every figure read from them the same as from the schools' rows."""

import io

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories import AdministratorFactory, StaffFactory, school_administrator
from tests.tutoring.insights.engagement_history import engagement_history
from tests.tutoring.insights.history import DAY, DAY_BEFORE, at, history
from tutoring.insights import selectors
from tutoring.insights.models import (
    DayFigures,
    DaySpread,
    DistrictDayFigures,
    DistrictDaySpread,
    DistrictPointFigures,
    PointFigures,
)
from tutoring.insights.rollups import COUNTED, insights_rebuild, insights_refresh
from tutoring.insights.selectors import BREAKDOWNS, insights_filters, insights_heatmap

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2026-11-01", "to": "2026-11-02"}
LATER = at(DAY.replace(day=5), 12)


def district_sums(model, keys: list[str], summed: list[str]) -> dict:
    """A school-grain rollup summed over each district, as the district-grain rows should hold it."""
    rows = model.objects.values("day", "school__district", *keys).annotate(**{f"sum_{c}": Sum(c) for c in summed})
    return {
        (row["day"], row["school__district"], *(row[key] for key in keys)): tuple(row[f"sum_{c}"] for c in summed)
        for row in rows
    }


def district_rows(model, keys: list[str], summed: list[str]) -> dict:
    return {
        (row["day"], row["district"], *(row[key] for key in keys)): tuple(row[column] for column in summed)
        for row in model.objects.values("day", "district", *keys, *summed)
    }


def assert_district_rows_are_the_sums_of_the_schools():
    for coarse, fine, keys, summed in (
        (DistrictDayFigures, DayFigures, ["subject", "grade"], COUNTED),
        (DistrictPointFigures, PointFigures, ["point", "grade"], COUNTED),
        (DistrictDaySpread, DaySpread, ["subject", "grade", "measure", "bucket"], ["count"]),
    ):
        assert district_rows(coarse, keys, summed) == district_sums(fine, keys, summed), coarse.__name__


def test_a_days_rollup_writes_each_districts_sums_of_its_schools_rows():
    seeded = history()

    insights_refresh()

    assert_district_rows_are_the_sums_of_the_schools()
    day = DistrictDayFigures.objects.get(day=DAY, district=seeded.district)
    assert (day.asked, day.answered, day.wait_seconds, day.rating_5) == (5, 2, 102.0, 1)
    assert DistrictDayFigures.objects.count() == 3  # the two districts on DAY, the seeded one on DAY_BEFORE
    assert sorted(DistrictDaySpread.objects.values_list("measure", "bucket", "count")) == [
        ("session", 14, 1), ("session", 15, 1), ("wait", 6, 1), ("wait", 11, 1),
    ]  # fmt: skip
    assert sorted(DistrictPointFigures.objects.values_list("district", "point", "asked")) == [
        (seeded.district.pk, seeded.point.pk, 2), (seeded.district.pk, seeded.other_point.pk, 1),
    ]  # fmt: skip


def test_a_rebuild_reproduces_the_district_rows_and_a_refresh_replaces_a_days_rows():
    history()
    insights_refresh()
    before = district_rows(DistrictDayFigures, ["subject", "grade"], COUNTED)
    DistrictDayFigures.objects.update(asked=99)
    DistrictPointFigures.objects.filter(day=DAY_BEFORE).delete()

    assert insights_rebuild() == [DAY_BEFORE, DAY]

    assert district_rows(DistrictDayFigures, ["subject", "grade"], COUNTED) == before
    assert_district_rows_are_the_sums_of_the_schools()


def responses(client, users, queries) -> list:
    found = []
    for user in users:
        client.force_login(user)
        for name, query in queries:
            response = client.get(reverse(name, args=[]) if "/" not in name else name, query)
            found.append((user.pk, name, query, response.status_code, content(response.content)))
        for query in ({**PERIOD, "subject": "math"}, {**PERIOD, "subject": "math", "grade": "3"}):
            filters = insights_filters(user=user, query=query)
            found.append((user.pk, "heatmap", query, insights_heatmap(filters)))
    return found


def content(body: bytes) -> object:
    """A response's body; a workbook's cells (its file holds the moment it was written)."""
    if not body.startswith(b"PK"):
        return body
    book = load_workbook(io.BytesIO(body))
    return [[list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets]


def fine_only(monkeypatch):
    """Every read from the school-grain rows, as before the district rows existed."""
    monkeypatch.setattr(selectors, "_by_district", lambda filters, by: False)


def figure_queries(seeded) -> list:
    point = {"subject": "math", "point": seeded.point.code}
    queries = []
    for extra in ({}, {"grade": "3"}, {"subject": "math"}, point, {"district": str(seeded.district.pk)}):
        queries.append(("insights:figures", {**PERIOD, **extra}))
        for by in BREAKDOWNS:
            queries.append(("insights:figures", {**PERIOD, **extra, "by": by}))
    queries.append((reverse("insights:export", args=["csv"]), {**PERIOD, "by": "district"}))
    queries.append((reverse("insights:export", args=["csv"]), {**PERIOD, "by": "day", **point}))
    queries.append((reverse("insights:export", args=["xlsx"]), {**PERIOD, "by": "grade"}))
    return queries


def test_every_figure_breakdown_heat_map_and_export_is_the_same_from_the_district_rows(client, monkeypatch):
    engaged = engagement_history()
    seeded = engaged.seeded
    insights_refresh(now=LATER)
    users = [
        AdministratorFactory(),
        StaffFactory(),
        StaffFactory(scope=seeded.district),
        school_administrator(seeded.school),
    ]
    queries = figure_queries(seeded)
    queries += [
        (reverse("insights:engagement", args=[table]), PERIOD)
        for table in ("participation", "satisfaction", "comments", "silent", "lectures", "coverage")
    ]
    queries.append((reverse("frontend:insights"), {**PERIOD, "subject": "math"}))
    with CaptureQueriesContext(connection) as read:
        coarse = responses(client, users, queries)
    assert any("insights_districtdayfigures" in query["sql"] for query in read.captured_queries)
    assert any("insights_districtpointfigures" in query["sql"] for query in read.captured_queries)
    assert any("insights_districtdayspread" in query["sql"] for query in read.captured_queries)
    fine_only(monkeypatch)

    with CaptureQueriesContext(connection) as read:
        fine = responses(client, users, queries)

    assert not any("insights_district" in query["sql"] for query in read.captured_queries)
    city_staff = [row[3] for row in coarse if row[0] == users[1].pk and row[1] != "heatmap"]
    assert city_staff == [200] * len(queries)
    pages = [number for number, row in enumerate(coarse) if row[1] == reverse("frontend:insights")]
    for number in pages:  # a page holds a fresh form token each time
        coarse[number], fine[number] = coarse[number][:4], fine[number][:4]
    assert coarse == fine


def test_a_school_filter_or_a_school_breakdown_reads_the_schools_rows(client):
    seeded = history()
    insights_refresh()
    staff = StaffFactory()
    client.force_login(staff)

    for query in ({**PERIOD, "school": str(seeded.school.pk)}, {**PERIOD, "by": "school"}):
        with CaptureQueriesContext(connection) as read:
            assert client.get(reverse("insights:figures"), query).status_code == 200
        tables = " ".join(captured["sql"] for captured in read.captured_queries)
        assert "insights_dayfigures" in tables and "insights_dayspread" in tables
        if "school" in query:
            assert "insights_district" not in tables

    client.force_login(school_administrator(seeded.school))
    with CaptureQueriesContext(connection) as read:
        assert client.get(reverse("insights:figures"), PERIOD).status_code == 200
    assert not any("insights_district" in captured["sql"] for captured in read.captured_queries)
