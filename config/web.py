"""Starts daphne (same arguments) without Twisted's parsing of multipart request bodies.

``twisted.web.http.Request`` parses every multipart POST body into ``request.args``
on the event-loop thread unless it is built with ``parsePOSTFormSubmission=False``.
Daphne never reads ``args``: it hands the raw body to Django, which parses it again.
Measured on photo submits, that parsing took a quarter of a web process's CPU and
stalled every other connection meanwhile. Usage: ``python -m config.web [daphne args]``.

Each websocket's scope also carries its autobahn protocol (the ``xuewen.prepared`` extension,
``tutoring.lectures.broadcast.PREPARED``), so that a lecture's frame, the same for a thousand viewers, is framed
once and its bytes written to each socket instead of going through each socket's consumer and daphne.

With the embedded defaults (eager tasks, no broker) no beat process runs, so this process runs the beat
schedule itself in a background thread: offers still expire and silent duty consoles still go off duty.
"""

import logging
import os
import threading
import time
from typing import Any

from daphne import http_protocol, server
from daphne.cli import CommandLineInterface

logger = logging.getLogger(__name__)


class WebRequest(http_protocol.WebRequest):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)


def embedded_beat() -> None:
    """Run every CELERY_BEAT_SCHEDULE entry at its interval, in this process (eager tasks only)."""
    from config.celery import app

    app.loader.import_default_modules()
    schedule = {entry["task"]: float(entry["schedule"]) for entry in app.conf.beat_schedule.values()}
    due = dict.fromkeys(schedule, time.monotonic())
    while True:
        for name, interval in schedule.items():
            if time.monotonic() >= due[name]:
                due[name] = time.monotonic() + interval
                try:
                    app.tasks[name].apply()
                except Exception:
                    logger.exception("embedded_beat.failed", extra={"task": name})
        time.sleep(1)


def prepared_frames(extension: str) -> None:
    """Give each websocket application its connection's autobahn protocol under ``extension`` in the scope."""
    create_application = server.Server.create_application

    def with_wire(self: server.Server, protocol: Any, scope: dict[str, Any]) -> Any:
        if scope.get("type") == "websocket":
            scope["extensions"] = {**(scope.get("extensions") or {}), extension: protocol}
        return create_application(self, protocol, scope)

    server.Server.create_application = with_wire


def main() -> None:
    # daphne's HTTPFactory.buildProtocol looks the request class up in its module.
    http_protocol.WebRequest = WebRequest
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    django.setup()
    from tutoring.lectures.broadcast import PREPARED

    prepared_frames(PREPARED)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=embedded_beat, name="embedded-beat", daemon=True).start()
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
