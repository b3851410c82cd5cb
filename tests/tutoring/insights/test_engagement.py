import csv
import io
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories import StaffFactory, StudentFactory, school_administrator, subject
from tests.tutoring.insights.engagement_history import QUIET_DAY, TODAY, engagement_history
from tests.tutoring.insights.history import DAY, at
from tutoring.insights import engagement
from tutoring.insights.metrics import STAFFING, teachers_needed
from tutoring.insights.models import StudentDay
from tutoring.insights.rollups import insights_refresh
from tutoring.insights.selectors import WEEKDAYS, insights_filters
from tutoring.schools.models import School
from tutoring.schools.selectors import grade_label

pytestmark = pytest.mark.django_db

ON_DAY = {"from": "2026-11-02", "to": "2026-11-02"}
LATER = at(DAY + timedelta(days=3), 12)
DAY_AS_EXCEL = datetime(2026, 11, 2)  # a date cell as openpyxl reads it back


def built():
    history = engagement_history()
    insights_refresh(now=LATER)
    return history


def table(client, user, name: str, **query) -> tuple[int, dict]:
    client.force_login(user)
    response = client.get(reverse("insights:engagement", args=[name]), query)
    return response.status_code, response.json()


def cells(body: dict) -> list[dict]:
    return [row["cells"] for row in body["rows"]]


def test_teachers_needed_is_the_expected_teacher_hours_over_the_target_utilisation_rounded_up():
    assert teachers_needed(0.5, 1156) == 1  # 0.2007 teacher-hours at 80 %
    assert teachers_needed(10, 720) == 3  # 2.5
    assert teachers_needed(4, 720) == 1  # exactly 1.0: not rounded up by a floating-point remainder
    assert teachers_needed(0, 1156) == 0
    assert teachers_needed(3, 3600, utilisation=1.0) == 3


def test_participation_counts_each_student_once_by_school_and_grade_against_enrolment(client):
    history = built()

    status, body = table(client, StaffFactory(), "participation", **ON_DAY)

    assert status == 200
    school, small = history.seeded.school.name, history.seeded.small_school.name
    rows = {(row["school"], row["grade"]): row for row in cells(body)}
    three, four = grade_label(3), grade_label(4)
    assert rows == {
        (school, three): {
            "school": school,
            "grade": three,
            "enrolled": 5,
            "participants": 5,
            "participation": 1.0,
            "questions": 6,
        },
        (school, four): {
            "school": school,
            "grade": four,
            "enrolled": 5,
            "participants": 2,
            "participation": 0.4,
            "questions": 2,
        },
        (small, three): {
            "school": small,
            "grade": three,
            "enrolled": None,
            "participants": None,
            "participation": None,
            "questions": None,
        },
        (history.quiet_school.name, three): {
            "school": history.quiet_school.name,
            "grade": three,
            "enrolled": 5,
            "participants": 0,
            "participation": 0.0,
            "questions": 0,
        },
        (history.silent_school.name, three): {
            "school": history.silent_school.name,
            "grade": three,
            "enrolled": 5,
            "participants": 0,
            "participation": 0.0,
            "questions": 0,
        },
        ("全部", "全部"): {
            "school": "全部",
            "grade": "全部",
            "enrolled": 22,
            "participants": 8,
            "participation": 8 / 22,
            "questions": 9,
        },
    }
    assert cells(body)[-1]["school"] == "全部"
    assert [row["suppressed"] for row in body["rows"] if row["cells"]["school"] == small] == [True]
    assert [column["code"] for column in body["columns"]] == [
        "school",
        "grade",
        "enrolled",
        "participants",
        "participation",
        "questions",
    ]


def test_a_student_who_asked_on_two_days_counts_once_over_the_period(client):
    built()

    _, body = table(client, StaffFactory(), "participation", **{"from": "2026-11-01", "to": "2026-11-02"})

    assert (cells(body)[-1]["participants"], cells(body)[-1]["questions"]) == (8, 10)
    assert StudentDay.objects.count() == 10


def test_a_school_administrator_sees_only_their_schools_participation_and_comments(client):
    history = built()
    administrator = school_administrator(history.seeded.school)

    _, participation = table(client, administrator, "participation", **ON_DAY)
    _, comments = table(client, administrator, "comments", **ON_DAY)
    quiet = school_administrator(history.quiet_school)
    _, none = table(client, quiet, "comments", **ON_DAY)
    refused, body = table(client, quiet, "comments", school=str(history.seeded.school.pk), **ON_DAY)

    assert [(row["school"], row["enrolled"], row["participants"]) for row in cells(participation)] == [
        (history.seeded.school.name, 5, 5),
        (history.seeded.school.name, 5, 2),
        ("全部", 10, 7),
    ]
    assert cells(comments) == [
        {
            "day": "2026-11-02",
            "subject": subject().name,
            "grade": grade_label(3),
            "stars": 5,
            "comment": "讲得很清楚，谢谢老师",
        }
    ]
    assert cells(none) == []
    assert (refused, body["error"]["code"]) == (400, "unknown_place")


