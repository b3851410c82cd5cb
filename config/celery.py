import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("xuewen")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def index_warm(**kwargs: object) -> None:
    """Matching workers (XUEWEN_INDEX_WARM=1) load the similar-question index before their first task."""
    if os.environ.get("XUEWEN_INDEX_WARM") == "1":
        from tutoring.library.index import index_get  # Django is set up only once the worker runs

        index_get()
