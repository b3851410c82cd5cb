"""Teaching-research staff read the figures of their city: filter by period, subject and breakdown, read each
figure's definition, and export the table; students and teachers find no such page."""

import csv
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.factories import StaffFactory, StudentFactory, TeacherFactory
from tests.frontend.conftest import page_errors
from tests.tutoring.insights.history import history
from tutoring.accounts.models import User
from tutoring.insights.rollups import insights_refresh

if TYPE_CHECKING:
    from tests.frontend.conftest import LiveStack

ON_DAY = {"from": "2026-11-02", "to": "2026-11-02"}


@pytest.mark.django_db
def test_the_page_shows_every_figure_with_its_definition_and_the_breakdown(client):
    seeded = history()
    insights_refresh()
    client.force_login(StaffFactory())

    page = client.get(reverse("frontend:insights"), {**ON_DAY, "by": "school"})

    content = page.content.decode()
    assert page.status_code == 200
    assert '<strong class="insights-value" data-testid="figure-asked">6</strong>' in content
    assert '<strong class="insights-value" data-testid="figure-match_rate">40.0%</strong>' in content
    assert '<strong class="insights-value" data-testid="figure-wait_p50">15 秒</strong>' in content
    assert "该时段内学生提交的问题，无论后来结果如何。" in content
    rows = [(row["label"], row["cells"][0]) for row in page.context["rows"]]
    assert sorted(rows) == sorted([(seeded.school.name, "5"), (seeded.small_school.name, "—")])


@pytest.mark.django_db
def test_a_bad_filter_shows_its_reason_and_the_default_period(client):
    client.force_login(StaffFactory())

    page = client.get(reverse("frontend:insights"), {"from": "2026-11-03", "to": "2026-11-02"})

    assert page.status_code == 400
    assert '<p class="field-error" role="alert" data-testid="insights-error">时段的开始晚于结束。</p>' in (
        page.content.decode()
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", [StudentFactory, TeacherFactory])
def test_students_and_teachers_find_no_figures(client, role):
    client.force_login(role())

    assert client.get(reverse("frontend:insights")).status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_staff_filter_the_figures_on_a_phone_and_export_the_table(
    live_stack: "LiveStack", phone: Page, sign_in: Callable[[User], None]
) -> None:
    # Given a day of questions in two schools, rolled up
    seeded = history()
    insights_refresh()
    errors = page_errors(phone)

    # When a staff member opens the figures from their home page and asks for that day by school
    sign_in(StaffFactory())
    phone.click("[data-testid=insights-link]")
    phone.fill("#filter-from", "2026-11-02")
    phone.fill("#filter-to", "2026-11-02")
    phone.select_option("#filter-subject", "math")
    phone.select_option("#filter-by", "school")
    phone.click("[data-testid=insights-apply]")

    # Then every figure of the day shows, each with its definition, and the schools' table
    expect(phone.locator("[data-testid=figure-asked]")).to_have_text("6")
    expect(phone.locator("[data-testid=figure-answered]")).to_have_text("2")
    expect(phone.locator("[data-testid=figure-rating_mean]")).to_have_text("5.00")
    phone.locator("[data-code=deflection] summary").click()
    expect(phone.locator("[data-code=deflection] details p")).to_have_text(
        "看已解答题目后解决的问题占已识别问题的比例。"
    )
    table = phone.locator("[data-testid=insights-breakdown] tbody tr")
    expect(table).to_have_count(2)
    expect(phone.locator("#trend-chart")).to_be_visible()

    # And the table downloads as CSV, with the same filters
    with phone.expect_download() as download:
        phone.click("[data-testid=export-csv]")
    content = download.value.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:3] == ["学校", "提问数", "文字提问"]
    assert sorted(row[:2] for row in rows[1:]) == sorted([[seeded.school.name, "5"], [seeded.small_school.name, ""]])
    assert errors == []
