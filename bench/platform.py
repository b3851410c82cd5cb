"""The platform as in production, on this machine, for benchmarks: PostgreSQL, Redis, daphne servers and
Celery workers in their own processes, on a scratch database.

Everything a ``Platform`` starts or creates (a database, Redis keys, a temporary folder, processes) is
removed again when its context exits. Two benches run side by side when each has its own ``BENCH_TAG`` (a suffix of
the database's name and the Redis keys' prefix) and ``BENCH_REDIS_URL`` (another Redis database than the default's).
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
import redis

from bench.postgres import POSTGRES_URL, database_drop, database_recreate

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
TAG = os.environ.get("BENCH_TAG", "")
CELERY_QUEUES = ("default", "media", "matching")
START_TIMEOUT_SECONDS = 120


class PlatformError(RuntimeError):
    pass


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Platform:
    """``with Platform(name="routing", seed=[...], servers=2) as platform:`` a migrated database, seeded by
    ``python SEED...`` run with the platform's environment, and ``servers`` daphne processes serving it.
    Workers and beat are started separately, so that the web tier can be measured alone first."""

    def __init__(
        self, *, name: str, seed: Sequence[str], servers: int = 1, environment: dict[str, str] | None = None
    ) -> None:
        self.database = f"xuewen_bench_{name}{TAG}"
        self.prefix = f"bench-{name}{TAG}"
        self.seed = list(seed)
        self.ports = [_free_port() for _ in range(servers)]
        self.base_urls = [f"http://{HOST}:{port}" for port in self.ports]
        self.base_url = self.base_urls[0]
        self.database_url = f"{POSTGRES_URL}/{self.database}"
        self.extra_environment = environment or {}
        self.secret_key = secrets.token_urlsafe(40)  # one for all processes: sessions are signed with it
        self._directory = Path(tempfile.mkdtemp(prefix=f"xuewen-bench-{name}-"))
        (self._directory / "var" / "static").mkdir(parents=True)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._redis = redis.Redis.from_url(REDIS_URL)

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": self.secret_key,
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DJANGO_CSRF_TRUSTED_ORIGINS": ",".join(self.base_urls),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": REDIS_URL,
            "CHANNEL_LAYER_PREFIX": self.prefix,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "XUEWEN_VAR_DIR": str(self._directory / "var"),
            "MEDIA_ROOT": str(self._directory / "media"),
            "LOG_LEVEL": "WARNING",
            "DATABASE_POOL_MAX_SIZE": os.environ.get("DATABASE_POOL_MAX_SIZE", "20"),  # as in docker-compose
            **self.extra_environment,
        }

    def __enter__(self) -> "Platform":
        try:
            self._redis_reset()
            database_recreate(self.database)
            self.run("manage.py", "migrate", "--no-input")
            self.run(*self.seed)
            for number in range(len(self.ports)):
                self._web_start(number)
            for url in self.base_urls:
                self._wait_for_web(url)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        for name in list(self.processes):
            self.stop(name)
        self._redis_reset()
        database_drop(self.database)
        shutil.rmtree(self._directory, ignore_errors=True)

    def _web_start(self, number: int) -> None:
        port = str(self.ports[number])
        self.start(f"web{number}", "-m", "config.web", "-b", HOST, "-p", port, "config.asgi:application")

    def web_restart(self, number: int) -> None:
        """Stop the daphne process ``web<number>`` and start a fresh one on its port; waits until it serves."""
        self.stop(f"web{number}")
        self._web_start(number)
        self._wait_for_web(self.base_urls[number])

    def worker_start(self, name: str, queues: str) -> None:
        """A Celery worker with one process for these queues; waits until it is ready."""
        log = self.start(
            name,
            *("-m", "celery", "-A", "config", "worker", "-Q", queues, "--pool=solo", "--loglevel=INFO"),
            *("--without-gossip", "--without-mingle", f"--hostname=bench-{name}@%h"),
        )
        self.wait_until(lambda: b" ready." in log.read_bytes(), f"the worker {name}")

    def beat_start(self) -> None:
        self.start(
            "beat", "-m", "celery", "-A", "config", "beat", "--loglevel=WARNING", "-s", str(self._directory / "beat")
        )

    def resident_bytes(self, name: str) -> int:
        """The resident memory of one of the platform's processes."""
        status = Path(f"/proc/{self.processes[name].pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) * 1024

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each of the platform's processes, and by PostgreSQL and Redis (all their
        processes on this machine) and this client."""
        used = {name: process_cpu_seconds(process.pid) for name, process in self.processes.items()}
        for service in ("postgres", "redis-server"):
            used[service] = sum(
                process_cpu_seconds(int(pid.name))
                for pid in Path("/proc").iterdir()
                if pid.name.isdigit() and _command_name(int(pid.name)) == service
            )
        used["client"] = sum(os.times()[:2])
        return used

    def run(self, *arguments: str) -> str:
        result = subprocess.run(
            [sys.executable, *arguments], cwd=REPO, env=self.environment(), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise PlatformError(f"{' '.join(arguments)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start(self, name: str, *arguments: str) -> Path:
        log = self._directory / f"{name}.log"
        with log.open("wb") as output:
            self.processes[name] = subprocess.Popen(
                [sys.executable, *arguments],
                cwd=REPO,
                env=self.environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return log

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _wait_for_web(self, url: str) -> None:
        def ready() -> bool:
            try:
                return httpx.get(f"{url}/login/", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        self.wait_until(ready, f"daphne at {url}")

    def wait_until(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not ready():
            if any(process.poll() is not None for process in self.processes.values()):
                raise PlatformError(f"A process exited while waiting for {what}:\n{self.logs()}")
            if time.monotonic() > deadline:
                raise PlatformError(f"{what} was not ready after {START_TIMEOUT_SECONDS} s:\n{self.logs()}")
            time.sleep(0.2)

    def _log_tail(self, name: str, lines: int = 30) -> str:
        path = self._directory / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def logs(self, lines: int = 30) -> str:
        """The last lines each process wrote, for a failure report."""
        return "\n".join(f"--- {name}.log\n{self._log_tail(name, lines)}" for name in self.processes)

    def queue_length(self, queue: str) -> int:
        return int(self._redis.llen(queue))

    def queue_purge(self, queue: str) -> int:
        """Drop the tasks still waiting in a Celery queue; returns how many there were."""
        waiting = self.queue_length(queue)
        self._redis.delete(queue)
        return waiting

    def _redis_reset(self) -> None:
        patterns = (f"{self.prefix}*", "_kombu.binding*")
        keys = [*CELERY_QUEUES, "unacked", "unacked_index", *(k for p in patterns for k in self._redis.scan_iter(p))]
        self._redis.delete(*keys)
