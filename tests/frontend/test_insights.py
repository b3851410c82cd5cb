"""Teaching-research staff read the figures of their city: filter by period, subject and breakdown, read each
figure's definition, and export the table; students and teachers find no such page."""

import csv
import io
import re
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
    shown = dict(re.findall(r'data-testid="figure-(\w+)"[^>]*>([^<]*)<', content))
    assert page.status_code == 200
    assert (shown["asked"], shown["match_rate"], shown["wait_p50"], shown["session_mean"]) == (
        "6", "40.0%", "15 秒", "7.5 分钟",
    )  # fmt: skip
    assert "该时段内学生提交的问题，无论后来结果如何。" in content
    assert "请选择学科，按学校比较其知识点。" in content  # the heat map needs a subject
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
    assert client.get(reverse("frontend:insights-questions")).status_code == 404


@pytest.mark.django_db
def test_a_figure_and_a_breakdown_row_lead_to_the_questions_behind_them(client):
    seeded = history()
    insights_refresh()
    client.force_login(StaffFactory())

    figures = client.get(reverse("frontend:insights"), {**ON_DAY, "by": "school"})
    behind = client.get(reverse("frontend:insights-questions"), {**ON_DAY, "figure": "answered"})
    row = next(row for row in figures.context["rows"] if row["key"] == seeded.school.pk)
    school = client.get(f"{reverse('frontend:insights-questions')}?{row['drill']}")

    assert 'href="/insights/questions/?from=2026-11-02&amp;to=2026-11-02&amp;by=school&amp;figure=answered"' in (
        figures.content.decode()
    )
    assert [question.pk for question in behind.context["page"].object_list] == [
        seeded.questions["unrated"].pk, seeded.questions["rated"].pk,
    ]  # fmt: skip
    assert behind.context["figure"].code == "answered"
    content = behind.content.decode()
    assert "2026-11-02 至 2026-11-02：2 个问题" in content
    assert all(student.first_name not in content for student in seeded.students if student.first_name)
    assert school.context["page"].paginator.count == 5
    assert [row["drill"] for row in figures.context["rows"] if row["key"] == seeded.small_school.pk] == [None]


@pytest.mark.django_db
def test_an_unknown_figure_is_refused_in_chinese(client):
    client.force_login(StaffFactory())

    page = client.get(reverse("frontend:insights-questions"), {"figure": "colour"})

    assert page.status_code == 400
    assert '<p class="field-error" role="alert" data-testid="insights-error">未知的指标。</p>' in page.content.decode()


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
    heat = phone.locator("[data-testid=insights-heatmap] tbody tr", has_text=seeded.school.name)
    expect(heat.locator("td")).to_have_text(["40%", "20%"])  # its share of 减法 and 应用题

    # And the number answered leads to the two questions behind it, and back
    phone.click("[data-testid=figure-answered]")
    expect(phone.locator("[data-testid=drill-title]")).to_have_text("老师已解答")
    expect(phone.locator("[data-testid=drill-questions] > li")).to_have_count(2)
    phone.click(".back-link")
    expect(phone.locator("[data-testid=figure-asked]")).to_have_text("6")

    # And the table downloads as CSV, with the same filters
    with phone.expect_download() as download:
        phone.click("[data-testid=export-csv]")
    content = download.value.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:3] == ["学校", "提问数", "文字提问"]
    assert sorted(row[:2] for row in rows[1:]) == sorted([[seeded.school.name, "5"], [seeded.small_school.name, ""]])
    assert errors == []
