from celery import shared_task
from django.db import InterfaceError, OperationalError

from tutoring.routing import services

TRANSIENT = (OperationalError, InterfaceError, ConnectionError)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, soft_time_limit=30, time_limit=40)
def dispatch(subject_id: int) -> None:
    services.dispatch(subject_id=subject_id)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, soft_time_limit=30, time_limit=40)
def offers_expire_due() -> None:
    services.offers_expire_due()


@shared_task(soft_time_limit=30, time_limit=40)
def queue_positions_send(subject_id: int) -> None:
    services.queue_positions_send(subject_id=subject_id)


@shared_task(soft_time_limit=60, time_limit=90, expires=30)
def routing_sweep() -> None:
    services.routing_sweep()
