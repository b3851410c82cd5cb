"""The district- and city-grain rollups (``rollups.COARSER``): written with the school rows, rebuilt with them,
and every figure read from them the same as from the schools' rows."""

import io
import re

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories import (
    AdministratorFactory,
    CityFactory,
    SchoolFactory,
    StaffFactory,
    StudentFactory,
    school_administrator,
)
from tests.tutoring.insights.engagement_history import engagement_history
from tests.tutoring.insights.history import DAY, DAY_BEFORE, at, history
from tutoring.accounts.models import StaffProfile
from tutoring.insights import selectors
from tutoring.insights.models import (
    CityDayFigures,
    CityDaySpread,
    CityHourFigures,
    CityPointFigures,
    DistrictDayFigures,
    DistrictDaySpread,
    DistrictPointFigures,
)
from tutoring.insights.rollups import COARSER, insights_rebuild, insights_refresh
from tutoring.insights.selectors import BREAKDOWNS, insights_filters, insights_heatmap

pytestmark = pytest.mark.django_db

CITY_ROLLUPS = (CityDayFigures, CityDaySpread, CityHourFigures, CityPointFigures)

PERIOD = {"from": "2026-11-01", "to": "2026-11-02"}
LATER = at(DAY.replace(day=5), 12)


def coarse_sums(how) -> dict:
    """A finer rollup summed over each district (or city), as the coarser rows should hold it."""
    parent = how.parent.removesuffix("_id")
    place = f"{how.place._meta.model_name}__{parent}"
    rows = how.fine.objects.values("day", place, *how.keys).annotate(**{f"sum_{c}": Sum(c) for c in how.summed})
    return {
        (row["day"], row[place], *(row[key] for key in how.keys)): tuple(row[f"sum_{c}"] for c in how.summed)
        for row in rows
    }


def coarse_rows(model) -> dict:
    how = COARSER[model]
    return {
        (row["day"], row[how.parent], *(row[key] for key in how.keys)): tuple(row[column] for column in how.summed)
        for row in model.objects.values("day", how.parent, *how.keys, *how.summed)
    }


def assert_coarser_rows_are_the_sums_of_the_finer():
    assert len(COARSER) == 7
    for model, how in COARSER.items():
        assert coarse_rows(model) == coarse_sums(how), model.__name__


def test_a_days_rollup_writes_each_districts_and_citys_sums_of_the_finer_rows():
    seeded = history()

    insights_refresh()

    assert_coarser_rows_are_the_sums_of_the_finer()
    day = DistrictDayFigures.objects.get(day=DAY, district=seeded.district)
    assert (day.asked, day.answered, day.wait_seconds, day.rating_5) == (5, 2, 102.0, 1)
    assert DistrictDayFigures.objects.count() == 3  # the two districts on DAY, the seeded one on DAY_BEFORE
    assert sorted(DistrictDaySpread.objects.values_list("measure", "bucket", "count")) == [
        ("session", 14, 1), ("session", 15, 1), ("wait", 6, 1), ("wait", 11, 1),
    ]  # fmt: skip
    assert sorted(DistrictPointFigures.objects.values_list("district", "point", "asked")) == [
        (seeded.district.pk, seeded.point.pk, 2), (seeded.district.pk, seeded.other_point.pk, 1),
    ]  # fmt: skip
    city = CityDayFigures.objects.get(day=DAY, city=seeded.district.city)
    assert (city.asked, city.answered, city.wait_seconds, city.rating_5) == (6, 2, 102.0, 1)
    assert CityDayFigures.objects.count() == 2  # both districts are in the one city
    assert sorted(CityDaySpread.objects.values_list("measure", "bucket", "count")) == [
        ("session", 14, 1), ("session", 15, 1), ("wait", 6, 1), ("wait", 11, 1),
    ]  # fmt: skip
    assert sorted(CityPointFigures.objects.values_list("city", "point", "asked")) == [
        (seeded.district.city_id, seeded.point.pk, 2), (seeded.district.city_id, seeded.other_point.pk, 1),
    ]  # fmt: skip
    assert sorted(
        CityHourFigures.objects.filter(city=seeded.district.city).values_list("day", "hour", "weekday", "asked")
    ) == [(DAY_BEFORE, 19, 7, 1), (DAY, 9, 1, 1), (DAY, 20, 1, 3), (DAY, 21, 1, 2)]


def test_a_rebuild_reproduces_the_coarser_rows_and_a_refresh_replaces_a_days_rows():
    history()
    insights_refresh()
    before = [coarse_rows(model) for model in COARSER]
    DistrictDayFigures.objects.update(asked=99)
    CityHourFigures.objects.update(answered=99)
    DistrictPointFigures.objects.filter(day=DAY_BEFORE).delete()
    CityDaySpread.objects.filter(day=DAY).delete()

    assert insights_rebuild() == [DAY_BEFORE, DAY]

    assert [coarse_rows(model) for model in COARSER] == before
    assert_coarser_rows_are_the_sums_of_the_finer()


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
    """Every read from the school-grain rows (the district's, for hours), as before the coarser rows existed."""
    monkeypatch.setattr(selectors, "_grain", lambda filters, by: "school")


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


def test_every_figure_breakdown_heat_map_and_export_is_the_same_from_the_coarser_rows(client, monkeypatch):
    engaged = engagement_history()
    seeded = engaged.seeded
    insights_refresh(now=LATER)
    users = [
        AdministratorFactory(),
        StaffFactory(),  # of the city all the factories' districts are in
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
    read_tables = " ".join(query["sql"] for query in read.captured_queries)
    for model in COARSER:
        assert model._meta.db_table in read_tables, model.__name__
    fine_only(monkeypatch)

    with CaptureQueriesContext(connection) as read:
        fine = responses(client, users, queries)

    assert not any(
        "insights_district" in query["sql"] or "insights_city" in query["sql"] for query in read.captured_queries
    )
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
    assert not any(
        "insights_district" in captured["sql"] or "insights_city" in captured["sql"]
        for captured in read.captured_queries
    )


def asked(response) -> float | None:
    return {figure["code"]: figure["value"] for figure in response.json()["figures"]}["asked"]


def test_a_whole_citys_figures_read_only_the_rows_of_that_city(client):
    seeded = history()
    insights_refresh()
    queries = (PERIOD, {**PERIOD, "by": "hour"}, {**PERIOD, "subject": "math", "point": seeded.point.code})
    client.force_login(StaffFactory())  # of the city all the history's districts are in

    for query in queries:
        with CaptureQueriesContext(connection) as read:
            response = client.get(reverse("insights:figures"), query)
        assert response.status_code == 200
        sql = " ".join(captured["sql"] for captured in read.captured_queries)
        tables = set(re.findall(r'"(insights_\w+)"', sql))
        assert "insights_citydayfigures" in tables or "insights_citypointfigures" in tables
        assert tables <= {model._meta.db_table for model in CITY_ROLLUPS}, query
    assert asked(response) == 2

    other_city = CityFactory(name="丽水市")
    StudentFactory.create_batch(5, profile__school=SchoolFactory(district__city=other_city), profile__grade=3)
    staff = StaffFactory()
    StaffProfile.objects.filter(user=staff).update(city=other_city)
    client.force_login(staff)
    assert [asked(client.get(reverse("insights:figures"), query)) for query in queries] == [0, 0, 0]
