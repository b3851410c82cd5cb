"""Every page of every role on a cheap phone (360 × 740), with the demo's data: the document is no wider than the
screen, no control lies over another, buttons are at least 44 px, axe-core finds no serious or critical
accessibility violation, and no English source string of the project's catalogue shows."""

import io
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.catalogue import english_in
from tests.frontend.conftest import CHEAP_PHONE, page_errors
from tests.live import REPOSITORY, LiveStack
from tutoring.core.management.commands.demo_seed import DEMO_PASSWORD, LECTURE_LIVE, LECTURE_RECORDED
from tutoring.core.management.demo_stipends import PRINCIPAL, REVIEWED_SCHOOL, REVIEWER, Months
from tutoring.insights.models import HotCluster
from tutoring.lectures.models import Lecture
from tutoring.questions.models import Question
from tutoring.sessions.models import TutoringSession
from tutoring.stipends.models import SchoolMonth

# Committed for real, so the live processes see it; serialized_rollback restores the reference data afterwards.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCREEN_WIDTH = CHEAP_PHONE["viewport"]["width"]
AXE = REPOSITORY / "node_modules" / "axe-core" / "axe.min.js"
LAYOUT = (Path(__file__).parent / "layout.js").read_text()

# What a page waits for before it is checked: the state its socket or its script shows.
READY = {
    "questions": "document.querySelector('[data-testid=status]').textContent.trim() !== ''",
    "duty": "!document.querySelector('[data-testid=duty-status]').textContent.includes('…')",
    "sessions": "document.querySelector('[data-testid=presence]').textContent.trim() !== ''",
    "lectures": "document.querySelector('[data-testid=lecture-status]').textContent.trim() !== ''",
}
# The admin's index links to every list and add page, and each list to its first row's page.
ADMIN_LINKS = (
    "#content-main tr[class^='model-'] a[href^='/admin/'], #result_list tbody tr:first-child a[href^='/admin/']"
)
ADMIN_LIST = re.compile(r"^/admin/\w+/\w+/$")
MISSING = "/questions/999999/"  # the page of a question nobody may see: 404


@pytest.fixture
def demo(media_root: Path) -> None:
    """The demo's data (before the live processes start, so their workers find every task done)."""
    call_command("demo_seed", stdout=io.StringIO())


def _question(key: str) -> int:
    return Question.objects.get(idempotency_key=key).pk


def _session(key: str) -> int:
    return TutoringSession.objects.get(question__idempotency_key=key).pk


def _lecture(title: str) -> int:
    return Lecture.objects.get(title=title).pk


def _school_month(month: date) -> str:
    return f"/stipends/months/{SchoolMonth.objects.get(school__name=REVIEWED_SCHOOL, month=month).pk}/"


def _pages() -> list[tuple[str, str]]:
    """(login, path) for every page of every role, in the states the demo leaves."""
    answered, waiting = _question("demo-recorded-1"), _question("demo-asked-waiting")
    ended, open_room = _session("demo-recorded-1"), _session("demo-asked-with-teacher")
    live_lecture, given_lecture = _lecture(LECTURE_LIVE.title), _lecture(LECTURE_RECORDED.title)
    # The school's months: locked and reported, in publicity (公示) with an objection open, a draft.
    months = Months.of(timezone.localdate())
    school_months = [_school_month(month) for month in (months.before_last, months.last, months.this)]
    cluster = HotCluster.objects.filter(students__gte=5).order_by("-size", "pk").values_list("pk", flat=True)[0]
    return [
        ("", "/login/"),
        ("student1", "/"),
        ("student1", f"/questions/{_question('demo-asked-resolved')}/"),
        ("student1", f"/questions/{waiting}/"),
        ("student1", f"/questions/{answered}/"),
        ("student1", f"/sessions/{ended}/"),
        ("student1", f"/lectures/{live_lecture}/"),
        ("student1", f"/lectures/{given_lecture}/"),
        ("student1", MISSING),
        ("student2", f"/questions/{_question('demo-asked-understood')}/"),
        ("student2", f"/questions/{_question('demo-asked-failed')}/"),
        ("student2", f"/questions/{_question('demo-asked-cancelled')}/"),
        ("student3", f"/sessions/{open_room}/"),
        ("teacher1", "/"),
        ("teacher1", "/duty/"),
        ("teacher1", "/library/"),
        ("teacher1", "/library/?q=%E9%99%A4%E6%B3%95"),
        ("teacher1", "/library/new/"),
        ("teacher1", f"/questions/{waiting}/"),
        ("teacher1", f"/sessions/{ended}/"),
        ("teacher1", f"/lectures/{live_lecture}/"),
        ("teacher1", f"/lectures/{live_lecture}/studio/"),
        ("teacher1", "/stipends/"),
        ("teacher1", f"/stipends/statements/{months.last:%Y-%m}/"),
        ("teacher1", f"/stipends/statements/{months.before_last:%Y-%m}/"),
        ("staff1", f"/lectures/{given_lecture}/"),
        ("teacher2", "/duty/"),
        ("teacher2", f"/sessions/{open_room}/"),
        ("staff1", "/"),
        ("staff1", "/insights/"),
        ("staff1", "/insights/?by=school&subject=math"),
        ("staff1", "/insights/?by=point&subject=math&grade=3"),
        ("staff1", "/insights/questions/?figure=answered"),
        ("staff1", "/insights/live/"),
        ("staff1", "/insights/clusters/"),
        ("staff1", f"/insights/clusters/{cluster}/"),
        ("staff1", "/library/"),
        ("staff1", f"/questions/{answered}/"),
        ("staff1", f"/sessions/{open_room}/"),
        (REVIEWER, "/"),
        (REVIEWER, "/stipends/"),
        (REVIEWER, "/insights/?by=grade"),
        (REVIEWER, "/insights/live/"),
        *[(REVIEWER, path) for path in school_months],
        (PRINCIPAL, "/stipends/"),
        *[(PRINCIPAL, path) for path in school_months],
        ("admin", "/"),
        ("admin", "/stipends/"),
        ("admin", "/insights/?by=hour"),
        ("admin", f"/library/new/?cluster={cluster}"),
        ("admin", f"/admin/lectures/lecture/add/?cluster={cluster}"),
        ("admin", "/admin/"),  # then every list and add page it links to
    ]


