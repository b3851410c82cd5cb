"""Administrators' live view: the figures of their place now, each with its definition, kept current over the
socket; other places and other people find nothing."""

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.factories import SchoolFactory, StaffFactory, StudentFactory, TeacherFactory, school_administrator
from tests.frontend.conftest import page_errors
from tests.tutoring.insights.test_live import waiting
from tutoring.accounts.models import User
from tutoring.questions.services import question_create

if TYPE_CHECKING:
    from tests.frontend.conftest import LiveStack

# Understanding, then matching; the worker loads the sentence encoder on its first match.
QUEUED_TIMEOUT_MS = 120_000


def shown(content: str) -> dict[str, str]:
    return dict(re.findall(r'class="insights-value" data-testid="live-(\w+)">([^<]*)<', content))


def school_of_five():
    school = SchoolFactory()
    return school, [StudentFactory(profile__school=school) for _ in range(5)]


@pytest.fixture
def one_waiting(client, settings):
    """The administrator of a school of five, signed in, one of whose students waits for a teacher; each read
    counts anew."""
    settings.XUEWEN = {**settings.XUEWEN, "INSIGHTS_LIVE_SECONDS": 0}
    school, students = school_of_five()
    waiting(students[0])
    client.force_login(school_administrator(school))
    return students[0]


@pytest.mark.django_db
def test_a_school_administrator_sees_the_figures_of_their_school_with_their_definitions(client, one_waiting):
    page = client.get(reverse("frontend:insights-live"))

    content = page.content.decode()
    assert page.status_code == 200
    assert shown(content) == {
        "students_online": "1",
        "questions_waiting": "1",
        "teachers_on_duty": "0",
        "sessions_running": "0",
        "lectures_live": "0",
        "lecture_audience": "0",
    }
    assert "本地学生此刻在实时队列中的问题：正在等待老师，或已推送给老师待接单。" in content
    assert "现在没有直播中的讲座。" in content
    assert 'data-testid="live-place"' not in content  # one school: nothing to choose
    assert one_waiting.display_name not in content


@pytest.mark.django_db
def test_another_school_is_refused_in_chinese_and_the_own_school_shown(client, one_waiting):
    page = client.get(reverse("frontend:insights-live"), {"school": SchoolFactory().pk})

    content = page.content.decode()
    assert page.status_code == 400
    assert page.context["filters"].school is None
    assert shown(content)["questions_waiting"] == "1"
    assert '<p class="field-error" role="alert" data-testid="live-error">未知的学校。</p>' in content


@pytest.mark.django_db
def test_staff_choose_among_the_places_of_their_city_and_find_the_view_from_the_figures(client):
    school, _other = SchoolFactory(), SchoolFactory()
    client.force_login(StaffFactory())

    figures = client.get(reverse("frontend:insights"))
    page = client.get(reverse("frontend:insights-live"), {"school": school.pk})

    assert 'href="/insights/live/" data-testid="insights-live-link"' in figures.content.decode()
    content = page.content.decode()
    assert f'<option value="{school.pk}" selected>{school.name}</option>' in content
    assert shown(content)["students_online"] == "—"  # no student enrolled there
    assert "学生不足五人" in content


@pytest.mark.django_db
@pytest.mark.parametrize("role", [StudentFactory, TeacherFactory])
def test_students_and_teachers_find_no_live_view(client, role):
    client.force_login(role())

    assert client.get(reverse("frontend:insights-live")).status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_school_administrators_live_view_changes_when_a_question_arrives(
    live_stack: "LiveStack", phone: Page, sign_in: Callable[[User], None]
) -> None:
    # Given a school of five students, none of them live, and its administrator's live view open on a phone
    school, students = school_of_five()
    errors = page_errors(phone)
    sign_in(school_administrator(school))
    phone.goto(f"{live_stack.url}/insights/live/")
    expect(phone.locator("[data-testid=connection]")).to_have_attribute("data-state", "open")
    expect(phone.locator("[data-testid=live-questions_waiting]")).to_have_text("0")
    expect(phone.locator("[data-testid=live-students_online]")).to_have_text("0")

    # When a student of the school asks a question nobody's answer fits (the empty library)
    question_create(
        student=students[0],
        subject="math",
        grade=3,
        idempotency_key="a" * 32,
        text="一个数的3倍加5等于20，这个数是多少？",
    )

    # Then, once the workers have understood, matched and queued it, the view shows it waiting, without a reload
    with live_stack.logs_on_failure():
        expect(phone.locator("[data-testid=live-questions_waiting]")).to_have_text("1", timeout=QUEUED_TIMEOUT_MS)
    expect(phone.locator("[data-testid=live-students_online]")).to_have_text("1")
    phone.locator("[data-code=questions_waiting] summary").click()
    expect(phone.locator("[data-code=questions_waiting] details p")).to_have_text(
        "本地学生此刻在实时队列中的问题：正在等待老师，或已推送给老师待接单。"
    )
    assert phone.evaluate("document.documentElement.scrollWidth") <= phone.viewport_size["width"]
    assert errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_staff_choose_a_school_and_its_figures_replace_the_citys_without_a_reload(
    live_stack: "LiveStack", laptop: Page, sign_in: Callable[..., None]
) -> None:
    # Given two schools of five students, one student of the first waiting, and staff of the city on a laptop
    _first, students = school_of_five()
    second, _ = school_of_five()
    waiting(students[0])
    errors = page_errors(laptop)
    sign_in(StaffFactory(), laptop)
    laptop.goto(f"{live_stack.url}/insights/live/")
    expect(laptop.locator("[data-testid=connection]")).to_have_attribute("data-state", "open")
    expect(laptop.locator("[data-testid=live-questions_waiting]")).to_have_text("1")

    # When they choose the second school
    laptop.select_option("#filter-school", str(second.pk))

    # Then its figures come over the open socket, and the address keeps the choice for a reload
    expect(laptop.locator("[data-testid=live-questions_waiting]")).to_have_text("0")
    expect(laptop).to_have_url(f"{live_stack.url}/insights/live/?school={second.pk}")
    laptop.reload()
    expect(laptop.locator("#filter-school")).to_have_value(str(second.pk))
    expect(laptop.locator("[data-testid=live-questions_waiting]")).to_have_text("0")
    assert errors == []