def test_a_small_school_shows_no_participation_rating_or_comment(client):
    history = built()
    administrator = school_administrator(history.seeded.small_school)

    _, participation = table(client, administrator, "participation", **ON_DAY)
    _, satisfaction = table(client, administrator, "satisfaction", **ON_DAY)
    _, comments = table(client, administrator, "comments", **ON_DAY)

    assert participation["suppressed"] is True
    assert [row["participants"] for row in cells(participation)] == [None, None]
    assert (satisfaction["suppressed"], satisfaction["rows"], satisfaction["summary"]["current"]) == (True, [], None)
    assert (comments["suppressed"], comments["rows"]) == (True, [])


def test_satisfaction_counts_the_ratings_of_first_sessions_with_the_period_before_and_a_trend(client):
    built()

    _, body = table(client, StaffFactory(), "satisfaction", **ON_DAY)

    # Rated 5 with a comment, rated 4 with none; a session never rated is not a rating.
    assert cells(body) == [
        {
            "period": "2026-11-02",
            "rating_1": 0,
            "rating_2": 0,
            "rating_3": 0,
            "rating_4": 1,
            "rating_5": 1,
            "rated": 2,
            "rating_mean": 4.5,
            "commented": 1,
        }
    ]
    assert body["summary"] == {
        "suppressed": False,
        "current": {
            "rating_1": 0,
            "rating_2": 0,
            "rating_3": 0,
            "rating_4": 1,
            "rating_5": 1,
            "rated": 2,
            "rating_mean": 4.5,
            "commented": 1,
        },
        "previous": {
            "rating_1": 0,
            "rating_2": 0,
            "rating_3": 0,
            "rating_4": 0,
            "rating_5": 0,
            "rated": 0,
            "rating_mean": None,
            "commented": 0,
        },
    }


def test_a_long_period_is_trended_by_week(client):
    built()

    _, body = table(client, StaffFactory(), "satisfaction", **{"from": "2026-09-01", "to": "2026-11-30"})

    # Every week with questions, rated or not; the days of each week together.
    assert [(row["period"], row["rated"]) for row in cells(body)] == [
        ("2026-10-19 当周", 0),
        ("2026-10-26 当周", 0),
        ("2026-11-02 当周", 2),
    ]


def test_silent_schools_are_those_of_five_students_or_more_without_a_question_in_seven_days(client):
    history = built()

    _, body = table(client, StaffFactory(), "silent", **ON_DAY)

    district = history.seeded.district.name
    assert cells(body) == [
        {"school": history.silent_school.name, "district": district, "enrolled": 5, "last_day": None, "silent": "是"},
        {
            "school": history.quiet_school.name,
            "district": district,
            "enrolled": 5,
            "last_day": QUIET_DAY.isoformat(),
            "silent": "是",
        },
    ]
    filters = insights_filters(user=StaffFactory(), query=ON_DAY)
    assert engagement.small_schools(filters) == School.objects.count() - 3  # all but the three of five or more


def test_a_school_that_asked_within_seven_days_of_the_period_end_is_not_silent(client):
    history = built()

    _, body = table(client, StaffFactory(), "silent", **{"from": "2026-10-29", "to": "2026-10-29"})

    # On 29 October the quiet school had asked six days before; the seeded school had not asked yet.
    assert [(row["school"], row["last_day"]) for row in cells(body)] == sorted(
        [(history.silent_school.name, None), (history.seeded.school.name, None)]
    )


def test_lectures_show_their_audiences_and_a_small_audience_shows_none(client):
    history = built()

    _, city = table(client, StaffFactory(), "lectures", **ON_DAY)
    _, school = table(client, school_administrator(history.seeded.school), "lectures", **ON_DAY)

    assert cells(city) == [
        {
            "day": "2026-11-02",
            "title": "小数",
            "minutes": None,
            "signups": None,
            "viewers": None,
            "peak": None,
            "replay_viewers": None,
            "replay_minutes": None,
        },
        {
            "day": "2026-11-02",
            "title": "分数的意义",
            "minutes": 45,
            "signups": 3,
            "viewers": 6,
            "peak": 5,
            "replay_viewers": 2,
            "replay_minutes": 7,
        },
    ]
    assert [row["title"] for row in cells(school)] == ["分数的意义"]  # the small school's lecture is not theirs


