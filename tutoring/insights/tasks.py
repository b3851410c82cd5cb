from celery import shared_task
from django.db import InterfaceError, OperationalError

from tutoring.insights import clusters, rollups

TRANSIENT = (OperationalError, InterfaceError, ConnectionError)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3, soft_time_limit=600, time_limit=660)
def insights_refresh() -> None:
    rollups.insights_refresh()


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3, soft_time_limit=1800, time_limit=1860)
def clusters_build_due() -> None:
    clusters.clusters_build_due()
