"""Teaching-research staff read participation, satisfaction and its comments, silent schools, lectures, teachers on
duty against the questions and next week's staffing for the insights' filters, each column with its definition;
a small school's administrator sees no figure, and no page names a student."""

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.factories import StaffFactory, StudentFactory, TeacherFactory, school_administrator
from tests.frontend.conftest import page_errors
from tests.tutoring.insights.engagement_history import engagement_history
from tests.tutoring.insights.history import DAY, at
from tutoring.insights.rollups import insights_refresh

if TYPE_CHECKING:
    from tests.frontend.conftest import LiveStack

ON_DAY = {"from": "2026-11-02", "to": "2026-11-02"}


def built():
    history = engagement_history()
    insights_refresh(now=at(DAY + timedelta(days=3), 12))
    return history


@pytest.mark.django_db
def test_the_page_shows_each_table_with_its_definitions_and_the_comments_without_names(client):
    history = built()
    client.force_login(StaffFactory())

    page = client.get(reverse("frontend:insights-engagement"), ON_DAY)

    assert page.status_code == 200
    content = page.content.decode()
    tables = page.context["tables"]
    assert tables["participation"]["rows"][-1]["cells"] == ["全部", "全部", "22", "8", "36.4%", "9"]
    assert [row["cells"] for row in tables["satisfaction"]["rows"]] == [
        ["2026-11-02", "0", "0", "0", "1", "1", "2", "4.50", "1"]
    ]
    assert [row["cells"][:4] for row in tables["silent"]["rows"]] == [
        [history.silent_school.name, history.seeded.district.name, "5", "—"],
        [history.quiet_school.name, history.seeded.district.name, "5", "2026-10-23"],
    ]
    assert [row["cells"] for row in tables["lectures"]["rows"]][1] == [
        "2026-11-02", "分数的意义", "45", "3", "6", "5", "2", "7",
    ]  # fmt: skip
    assert [row["cells"] for row in tables["coverage"]["rows"]][3] == ["19:00", "0.50", "1", "2", "30 秒"]
    assert 'data-testid="comment">讲得很清楚，谢谢老师</p>' in content
    assert "在此期间至少提过一个问题的在册学生（每人只计一次）。" in content  # a definition beside its table
    assert "某小时需要的老师数 = ⌈该小时预计转给老师的问题数 × 典型解答时长（秒）÷ 3600 ÷ 0.8⌉" in content
    students = [*history.seeded.students, *history.older]
    assert not [name for name in (s.display_name for s in students) if re.search(f"{name}(?!\\d)", content)]
    assert 'href="/api/v1/insights/engagement/participation/export/csv?from=2026-11-02&amp;to=2026-11-02"' in content


@pytest.mark.django_db
def test_a_small_schools_administrator_sees_no_figure_and_no_comment(client):
    history = built()
    client.force_login(school_administrator(history.seeded.small_school))

    page = client.get(reverse("frontend:insights-engagement"), ON_DAY)

    content = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="participation-suppressed"' in content
    assert 'data-testid="comments"' not in content
    assert "讲得很清楚" not in content
    assert 'data-testid="coverage-unavailable">值班老师按整个城市统计。</p>' in content


@pytest.mark.django_db
def test_a_bad_filter_shows_its_reason_with_the_default_period(client):
    client.force_login(StaffFactory())

    page = client.get(reverse("frontend:insights-engagement"), {"from": "2026-11-03", "to": "2026-11-02"})

    assert page.status_code == 400
    assert 'data-testid="insights-error">时段的开始晚于结束。</p>' in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [StudentFactory, TeacherFactory])
def test_students_and_teachers_find_no_such_page(client, role):
    client.force_login(role())

    assert client.get(reverse("frontend:insights-engagement")).status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("device", ["phone", "laptop"])
def test_staff_open_participation_and_staffing_from_the_figures_and_export_a_table(
    live_stack: "LiveStack", device: str, request: pytest.FixtureRequest, sign_in: Callable[..., None]
) -> None:
    # Given a day of questions, ratings, duty and lectures, rolled up
    history = built()
    screen: Page = request.getfixturevalue(device)
    errors = page_errors(screen)

    # When a staff member opens the figures of that day, then participation, satisfaction and staffing
    sign_in(StaffFactory(), screen)
    screen.goto(f"{live_stack.url}/insights/?from=2026-11-02&to=2026-11-02")
    screen.click("[data-testid=insights-engagement-link]")

    # Then the tables of that day show, with the comment and the charts
    expect(screen.locator("[data-testid=table-participation] tbody tr").last).to_contain_text("36.4%")
    expect(screen.locator("[data-testid=rating-mean]")).to_have_text("4.50")
    expect(screen.locator("[data-testid=comment]")).to_have_text("讲得很清楚，谢谢老师")
    expect(screen.locator("[data-testid=table-silent] tbody tr")).to_have_count(2)
    expect(screen.locator("#trend-chart")).to_be_visible()
    expect(screen.locator("#hours-chart")).to_be_visible()

    # And the participation table downloads as CSV with the same filters
    with screen.expect_download() as download:
        screen.click("[data-testid=export-participation-csv]")
    rows = list(csv.reader(io.StringIO(download.value.path().read_bytes().decode("utf-8-sig"))))
    assert rows[-1] == ["全部", "全部", "22", "8", str(8 / 22), "9"]
    assert history.seeded.school.name in {row[0] for row in rows}
    assert errors == []
