"""The Celery worker as deployed (config.celery, the solo pool of tests.live) rides out a Redis restart."""

import time
from pathlib import Path

import pytest
from kombu import Connection

from config.celery import app
from tests.live import Redis, live_processes

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

RECOVERY_SECONDS = 30  # the worker retries its broker connection after 2, 4, 6… s


def wait_for(check, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {seconds} s")
        time.sleep(0.1)


def test_a_worker_holding_a_countdown_task_survives_a_redis_restart(
    media_root: Path, tmp_path: Path, private_redis: Redis
):
    """Celery 5.7.0's worker died here (AttributeError while restoring the task it held): after a Redis crash no
    task ran again until someone restarted it."""
    env = {"REDIS_URL": private_redis.url}
    with live_processes(media_root, tmp_path, env=env, queues="default") as stack, stack.logs_on_failure():
        worker = stack.processes[0]
        log = stack.log_dir / "worker0.log"
        with Connection(private_redis.url) as broker:
            # A pass due in ten minutes: the worker holds it unacknowledged meanwhile.
            app.send_task("tutoring.routing.tasks.dispatch", args=[0], countdown=600, connection=broker)
            wait_for(lambda: broker.default_channel.client.hlen("unacked") == 1, "the worker holding the task", 30)
        private_redis.kill()
        wait_for(lambda: "Connection to broker lost" in log.read_text(), "the worker noticing", 30)
        private_redis.start()

        with Connection(private_redis.url) as broker:
            task = app.send_task("tutoring.routing.tasks.dispatch", args=[0], connection=broker)
        wait_for(lambda: f"[{task.id}] succeeded" in log.read_text(), "a task run after the restart", RECOVERY_SECONDS)
        assert worker.poll() is None
        assert "Unrecoverable error" not in log.read_text()
