from celery import shared_task
from django.db import InterfaceError, OperationalError

from tutoring.core.events import reply_send
from tutoring.library import index, services

TRANSIENT = (OperationalError, InterfaceError, ConnectionError)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, soft_time_limit=60, time_limit=90)
def question_match(question_id: int) -> None:
    services.question_match(question_id=question_id)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, soft_time_limit=60, time_limit=90)
def entry_knowledge_points_tag(entry_id: int) -> None:
    services.entry_knowledge_points_tag(entry_id=entry_id)


@shared_task(soft_time_limit=10, time_limit=20)
def library_search(text: str, subject: str, grade: int, reply_to: str) -> None:
    """For the match API, which waits for the answer on the channel ``reply_to``: the index lives in matching
    workers."""
    reply_send(reply_to, {"result": services.library_search_result(text=text, subject=subject, grade=grade)})


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3, soft_time_limit=3600, time_limit=3700)
def answer_video_process(answer_id: int) -> None:
    services.answer_video_process(answer_id=answer_id)


@shared_task(time_limit=60)
def library_stalled_requeue() -> None:
    services.library_stalled_requeue()


@shared_task(time_limit=600)
def index_snapshot_save() -> None:
    index.index_snapshot_save()
