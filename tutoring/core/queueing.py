"""Celery tasks queued after the transaction commits, best-effort: with Redis down the change is committed all the
same (persist first, then notify), and a sweep finds the work the task would have done in the database."""

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from celery import Task
from django.core.cache import cache
from django.db import transaction

from tutoring.core.errors import OUTAGE_ERRORS

logger = logging.getLogger(__name__)


def queue_on_commit(send: Callable[[], object], *, what: str) -> None:
    """Call ``send`` (which queues a task: ``lambda: task.delay(...)``) once the current transaction commits, at
    once outside one; a broker that cannot be reached is logged as ``what``, never raised."""

    def queue() -> None:
        try:
            send()
        except OUTAGE_ERRORS as error:
            logger.warning("task.not_queued", extra={"task": what, "error": repr(error)})

    transaction.on_commit(queue)


def stalled_requeue(task: Task, ids: Iterable[int], *, grace: timedelta) -> int:
    """Queue ``task`` again for each of ``ids``: rows whose work is still pending ``grace`` after it was queued, so
    its message was lost (a broker restarted empty, or unreachable when the task was to be queued). Each row once
    per ``grace`` at most, by a mark in the cache: a backlog still queued behind busy workers is not queued twice.
    The marks live in Redis with the queue, and a restart that loses the one loses the other. A broker that
    cannot be reached raises (the rows stay pending for the next run). Returns how many were queued."""
    queued = 0
    for row_id in ids:
        mark = f"requeued.{task.name}.{row_id}"
        if not cache.add(mark, 1, timeout=grace.total_seconds()):
            continue
        try:
            task.delay(row_id)
        except OUTAGE_ERRORS:
            cache.delete(mark)
            raise
        queued += 1
    if queued:
        logger.warning("task.requeued", extra={"task": task.name, "count": queued})
    return queued
