from celery import shared_task

from media.errors import MediaProcessingError
from tutoring.lectures import services
from tutoring.sessions.services import RENDER_ATTEMPTS


@shared_task(
    autoretry_for=(MediaProcessingError,),
    retry_backoff=30,
    max_retries=RENDER_ATTEMPTS - 1,
    soft_time_limit=4 * 3600,  # the renderer takes up to a minute plus the video's length: 3 hours and overrun
    time_limit=4 * 3600 + 100,
)
def lecture_recording_render(recording_id: int) -> None:
    services.lecture_recording_render(recording_id=recording_id)


@shared_task(soft_time_limit=600, time_limit=660)  # 60 pages take well under a minute
def lecture_slides_render(deck_id: int) -> None:
    services.lecture_slides_render(deck_id=deck_id)


@shared_task(time_limit=60)
def lectures_stalled_requeue() -> None:
    services.lectures_stalled_requeue()