def test_coverage_sets_teacher_hours_on_duty_against_questions_sent_by_hour(client):
    built()

    _, body = table(client, StaffFactory(), "coverage", **ON_DAY)
    _, maths = table(client, StaffFactory(), "coverage", subject="math", **ON_DAY)

    assert cells(body) == [
        {"hour": "00:00", "teacher_hours": 0.75, "sent_to_teacher": 0, "per_teacher_hour": 0.0, "wait_mean": None},
        {"hour": "09:00", "teacher_hours": 0.0, "sent_to_teacher": 0, "per_teacher_hour": None, "wait_mean": None},
        {"hour": "18:00", "teacher_hours": 0.0, "sent_to_teacher": 0, "per_teacher_hour": None, "wait_mean": None},
        {"hour": "19:00", "teacher_hours": 0.5, "sent_to_teacher": 1, "per_teacher_hour": 2.0, "wait_mean": 30.0},
        {"hour": "20:00", "teacher_hours": 1.0, "sent_to_teacher": 2, "per_teacher_hour": 2.0, "wait_mean": 51.0},
        {"hour": "21:00", "teacher_hours": 0.25, "sent_to_teacher": 1, "per_teacher_hour": 4.0, "wait_mean": None},
    ]
    assert [row["hour"] for row in cells(maths)] == ["09:00", "18:00", "19:00", "20:00", "21:00"]  # no volunteer


def test_coverage_and_staffing_are_read_for_a_whole_city_only(client):
    history = built()

    _, district = table(client, StaffFactory(scope=history.seeded.district), "coverage", **ON_DAY)
    _, school = table(client, school_administrator(history.seeded.school), "staffing", **ON_DAY)
    _, chosen = table(client, StaffFactory(), "coverage", district=str(history.seeded.district.pk), **ON_DAY)

    for body in (district, school, chosen):
        assert (body["rows"], body["unavailable"]) == ([], "值班老师按整个城市统计。")


def test_staffing_suggests_teachers_to_add_for_next_weeks_hours_from_the_last_four_weeks():
    history = built()
    filters = insights_filters(user=StaffFactory(), query=ON_DAY)

    staffing = engagement.staffing_table(filters, today=TODAY)

    monday, band = str(WEEKDAYS[0]), history.shift.grade_band.name
    # Typical answer time: the mean of 1188 s, 1110 s and 1170 s = 1156 s; one Monday in four weeks.
    assert [row["cells"] for row in staffing.rows] == [
        {
            "subject": subject().name,
            "grade_band": band,
            "weekday": monday,
            "hour": "19:00–20:00",
            "expected": 0.25,
            "needed": 1,
            "scheduled": 0.0,
            "add": 1,
        },
        {
            "subject": subject().name,
            "grade_band": band,
            "weekday": monday,
            "hour": "20:00–21:00",
            "expected": 0.5,
            "needed": 1,
            "scheduled": 1.0,
            "add": 0,
        },
        {
            "subject": subject().name,
            "grade_band": band,
            "weekday": monday,
            "hour": "21:00–22:00",
            "expected": 0.25,
            "needed": 1,
            "scheduled": 0.5,
            "add": 1,
        },
    ]
    assert staffing.columns == STAFFING


@pytest.mark.parametrize(
    ("name", "query", "error"),
    [
        ("nonsense", ON_DAY, ("unknown_table", "table")),
        ("participation", {"from": "2026-11-03", "to": "2026-11-02"}, ("reversed_dates", "from")),
        ("comments", {"grade": "13"}, ("unknown_grade", "grade")),
    ],
)
def test_a_bad_table_or_filter_is_refused(client, name, query, error):
    built()

    status, body = table(client, StaffFactory(), name, **query)

    assert (status, body["error"]["code"], body["error"]["field"]) == (400, *error)


def test_anyone_without_insights_is_not_found(client):
    built()
    client.force_login(StudentFactory())

    assert client.get(reverse("insights:engagement", args=["comments"]), ON_DAY).status_code == 404
    assert client.get(reverse("insights:engagement-export", args=["comments", "csv"]), ON_DAY).status_code == 404


def test_each_table_is_exported_as_csv_and_xlsx_with_the_definitions(client):
    history = built()
    client.force_login(StaffFactory())

    participation = client.get(reverse("insights:engagement-export", args=["participation", "csv"]), ON_DAY)
    comments = client.get(reverse("insights:engagement-export", args=["comments", "xlsx"]), ON_DAY)
    unknown = client.get(reverse("insights:engagement-export", args=["comments", "pdf"]), ON_DAY)

    assert participation["Content-Disposition"] == 'attachment; filename="insights-participation-20261102-20261102.csv"'
    rows = list(csv.reader(io.StringIO(participation.content.decode("utf-8-sig"))))
    assert rows[0] == ["学校", "年级", "在册学生", "提问的学生", "参与率", "提问数"]
    small = history.seeded.small_school.name
    assert [small, grade_label(3), "", "", "", ""] in rows
    assert rows[-1] == ["全部", "全部", "22", "8", str(8 / 22), "9"]
    book = load_workbook(io.BytesIO(comments.content))
    sheet, definitions = book.worksheets
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["提问日期", "学科", "年级", "评分", "留言"],
        [DAY_AS_EXCEL, subject().name, grade_label(3), 5, "讲得很清楚，谢谢老师"],
    ]
    assert [row[0].value for row in definitions.iter_rows(min_row=2)] == ["提问日期", "学科", "年级", "评分", "留言"]
    assert unknown.status_code == 404
