"""Starts daphne (same arguments) without Twisted's parsing of multipart request bodies.

``twisted.web.http.Request`` parses every multipart POST body into ``request.args``
on the event-loop thread unless it is built with ``parsePOSTFormSubmission=False``.
Daphne never reads ``args``: it hands the raw body to Django, which parses it again.
Measured on photo submits, that parsing took a quarter of a web process's CPU and
stalled every other connection meanwhile. Usage: ``python -m config.web [daphne args]``.

Each websocket's scope also carries a ``Wire`` to its connection (the ``xuewen.prepared`` extension,
``tutoring.lectures.broadcast.PREPARED``), so that a lecture's frame, the same for a thousand viewers, is framed
once and its bytes written to each socket instead of going through each socket's consumer and daphne.

A websocket's upgrade request is let go once the socket is open (``WebRequest.process``): Twisted would otherwise
keep it, with its headers and buffers, for the socket's whole life.

Once it runs, the process's startup objects are frozen out of the garbage collector's reach and its young
collections made rarer (``collector_settled``): full collections stopped the event loop for a fifth of a second.

With the embedded defaults (eager tasks, no broker) no beat process runs, so this process runs the beat
schedule itself in a background thread: offers still expire and silent duty consoles still go off duty.
"""

import gc
import logging
import os
import threading
import time
from typing import Any

from daphne import http_protocol, server
from daphne.cli import CommandLineInterface
from twisted.internet import reactor, tcp

logger = logging.getLogger(__name__)


class WebRequest(http_protocol.WebRequest):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

    def process(self) -> Any:
        """As daphne does; then, once a websocket's handshake took the connection over (daphne hands the
        transport to its protocol and leaves this request without one), the HTTP channel stops being the
        transport's producer. It was the channel's only holder: each idle socket kept its upgrade request
        alive, with the request's headers, buffers and the channel (about 4 KiB). The channel's part as a
        producer had ended with the upgrade: a request that never finishes leaves its pause and resume no-ops."""
        processed = super().process()
        if self.transport is None:
            self.channel.transport.unregisterProducer()
        return processed


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


class Wire:
    """A websocket's connection as daphne holds it: autobahn's protocol over Twisted's transport.

    ``frame`` makes a message's bytes once (a server's frames are not masked: the same bytes for every socket);
    ``write`` puts them on this socket. Twisted's own write appends to the transport's buffer and asks the
    event loop to watch the socket, and the loop sends it on its next turn and stops watching: two changes of
    the loop's epoll set and a round of the loop per message, most of a broadcast's cost. When nothing of the
    socket's is waiting to be sent, ``write`` sends at once, as asyncio's transports do, and gives Twisted only
    what the kernel did not take (or a socket error, which Twisted's write finds and closes the connection on).
    """

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol  # daphne's WebSocketProtocol, an autobahn WebSocketServerProtocol

    def frame(self, payload: bytes, *, binary: bool) -> Any:
        return self.protocol.factory.prepareMessage(payload, isBinary=binary)

    def write(self, frame: Any) -> None:
        protocol = self.protocol
        if protocol.state != protocol.STATE_OPEN:  # closing: its disconnect comes next
            return
        transport = protocol.transport
        if not (
            isinstance(transport, tcp.Connection)  # not TLS, whose transport encrypts on its own
            and protocol._perMessageCompress is None  # daphne never agrees to compression
            and not protocol.send_queue
            and transport.connected
            and not transport._writeDisconnected
            and not transport._tempDataBuffer
            and len(transport.dataBuffer) == transport.offset
        ):
            protocol.sendPreparedMessage(frame)
            return
        data = frame.payloadHybi
        try:
            sent = transport.socket.send(data)
        except OSError:  # full (BlockingIOError) or broken: Twisted takes it from here
            sent = 0
        if sent < len(data):
            transport.write(data[sent:])


def prepared_frames(extension: str) -> None:
    """Give each websocket application a ``Wire`` to its connection under ``extension`` in the scope."""
    create_application = server.Server.create_application

    def with_wire(self: server.Server, protocol: Any, scope: dict[str, Any]) -> Any:
        if scope.get("type") == "websocket":
            scope["extensions"] = {**(scope.get("extensions") or {}), extension: Wire(protocol)}
        return create_application(self, protocol, scope)

    server.Server.create_application = with_wire


# Young collections every 10,000 allocations instead of CPython's 700 (the older generations' as by default).
COLLECTOR_THRESHOLDS = (10_000, 10, 10)


def collector_settled() -> None:
    """Once the server runs, with the application and its URLconf loaded: what is alive now lives as long as
    the process and goes to the collector's permanent generation (``gc.freeze``), which no collection traverses
    again; and young collections run less often, so that fewer of a message's short-lived objects (a frame to a
    thousand sockets, its coroutines) live long enough to be promoted and fill the oldest generation.

    Measured with ``bench.lecture`` (1,000 viewers on one process): a full collection traversed the 240,000
    objects of the startup and the 240,000 of the sockets every 5-6 s, each stopping the event loop for 100-250
    ms, and the board's p99 was 219-690 ms over six runs, as many of them fell in the 20 s of drawing. With both
    settings none came in the drawing: p99 207 ms."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (loaded now, not by the first request)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


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
    reactor.callWhenRunning(collector_settled)
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
