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