@pytest.fixture
def phones(chromium: Browser, live_stack: LiveStack) -> Iterator[tuple[Callable[[str], Page], list[str]]]:
    """A cheap phone for each login (signed in on first use), and the script errors of all of them."""
    pages: dict[str, Page] = {}
    errors: list[str] = []

    def phone_for(login: str) -> Page:
        if login not in pages:
            context = chromium.new_context(**CHEAP_PHONE)
            context.set_default_timeout(15_000)
            page = pages[login] = context.new_page()
            page_errors(page, into=errors)
            if login:
                page.goto(f"{live_stack.url}/login/")
                page.fill("#id_username", login)
                page.fill("#id_password", DEMO_PASSWORD)
                page.click("[data-testid=login-submit]")
                page.wait_for_url(f"{live_stack.url}/")
        return pages[login]

    yield phone_for, errors
    for page in pages.values():
        page.context.close()


def _problems(page: Page) -> list[str]:
    layout = page.evaluate(LAYOUT)
    problems = []
    if layout["scrollWidth"] > SCREEN_WIDTH or layout["innerWidth"] != SCREEN_WIDTH:
        problems.append(f"{layout['scrollWidth']} px wide: {layout['wide']}")
    problems += [f"overlap: {pair}" for pair in layout["overlaps"]]
    problems += [f"under 44 px: {button}" for button in layout["small"]]
    page.add_script_tag(path=str(AXE))
    problems += page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter((violation) => ["serious", "critical"].includes(violation.impact))
            .map((found) => `${found.id}: ${found.nodes.map((node) => node.target.join(" ")).join(", ")}`)"""
    )
    problems += [f"English: {text!r}" for text in english_in(page.evaluate(_SHOWN_TEXT))]
    return problems


# The text a reader meets: what the page shows, its title, and the names and hints of its controls and pictures.
_SHOWN_TEXT = """() => [document.title, document.body.innerText,
  ...[...document.querySelectorAll(
    "[placeholder], [aria-label], [title], img[alt], input:not([type=hidden])[value]")].flatMap(
    (element) => ["placeholder", "aria-label", "title", "alt", "value"].map((name) => element.getAttribute(name) || ""))
].join("\\n")"""


def test_every_page_of_every_role_holds_on_a_360_px_phone(demo, live_stack, phones):
    phone_for, errors = phones
    pages = _pages()
    problems = {}
    with live_stack.logs_on_failure():
        for login, path in pages:  # grows by the admin's pages as the admin's index is visited
            page = phone_for(login)
            response = page.goto(f"{live_stack.url}{path}")
            assert response is not None, path
            if path == MISSING:
                assert response.status == 404
            else:
                assert response.status == 200, path
                try:
                    page.wait_for_function(READY.get(path.split("/")[1], "true"))
                except PlaywrightTimeoutError:
                    problems[f"{login} {path}"] = ["its live state never came"]
                    continue
            if path == "/admin/" or ADMIN_LIST.match(path):
                links = page.eval_on_selector_all(
                    ADMIN_LINKS, "links => links.map((link) => link.getAttribute('href'))"
                )
                pages += [("admin", link) for link in dict.fromkeys(links) if ("admin", link) not in pages]
            found = _problems(page)
            if found:
                problems[f"{login or 'anonymous'} {path}"] = found
        assert problems == {}, "\n".join(f"{page}: {problem}" for page, found in problems.items() for problem in found)
        assert errors == []
    assert len([path for login, path in pages if ADMIN_LIST.match(path)]) == len(admin.site._registry)
