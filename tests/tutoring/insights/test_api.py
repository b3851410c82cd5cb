import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories import (
    AdministratorFactory,
    DistrictFactory,
    StaffFactory,
    StudentFactory,
    TeacherFactory,
    UserFactory,
    school_administrator,
)
from tests.tutoring.insights.history import DAY, history
from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.insights.metrics import FIGURES
from tutoring.insights.models import DayFigures
from tutoring.insights.rollups import insights_refresh
from tutoring.insights.selectors import insights_filters, insights_heatmap, insights_questions

pytestmark = pytest.mark.django_db

ON_DAY = {"from": "2026-11-02", "to": "2026-11-02"}


def seeded():
    history_ = history()
    insights_refresh()
    return history_


def figures(client, user, **query) -> tuple[int, dict]:
    client.force_login(user)
    response = client.get(reverse("insights:figures"), query)
    return response.status_code, response.json()


def values(body: dict, key: str = "value") -> dict:
    return {figure["code"]: figure[key] for figure in body["figures"]}


def test_staff_read_every_figure_of_their_city_with_the_period_before(client):
    seeded()

    status, body = figures(client, StaffFactory(), **ON_DAY)

    assert status == 200
    assert body["filters"] == {
        "from": "2026-11-02", "to": "2026-11-02", "district": None, "school": None, "subject": None, "grade": None,
        "point": None,
    }  # fmt: skip
    assert body["suppressed"] is False
    assert values(body) == {
        "asked": 6, "by_text": 4, "by_photo": 1, "by_voice": 1, "understood": 5, "matched_same": 1,
        "matched_similar": 1, "matched_none": 3, "match_rate": 0.4, "solved_by_library": 1, "deflection": 0.2,
        "sent_to_teacher": 3, "answered": 2, "cancelled": 1, "answer_rate": 2 / 3, "wait_p50": 15, "wait_p90": 90,
        "wait_mean": 51.0, "sessions": 2, "session_p50": 300, "session_mean": 450.0, "rated": 1, "rating_mean": 5.0,
    }  # fmt: skip
    previous = values(body, "previous")
    assert (previous["asked"], previous["solved_by_library"], previous["wait_p50"]) == (1, 1, None)
    assert [(figure["label"], figure["unit"]) for figure in body["figures"][:2]] == [
        ("提问数", "count"), ("文字提问", "count"),
    ]  # fmt: skip
    assert all(figure["definition"] for figure in body["figures"])


def test_a_knowledge_point_filters_to_its_questions(client):
    seeded_ = seeded()

    _, body = figures(client, StaffFactory(), **ON_DAY, subject="math", point=seeded_.point.code)

    found = values(body)
    assert (found["asked"], found["answered"], found["wait_mean"], found["wait_p50"]) == (2, 2, 51.0, None)


def test_a_breakdown_by_school_shows_no_figure_for_a_school_of_fewer_than_five_students(client):
    seeded_ = seeded()

    _, body = figures(client, StaffFactory(), **ON_DAY, by="school")

    rows = {row["label"]: (row["suppressed"], row["values"]["asked"]) for row in body["breakdown"]["rows"]}
    assert rows == {seeded_.school.name: (False, 5), seeded_.small_school.name: (True, None)}


@pytest.mark.parametrize(
    ("by", "rows"),
    [
        ("hour", [("09:00", 1), ("20:00", 3), ("21:00", 2)]),
        ("weekday", [("星期一", 6)]),
        ("grade", [("3年级", 6)]),
        ("subject", [("数学", 6)]),
        ("day", [("2026-11-02", 6)]),
    ],
)
def test_a_breakdown_counts_each_value_of_its_dimension(client, by, rows):
    seeded()

    _, body = figures(client, StaffFactory(), **ON_DAY, by=by)

    assert [(row["label"], row["values"]["asked"]) for row in body["breakdown"]["rows"]] == rows


def test_a_school_administrator_sees_only_their_school_and_no_hours(client):
    seeded_ = seeded()
    principal = school_administrator(seeded_.school)

    _, own = figures(client, principal, **ON_DAY)
    other = figures(client, principal, **ON_DAY, school=str(seeded_.small_school.pk))
    district = figures(client, principal, **ON_DAY, district=str(seeded_.school.district_id))
    hours = figures(client, principal, **ON_DAY, by="hour")

    assert values(own)["asked"] == 5
    assert [(status, body["error"]["code"]) for status, body in (other, district, hours)] == [
        (400, "unknown_place"), (400, "unknown_place"), (400, "hours_by_school"),
    ]  # fmt: skip


def test_a_superuser_sees_every_city(client):
    seeded()

    _, body = figures(client, AdministratorFactory(), **ON_DAY)

    assert values(body)["asked"] == 6


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"from": "2026-11-03", "to": "2026-11-02"}, ("reversed_dates", "from", "时段的开始晚于结束。")),
        ({"from": "2025-01-01", "to": "2026-11-02"}, ("period_too_long", "from", "时段最长366天。")),
        ({"from": "2 November"}, ("invalid_date", "from", "日期请写成 YYYY-MM-DD。")),
        ({"school": "999999"}, ("unknown_place", "school", "未知的学校。")),
        ({"district": "abc"}, ("invalid_district", "district", "不是数字。")),
        ({"subject": "炼金术"}, ("unknown_subject", "subject", "未知的学科。")),
        ({"grade": "13"}, ("unknown_grade", "grade", "未知的年级。")),
        ({"point": "kp.减法"}, ("point_without_subject", "point", "请选择知识点所属的学科。")),
        ({"subject": "math", "point": "kp.炼金"}, ("unknown_point", "point", "未知的知识点。")),
        ({"by": "colour"}, ("unknown_breakdown", "by", "未知的分类方式。")),
    ],
)
def test_a_bad_filter_is_refused_in_chinese(client, query, error):
    seeded()

    status, body = figures(client, StaffFactory(), **query)

    assert (status, body) == (400, {"error": {"code": error[0], "field": error[1], "message": error[2]}})


