from celery import shared_task

from media.errors import MediaProcessingError
from tutoring.sessions import services


@shared_task(
    autoretry_for=(MediaProcessingError,),
    retry_backoff=30,
    max_retries=services.RENDER_ATTEMPTS - 1,
    soft_time_limit=1800,
    time_limit=1900,
)
def recording_render(recording_id: int) -> None:
    services.recording_render(recording_id=recording_id)


@shared_task(time_limit=60)
def sessions_sweep() -> None:
    services.sessions_sweep()
