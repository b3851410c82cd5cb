"""Tests run against the real PostgreSQL and Redis named by DATABASE_URL and REDIS_URL.

The README's test command sets both (to the local servers) when they are unset.
"""

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from channels.layers import channel_layers
from django.conf import settings

from config.celery import app
from tests.live import Redis
from tutoring.library.index import index_reset

CELERY_QUEUES = ["default", "media", "matching"]


def pytest_configure(config: pytest.Config) -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine or not settings.REDIS_URL:
        raise pytest.UsageError(
            "Tests need PostgreSQL and Redis: set DATABASE_URL and REDIS_URL, or run them with `make test`."
        )


@pytest.fixture(autouse=True)
def media_root(tmp_path: Path, settings) -> Path:
    """Each test writes uploads into its own folder."""
    root = tmp_path / "media"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def index_dir(tmp_path: Path, settings) -> Path:
    """Each test has its own matching-index snapshot folder and starts with no index in memory: the entries an
    earlier test published are gone from the database with its rollback, and must be gone from the index too."""
    settings.XUEWEN = {**settings.XUEWEN, "INDEX_DIR": str(tmp_path / "index")}
    index_reset()
    yield tmp_path / "index"
    index_reset()


@pytest.fixture
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture(autouse=True)
def flush_redis(redis_client: redis.Redis) -> None:
    """Queued tasks, group memberships and cache keys left in Redis by one test must not leak into the next,
    nor the channel layer object: it remembers the event loop of a consumer an earlier test left receiving."""
    for key in [*redis_client.scan_iter(f"{settings.CHANNEL_LAYER_PREFIX}*"), *CELERY_QUEUES]:
        redis_client.delete(key)
    channel_layers.backends.clear()


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> str:
    """The Celery broker is unreachable: its URL names a port nothing listens on, and the connections already
    open to the real one are set aside (Celery opens them anew from the URL)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for setting in ("broker_url", "broker_write_url"):  # Celery publishes to the second, set from the first
        monkeypatch.setattr(app.conf, setting, f"redis://127.0.0.1:{port}/0")
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    return app.conf.broker_url


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Redis]:
    """A redis-server of the test's own, which the test may kill and start again (empty)."""
    server = Redis(directory=tmp_path)
    server.start()
    yield server
    server.kill()