def test_a_place_outside_the_viewers_scope_is_unknown_to_them(client):
    seeded_ = seeded()
    elsewhere = StaffFactory(scope=DistrictFactory())

    status, body = figures(client, elsewhere, **ON_DAY, school=str(seeded_.school.pk))
    _, own = figures(client, elsewhere, **ON_DAY)

    assert (status, body["error"]["code"]) == (400, "unknown_place")
    assert (own["suppressed"], values(own)["asked"]) == (True, None)  # no student of theirs: a group under five


@pytest.mark.parametrize("role", ["student", "teacher", "administrator without a place"])
def test_students_teachers_and_unplaced_administrators_find_no_insights(client, role):
    seeded()
    makers = {
        "student": StudentFactory,
        "teacher": TeacherFactory,
        "administrator without a place": lambda: UserFactory(role=User.Role.ADMINISTRATOR),
    }
    user = makers[role]()
    client.force_login(user)

    assert client.get(reverse("insights:figures"), ON_DAY).status_code == 404
    assert client.get(reverse("insights:export", args=["csv"]), ON_DAY).status_code == 404


def test_a_breakdown_is_exported_as_csv_and_xlsx_with_the_definitions(client):
    seeded_ = seeded()
    client.force_login(StaffFactory())

    as_csv = client.get(reverse("insights:export", args=["csv"]), {**ON_DAY, "by": "school"})
    as_xlsx = client.get(reverse("insights:export", args=["xlsx"]), {**ON_DAY, "by": "school"})

    assert as_csv["Content-Disposition"] == 'attachment; filename="insights-school-20261102-20261102.csv"'
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["学校", "提问数", "文字提问", "图片提问"]
    assert len(rows[0]) == 1 + len(FIGURES)
    assert sorted(row[:3] for row in rows[1:]) == sorted(
        [[seeded_.school.name, "5", "3"], [seeded_.small_school.name, "", ""]]
    )
    book = load_workbook(io.BytesIO(as_xlsx.content))
    figures_sheet, definitions = book.worksheets
    cells = [[cell.value for cell in row] for row in figures_sheet.iter_rows()]
    assert cells[0][:2] == ["学校", "提问数"]
    assert sorted((row[0], row[1]) for row in cells[1:]) == sorted(
        [(seeded_.school.name, 5), (seeded_.small_school.name, None)]
    )
    assert [row[0].value for row in definitions.iter_rows(min_row=2)] == [str(figure.label) for figure in FIGURES]
    assert DayFigures.objects.filter(day=DAY).count() == 2


# The count behind each figure of the seeded day: what it counts, or the questions it is computed over.
BEHIND = {
    "asked": 6, "by_text": 4, "by_photo": 1, "by_voice": 1, "understood": 5, "matched_same": 1,
    "matched_similar": 1, "matched_none": 3, "match_rate": 2, "solved_by_library": 1, "deflection": 1,
    "sent_to_teacher": 3, "answered": 2, "answer_rate": 2, "cancelled": 1, "wait_p50": 2, "wait_p90": 2,
    "wait_mean": 2, "sessions": 2, "session_p50": 2, "session_mean": 2, "rated": 1, "rating_mean": 1,
}  # fmt: skip


def test_the_questions_behind_each_figure_are_the_ones_it_counts():
    seeded()
    user = StaffFactory()
    filters = insights_filters(user=user, query=ON_DAY)

    behind = {figure.code: insights_questions(user=user, filters=filters, code=figure.code) for figure in FIGURES}

    assert {code: questions.count() for code, questions in behind.items()} == BEHIND


def test_the_questions_behind_a_figure_follow_the_filters_and_the_viewers_reach():
    seeded_ = seeded()
    user = StaffFactory()
    point = insights_filters(user=user, query={**ON_DAY, "subject": "math", "point": seeded_.point.code})
    school = insights_filters(user=school_administrator(seeded_.school), query=ON_DAY)

    tagged = insights_questions(user=user, filters=point, code="answered")
    own = insights_questions(user=school_administrator(seeded_.school), filters=school, code="asked")

    assert {question.pk for question in tagged} == {
        seeded_.questions["rated"].pk, seeded_.questions["unrated"].pk,
    }  # fmt: skip
    assert own.count() == 5
    with pytest.raises(ServiceError) as refused:
        insights_questions(user=user, filters=point, code="colour")
    assert refused.value.code == "unknown_figure"


def test_the_heat_map_sets_each_schools_share_of_a_point_against_the_citys():
    seeded_ = seeded()
    user = StaffFactory()

    heatmap = insights_heatmap(insights_filters(user=user, query={**ON_DAY, "subject": "math"}))

    assert insights_heatmap(insights_filters(user=user, query=ON_DAY)) is None  # points belong to a subject
    assert heatmap["points"] == ["减法", "应用题"]  # the city's most asked first
    assert heatmap["city"] == [2 / 6, 1 / 6]
    rows = {row["school"]: row["cells"] for row in heatmap["rows"]}
    assert rows == {
        seeded_.school.name: [
            {"share": 2 / 5, "ratio": (2 / 5) / (2 / 6), "level": 2},
            {"share": 1 / 5, "ratio": (1 / 5) / (1 / 6), "level": 2},
        ],
        seeded_.small_school.name: [None, None],  # two students: no cell
    }
