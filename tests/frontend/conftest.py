"""Fixtures for browser tests: a real daphne server and Celery worker on the test database, and Chromium."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import Browser, Page, sync_playwright

from tests.factories import PASSWORD
from tutoring.accounts.models import User

REPOSITORY = Path(__file__).resolve().parents[2]
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
TABLET = {
    "viewport": {"width": 1024, "height": 768},
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
START_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class LiveStack:
    url: str
    log_dir: Path

    @contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        """A failed expectation inside also shows what the server and the worker printed."""
        try:
            yield
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.logs()}") from None

    def logs(self) -> str:
        """The output of the server and the worker, for failure messages."""
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-6000:]}" for path in self._log_files())

    def _log_files(self) -> list[Path]:
        return sorted(self.log_dir.glob("*.log"))


def _database_url() -> str:
    """A URL for the database the tests use (the test database once the db fixture is active)."""
    database = settings.DATABASES["default"]
    credentials = quote(database["USER"] or "", safe="")
    if database.get("PASSWORD"):
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(database['NAME'], safe='')}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"daphne did not listen on {port} in {START_TIMEOUT_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def live_stack(transactional_db: None, media_root: Path, tmp_path: Path) -> Iterator[LiveStack]:
    """daphne and a Celery worker (queues media, default and matching) in subprocesses, on the test database.

    They share this test's Redis, database and media folder, so what the browser sends is
    processed for real and the test can read the result from the database. The worker builds
    its search index of the library from the database on first use, in this test's own folder.
    """
    port = _free_port()
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
        "MEDIA_ROOT": str(media_root),
        "MEDIA_STORAGE": "local",
        "XUEWEN_INDEX_DIR": str(tmp_path / "index"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        "DJANGO_DEBUG": "false",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        worker_log = log_dir / "worker.log"
        with worker_log.open("wb") as output:
            processes.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "media,default,matching"),
                        *("-c", "1"),
                        *("--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"),
                    ],
                    cwd=REPOSITORY,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            )
        server_log = log_dir / "daphne.log"
        with server_log.open("wb") as output:
            server = subprocess.Popen(
                [sys.executable, "-m", "config.web", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
                cwd=REPOSITORY,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        processes.append(server)
        _wait_for_port(port, server, server_log)
        yield LiveStack(url=f"http://127.0.0.1:{port}", log_dir=log_dir)
    finally:
        for process in reversed(processes):
            _stop(process)


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """Headless Chromium; each page fixture opens its own context (its own cookies) in it."""
    # Playwright's sync API keeps an event loop in this thread; the ORM calls in the test are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
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
def tablet(chromium: Browser) -> Iterator[Page]:
    """A page with a tablet's screen in landscape (a teacher's duty console)."""
    yield from _page(chromium, TABLET)


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


def ask_typed(page: Page, subject: str, text: str) -> int:
    """On a student's home page: ask a typed question; returns its id once its page opens."""
    page.select_option("#subject", subject)
    page.fill("#question-typed", text)
    page.click("[data-testid=submit]")
    page.wait_for_url(re.compile(r"/questions/\d+/$"))
    return int(re.search(r"/questions/(\d+)/$", page.url).group(1))
