"""Fixtures for browser tests: a real daphne server and Celery worker on the test database, and Chromium."""

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.factories import PASSWORD, ShiftFactory
from tests.live import LiveStack, live_processes
from tutoring.accounts.models import User

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
# The cheapest phone a student may have: every page must hold on its screen.
CHEAP_PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
TABLET = {
    "viewport": {"width": 1024, "height": 768},
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
LAPTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@pytest.fixture
def live_env() -> dict[str, str]:
    """Settings of the live processes' environment; a test parametrizes this to change one."""
    return {}


@pytest.fixture
def live_stack(
    transactional_db: None, media_root: Path, tmp_path: Path, live_env: dict[str, str]
) -> Iterator[LiveStack]:
    """daphne and a Celery worker (queues media, default and matching) in subprocesses, on the test database.

    They share this test's Redis, database and media folder, so what the browser sends is
    processed for real and the test can read the result from the database. The worker builds
    its search index of the library from the database on first use, in this test's own folder.
    """
    with live_processes(media_root, tmp_path, env=live_env) as stack:
        yield stack


@pytest.fixture
def chromium_args() -> list[str]:
    """Chromium's command line; a test module overrides this fixture to add flags."""
    return CHROMIUM_ARGS


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch, chromium_args: list[str]) -> Iterator[Browser]:
    """Headless Chromium; each page fixture opens its own context (its own cookies) in it."""
    # Playwright's sync API keeps an event loop in this thread; the ORM calls in the test are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=chromium_args, headless=True)
        try:
            yield browser
        finally:
            # While Playwright's loop runs, Django keeps the test's connections apart from the
            # usual ones; close them here, or the test database could not be dropped at the end.
            connections.close_all()
            browser.close()


def _page(browser: Browser, device: dict) -> Iterator[Page]:
    context = browser.new_context(**device)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    """A page with a phone's screen, touch and locale (a student)."""
    yield from _page(chromium, PHONE)


@pytest.fixture
def cheap_phone(chromium: Browser) -> Iterator[Page]:
    """A page with the 360 × 740 screen of a cheap phone."""
    yield from _page(chromium, CHEAP_PHONE)


@pytest.fixture
def tablet(chromium: Browser) -> Iterator[Page]:
    """A page with a tablet's screen in landscape (a teacher's duty console)."""
    yield from _page(chromium, TABLET)


@pytest.fixture
def laptop(chromium: Browser) -> Iterator[Page]:
    """A page with a laptop's screen and a mouse (a lecturer's studio)."""
    yield from _page(chromium, LAPTOP)


@pytest.fixture
def sign_in(live_stack: LiveStack, phone: Page) -> Callable[..., None]:
    """Log a user in through the login form and land on their home page (on the phone unless told)."""

    def sign_in(user: User, page: Page | None = None) -> None:
        page = page or phone
        page.goto(f"{live_stack.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("[data-testid=login-submit]")
        page.wait_for_url(f"{live_stack.url}/")

    return sign_in


def page_errors(*pages: Page, into: list[str] | None = None) -> list[str]:
    """The uncaught script errors of ``pages`` from now on (added to ``into`` when given)."""
    errors = [] if into is None else into
    for page in pages:
        page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def go_on_duty(tablet: Page, sign_in: Callable[..., None]) -> User:
    """A maths teacher of grades 3-4 inside a shift of two places, on duty in the console on ``tablet``."""
    teacher = ShiftFactory(capacity=2).teacher
    sign_in(teacher, tablet)
    tablet.click("[data-testid=duty-link]")
    tablet.click("[data-testid=duty-toggle]")
    expect(tablet.locator("[data-testid=duty-status]")).to_have_text("在岗：数学 · 小学中段")
    return teacher


def ask_typed(page: Page, subject: str, text: str) -> int:
    """On a student's home page: ask a typed question; returns its id once its page opens."""
    page.select_option("#subject", subject)
    page.fill("#question-typed", text)
    page.click("[data-testid=submit]")
    page.wait_for_url(re.compile(r"/questions/\d+/$"))
    return int(re.search(r"/questions/(\d+)/$", page.url).group(1))


def draw(page: Page, board: str, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Draw a line on a board from and to points given as fractions of its width and height."""
    box = page.locator(board).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1], steps=12)
    page.mouse.up()


def expect_ink(page: Page, board: str, at: tuple[float, float], *, present: bool = True) -> None:
    """Wait until the strokes layer of a board has opaque ink around a point (fractions of its size), or
    none when not `present`."""
    page.wait_for_function(
        """([board, x, y, present]) => {
            const layer = document.querySelectorAll(`${board} canvas`)[1];
            if (!layer || !layer.width) return false;
            const pixels = layer.getContext("2d").getImageData(
                Math.round(layer.width * x) - 3, Math.round(layer.height * y) - 3, 7, 7).data;
            return pixels.some((value, index) => index % 4 === 3 && value > 200) === present;
        }""",
        arg=[board, *at, present],
    )
