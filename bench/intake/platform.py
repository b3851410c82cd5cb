"""The platform as in production, on this machine: PostgreSQL, Redis, one daphne and one media worker.

Everything the bench starts or creates (a database, Redis keys, a temporary
folder, two processes) is removed again when the ``Platform`` context exits.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import httpx
import psycopg
import redis

from bench.postgres import POSTGRES_URL, database_drop, database_recreate

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
DATABASE = "xuewen_bench_intake"
REDIS_URL = "redis://127.0.0.1:6379/5"
CHANNEL_LAYER_PREFIX = "bench-intake"
CELERY_QUEUES = ("default", "media", "matching")
START_TIMEOUT_SECONDS = 120


class PlatformError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Platform:
    """``with Platform(students=51) as platform:`` a migrated database with students, and daphne serving it.

    The media worker is started separately (``worker_start``) so that the web
    tier can be measured alone first.
    """

    def __init__(self, *, students: int) -> None:
        self.students = students
        self.port = _free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.database_url = f"{POSTGRES_URL}/{DATABASE}"
        self._directory = Path(tempfile.mkdtemp(prefix="xuewen-bench-intake-"))
        (self._directory / "var" / "static").mkdir(parents=True)
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._redis = redis.Redis.from_url(REDIS_URL)

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DJANGO_CSRF_TRUSTED_ORIGINS": self.base_url,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": REDIS_URL,
            "CHANNEL_LAYER_PREFIX": CHANNEL_LAYER_PREFIX,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "XUEWEN_VAR_DIR": str(self._directory / "var"),
            "MEDIA_ROOT": str(self._directory / "media"),
            # The students of the load phases each send a few questions a minute more than the default allows.
            "XUEWEN_QUESTIONS_PER_MINUTE": "1000",
            "LOG_LEVEL": "WARNING",
        }

    def __enter__(self) -> "Platform":
        try:
            self._redis_reset()
            database_recreate(DATABASE)
            self._run("manage.py", "migrate", "--no-input")
            self._run("-m", "bench.intake.seed", str(self.students))
            self._start("web", "-m", "config.web", "-b", HOST, "-p", str(self.port), "config.asgi:application")
            self._wait_for_web()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        for name in list(self._processes):
            self._stop(name)
        self._redis_reset()
        database_drop(DATABASE)
        shutil.rmtree(self._directory, ignore_errors=True)

    def worker_start(self) -> None:
        """One Celery worker with one process for the ``media`` (and ``default``) queue; waits until it is ready."""
        log = self._start(
            "worker",
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "media,default",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname=bench-intake@%h",
        )
        self._wait_until(lambda: b" ready." in log.read_bytes(), "the media worker")

    def questions_stored(self, idempotency_keys: Sequence[str]) -> int:
        """How many of these questions are in the database with their photo."""
        with psycopg.connect(self.database_url) as connection:
            row = connection.execute(
                "SELECT count(*) FROM questions_question AS question WHERE idempotency_key = ANY(%s)"
                " AND EXISTS (SELECT FROM questions_attachment WHERE question_id = question.id)",
                [list(idempotency_keys)],
            ).fetchone()
        return int(row[0]) if row else 0

    def media_queue_purge(self) -> int:
        """Drop the tasks still waiting for the media worker; returns how many there were."""
        waiting = self._redis.llen("media")
        self._redis.delete("media")
        return int(waiting)

    def _log_tail(self, name: str, lines: int = 30) -> str:
        path = self._directory / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _run(self, *arguments: str) -> None:
        result = subprocess.run(
            [sys.executable, *arguments], cwd=REPO, env=self._environment(), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise PlatformError(f"{' '.join(arguments)} failed:\n{result.stdout}{result.stderr}")

    def _start(self, name: str, *arguments: str) -> Path:
        log = self._directory / f"{name}.log"
        with log.open("wb") as output:
            self._processes[name] = subprocess.Popen(
                [sys.executable, *arguments],
                cwd=REPO,
                env=self._environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return log

    def _stop(self, name: str) -> None:
        process = self._processes.pop(name)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _wait_for_web(self) -> None:
        def ready() -> bool:
            try:
                return httpx.get(f"{self.base_url}/login/", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        self._wait_until(ready, "daphne")

    def _wait_until(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not ready():
            if any(process.poll() is not None for process in self._processes.values()):
                raise PlatformError(f"A process exited while waiting for {what}:\n{self.logs()}")
            if time.monotonic() > deadline:
                raise PlatformError(f"{what} was not ready after {START_TIMEOUT_SECONDS} s:\n{self.logs()}")
            time.sleep(0.2)

    def logs(self) -> str:
        """The last lines each process wrote, for a failure report."""
        return "\n".join(f"--- {name}.log\n{self._log_tail(name)}" for name in self._processes)

    def _redis_reset(self) -> None:
        patterns = (f"{CHANNEL_LAYER_PREFIX}*", "_kombu.binding*")
        keys = [*CELERY_QUEUES, "unacked", "unacked_index", *(k for p in patterns for k in self._redis.scan_iter(p))]
        self._redis.delete(*keys)
