"""The platform as in production, in subprocesses on the test database: daphne servers and Celery workers.

Used by browser tests (one of each) and by the routing race test (two of each). The processes share
the test's Redis, database and media folder, so the test reads what they did from the database.
``web_server`` starts one web server alone, on the environment a test gives it (the embedded defaults' test).
``Redis`` is a redis-server of a test's own, for the tests that kill it (the ``private_redis`` fixture).
``duty_console`` is a teacher's console on a live stack's socket, and ``tickets_finished`` counts what they did.
"""

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Count

from tutoring.routing.models import Duty, Offer, RoutingFact, Ticket

REPOSITORY = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 30


@dataclass
class LiveStack:
    url: str  # the first web server
    log_dir: Path
    urls: list[str] = field(default_factory=list)  # every web server
    commands: list[tuple[list[str], Path, int | None]] = field(default_factory=list)  # command, log, port
    environment: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> None:
        for command, log, port in self.commands:
            process = _start(command, self.environment, log)
            self.processes.append(process)
            if port is not None:
                _wait_for_port(port, process, log)

    def stop(self) -> None:
        for process in reversed(self.processes):
            _stop(process)
        self.processes.clear()

    def kill(self) -> None:
        """Every process dies at once, as in a power cut: no shutdown code runs."""
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait(timeout=10)
        self.processes.clear()

    @contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        """A failed expectation inside also shows what the servers and the workers printed."""
        try:
            yield
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.logs()}") from None

    def logs(self) -> str:
        """The output of the servers and the workers, for failure messages."""
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


@dataclass
class Redis:
    """A redis-server of the test's own on a spare port, with no persistence: a restart starts it empty."""

    directory: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


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


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=REPOSITORY, env=env, stdout=output, stderr=subprocess.STDOUT)


@contextmanager
def live_processes(
    media_root: Path,
    tmp_path: Path,
    *,
    servers: int = 1,
    workers: int = 1,
    beat: bool = False,
    env: dict[str, str] | None = None,
    queues: str = "media,default,matching",
) -> Iterator[LiveStack]:
    """Start `servers` daphne processes and `workers` Celery workers (for `queues`), and Celery beat if asked."""
    ports = [_free_port() for _ in range(servers)]
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYER_PREFIX,
        "MEDIA_ROOT": str(media_root),
        "MEDIA_STORAGE": "local",
        "XUEWEN_INDEX_DIR": str(tmp_path / "index"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_CSRF_TRUSTED_ORIGINS": ",".join(f"http://127.0.0.1:{port}" for port in ports),
        "DJANGO_DEBUG": "false",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    celery = (sys.executable, "-m", "celery", "-A", "config")
    commands: list[tuple[list[str], Path, int | None]] = [
        (
            [
                *celery,
                *("worker", "-Q", queues, "-c", "1", "-n", f"worker{number}@%h"),
                *("--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"),
            ],
            log_dir / f"worker{number}.log",
            None,
        )
        for number in range(workers)
    ]
    if beat:
        schedule = str(tmp_path / "beat-schedule")
        commands.append(([*celery, "beat", "-s", schedule, "-l", "INFO"], log_dir / "beat.log", None))
    commands += [(_web_command(port), log_dir / f"daphne{number}.log", port) for number, port in enumerate(ports)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    stack = LiveStack(url=urls[0], log_dir=log_dir, urls=urls, commands=commands, environment=environment)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@contextmanager
def web_server(environment: dict[str, str], log: Path) -> Iterator[str]:
    """One web server (``python -m config.web``) with exactly ``environment`` (plus its host); yields its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    host = {"DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_CSRF_TRUSTED_ORIGINS": url}
    process = _start(_web_command(port), environment | host, log)
    try:
        _wait_for_port(port, process, log)
        yield url
    finally:
        _stop(process)


def _web_command(port: int) -> list[str]:
    return [sys.executable, "-m", "config.web", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]


async def duty_console(socket, stop: asyncio.Event, on_offer: Callable[[], object] = lambda: None) -> None:
    """A duty console as duty.js behaves: on duty, accepts each offer after a short think, finishes each answer
    after a moment (those the state sent on connecting lists too), heartbeats. ``on_offer`` hears each new offer."""

    async def later(seconds: float, message: dict) -> None:
        await asyncio.sleep(seconds)
        await socket.send(json.dumps(message))

    async def heartbeats() -> None:
        while True:
            await later(2, {"type": "duty.heartbeat"})

    await socket.send(json.dumps({"type": "duty.available", "available": True}))
    pending = {asyncio.create_task(heartbeats())}
    try:
        while not stop.is_set():
            try:
                event = json.loads(await asyncio.wait_for(socket.recv(), timeout=0.5))
            except TimeoutError:
                continue
            offers = event.get("offers", []) + ([event["offer"]] if event["type"] == "offer.created" else [])
            tickets = event.get("tickets", []) + ([event["ticket"]] if event["type"] == "ticket.assigned" else [])
            if event["type"] == "offer.created":
                on_offer()
            for offer in offers:
                accept = {"type": "offer.accept", "offer_id": offer["id"]}
                pending.add(asyncio.create_task(later(random.uniform(0.05, 0.3), accept)))
            for ticket in tickets:
                pending.add(asyncio.create_task(later(0.5, {"type": "ticket.finish", "ticket_id": ticket["id"]})))
    finally:
        for task in pending:
            task.cancel()


def tickets_finished() -> int:
    """How many questions teachers have answered (from a thread of the test: its connection is closed after)."""
    count = Ticket.objects.filter(status=Ticket.Status.FINISHED).count()
    close_old_connections()
    return count


def assert_each_answered_once(questions: int) -> None:
    """Every question was taken by exactly one teacher and answered; no offer stays open and no place leaked."""
    per_ticket = Offer.objects.filter(status=Offer.Status.ACCEPTED).values("ticket").annotate(n=Count("id"))
    assert Ticket.objects.count() == questions
    assert set(Ticket.objects.values_list("status", flat=True)) == {Ticket.Status.FINISHED}
    assert sorted(row["n"] for row in per_ticket) == [1] * questions
    assert not Offer.objects.filter(status=Offer.Status.OPEN).exists()
    assert set(Duty.objects.values_list("load", "offered")) == {(0, 0)}
    assert RoutingFact.objects.filter(kind=RoutingFact.Kind.ACCEPTED).count() == questions
    assert RoutingFact.objects.filter(kind=RoutingFact.Kind.FINISHED).count() == questions
