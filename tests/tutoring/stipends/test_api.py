import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import (
    NOVEMBER_2026,
    StudentFactory,
    TeacherFactory,
    UserFactory,
    month_of_work,
    school_administrator,
)
from tutoring.accounts.models import AdministratorProfile, User
from tutoring.stipends import exports, services
from tutoring.stipends.models import Adjustment, AuditEntry, Objection, SchoolMonth

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def month():
    teacher, school, *_ = month_of_work()
    services.statements_build(NOVEMBER_2026)
    return {
        "teacher": teacher,
        "school_month": SchoolMonth.objects.get(),
        "admin": school_administrator(school),
        "principal": school_administrator(school, principal=True),
    }


def step(client: Client, school_month: SchoolMonth, name: str, **body):
    url = reverse("stipends:step", kwargs={"school_month_id": school_month.pk, "step": name})
    return client.post(url, body, content_type="application/json")


def counts() -> tuple[int, ...]:
    return (
        Adjustment.objects.count(),
        Objection.objects.count(),
        AuditEntry.objects.count(),
        *SchoolMonth.objects.values_list("status", flat=True),
    )


def test_a_reviewer_reads_the_month_with_each_teachers_figures(month):
    response = logged_in(month["admin"]).get(reverse("stipends:school-month", args=[month["school_month"].pk]))

    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["month"], len(data["statements"])) == ("draft", "2026-11-01", 1)
    assert {key: data["statements"][0][key] for key in ("teacher", "workload_ms", "class_hours", "total_fen")} == {
        "teacher": month["teacher"].pk,
        "workload_ms": 148 * 60_000,
        "class_hours": "3.70",  # 148 min of 40-minute class hours
        "total_fen": 31802,
    }


@pytest.mark.parametrize("who", ["teacher", "student", "other_school_admin"])
def test_anyone_but_the_schools_reviewers_gets_404_and_nothing_changes(month, who):
    user = {
        "teacher": lambda: month["teacher"],
        "student": StudentFactory,
        "other_school_admin": lambda: school_administrator(TeacherFactory().teacher_profile.school),
    }[who]()
    client = logged_in(user)
    before = counts()

    read = client.get(reverse("stipends:school-month", args=[month["school_month"].pk]))
    moved = step(client, month["school_month"], "review")

    assert (read.status_code, moved.status_code) == (404, 404)
    assert counts() == before


def test_the_steps_take_the_month_to_publicity_and_a_teacher_objects(month):
    admin, school_month = logged_in(month["admin"]), month["school_month"]

    assert step(admin, school_month, "review").status_code == 200
    adjusted = admin.post(
        reverse("stipends:adjustments", args=[school_month.pk]),
        {"teacher": month["teacher"].pk, "amount_fen": -500, "credit": 0, "reason": "重复计入"},
        content_type="application/json",
    )
    published = step(admin, school_month, "publicity", days=3)
    objected = logged_in(month["teacher"]).post(
        reverse("stipends:objections", args=[school_month.pk]), {"text": "少算了一天"}, content_type="application/json"
    )

    assert (adjusted.status_code, adjusted.json()["statements"][0]["total_fen"]) == (201, 31302)
    assert (published.status_code, published.json()["status"]) == (200, "publicized")
    assert objected.status_code == 201
    answered = admin.post(
        reverse("stipends:answer", args=[objected.json()["id"]]), {"text": "已核实"}, content_type="application/json"
    )
    assert answered.json()["objections"] == [
        {"id": objected.json()["id"], "teacher": str(month["teacher"]), "reason": "少算了一天", "answer": "已核实"}
    ]


def test_a_refused_step_answers_its_error_and_changes_nothing(month):
    before = counts()

    response = step(logged_in(month["admin"]), month["school_month"], "approve")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_principal"
    assert counts() == before


def test_an_unknown_step_is_404(month):
    assert step(logged_in(month["admin"]), month["school_month"], "pay").status_code == 404


def test_a_bad_adjustment_body_is_refused_with_its_field(month):
    admin, school_month = logged_in(month["admin"]), month["school_month"]
    step(admin, school_month, "review")
    before = counts()

    response = admin.post(
        reverse("stipends:adjustments", args=[school_month.pk]),
        {"teacher": month["teacher"].pk, "amount_fen": "十元", "reason": "x"},
        content_type="application/json",
    )

    assert (response.status_code, response.json()["error"]["field"]) == (400, "amount_fen")
    assert counts() == before


def export(client: Client, school_month: SchoolMonth, file_format: str, query: str = ""):
    url = reverse("stipends:export", kwargs={"school_month_id": school_month.pk, "file_format": file_format})
    return client.get(url + query)


def test_reviewers_and_overseers_download_every_format(month):
    school_month = month["school_month"]
    district_admin = UserFactory(role=User.Role.ADMINISTRATOR)
    school = school_month.school
    AdministratorProfile.objects.create(user=district_admin, city=school.district.city, district=school.district)

    for user in (month["admin"], district_admin):
        client = logged_in(user)
        responses = {name: export(client, school_month, name) for name in ("xlsx", "csv", "pdf")}
        assert {name: response.status_code for name, response in responses.items()} == {
            "xlsx": 200,
            "csv": 200,
            "pdf": 200,
        }
        assert responses["csv"].content == exports.school_month_csv(school, NOVEMBER_2026)
        assert responses["pdf"]["Content-Disposition"] == f'attachment; filename="stipends-{school.pk}-2026-11.pdf"'
    assert export(logged_in(month["admin"]), school_month, "pdf", "?term").content.startswith(b"%PDF")


def test_a_teacher_gets_the_notice_once_published_and_never_the_spreadsheets(month):
    teacher, school_month, admin = month["teacher"], month["school_month"], month["admin"]
    client = logged_in(teacher)

    assert export(client, school_month, "pdf").status_code == 404  # a draft
    services.review_start(school_month_id=school_month.pk, user=admin)
    services.publicity_start(school_month_id=school_month.pk, days=3, user=admin)

    assert (export(client, school_month, "pdf").status_code, export(client, school_month, "xlsx").status_code) == (
        200,
        404,
    )
    assert export(logged_in(TeacherFactory()), school_month, "pdf").status_code == 404


def test_an_unknown_format_or_an_anonymous_user_gets_404(month):
    assert export(logged_in(month["admin"]), month["school_month"], "docx").status_code == 404
    assert export(Client(), month["school_month"], "pdf").status_code == 404
