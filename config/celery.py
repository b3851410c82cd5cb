import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("xuewen")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def channel_layer_loop(**kwargs: object) -> None:
    """A worker's events go through one event loop and its connections for the process's life."""
    from tutoring.core.events import process_loop_start

    process_loop_start()


@worker_process_init.connect
def index_warm(**kwargs: object) -> None:
    """Matching workers (XUEWEN_INDEX_WARM=1) load the similar-question index before their first task."""
    if os.environ.get("XUEWEN_INDEX_WARM") == "1":
        from tutoring.library.index import index_get  # Django is set up only once the worker runs

        index_get()
