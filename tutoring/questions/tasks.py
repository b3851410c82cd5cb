from celery import shared_task
from django.db import InterfaceError, OperationalError

from tutoring.questions import services


@shared_task(
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=300,
    time_limit=330,
)
def question_understand(question_id: int) -> None:
    services.question_understand(question_id=question_id)


@shared_task(time_limit=60)
def questions_stalled_requeue() -> None:
    services.questions_stalled_requeue()
