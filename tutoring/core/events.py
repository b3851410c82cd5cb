"""Realtime events: sent only from services, only after the transaction commits; and replies on the channel
layer, for a web request that waits for a worker's answer without holding a thread."""

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol, cast

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


class _ChannelLayer(Protocol):
    """What is used here of the layer the settings configure: channels' in-memory one or channels_redis's."""

    async def send(self, channel: str, message: dict[str, Any]) -> None: ...

    async def receive(self, channel: str) -> dict[str, Any]: ...

    async def new_channel(self, prefix: str = ...) -> str: ...

    async def group_send(self, group: str, message: dict[str, Any]) -> None: ...


def _channel_layer() -> _ChannelLayer:
    # The settings always configure the default layer, and both layers they choose from take a prefix in
    # new_channel; types-channels allows None here and gives the base class's new_channel no prefix.
    return cast(_ChannelLayer, get_channel_layer())


_process_loop: asyncio.AbstractEventLoop | None = None


def process_loop_start() -> None:
    """Run this process's channel-layer calls on one event loop of its own, in a thread, for the process's life
    (Celery workers, from ``worker_process_init``). Outside an event loop ``async_to_sync`` makes a new loop per
    call, and channels_redis a new connection to Redis per loop: a connection opened and closed for every
    event a task sends. Web processes keep ``async_to_sync``, which hands the call to their server's loop."""
    global _process_loop
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="channel-layer", daemon=True).start()
    _process_loop = loop


def _layer_call(function: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
    """Run ``function(*args)`` (channel-layer work) from synchronous code and wait for it."""
    if _process_loop is None:
        async_to_sync(function)(*args)
    else:
        asyncio.run_coroutine_threadsafe(function(*args), _process_loop).result()


def send_event_on_commit(group: str, event: dict[str, Any]) -> None:
    """Send ``event`` to a channel-layer group once the current transaction commits.

    Outside a transaction it is sent at once. A failure to send is logged, never
    raised: the database already holds the truth and clients reload it on connect.
    """
    send_events_on_commit([(group, event)])


def send_events_on_commit(events: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Send many (group, event) pairs after commit, concurrently: one queue refresh to every waiting student
    costs one round trip through the layer, not one per student."""

    async def send_all() -> None:
        layer = _channel_layer()
        results = await asyncio.gather(
            *(layer.group_send(group, event) for group, event in events), return_exceptions=True
        )
        for (group, event), result in zip(events, results, strict=True):
            if isinstance(result, BaseException):
                logger.error(
                    "event.send_failed", exc_info=result, extra={"group": group, "event_type": event.get("type")}
                )

    def send() -> None:
        try:
            _layer_call(send_all)
        except Exception:
            logger.exception("event.send_failed", extra={"events": len(events)})

    if events:
        transaction.on_commit(send)


async def reply_channel_new() -> str:
    """A channel of this process's own for one answer (see ``reply_receive``)."""
    return await _channel_layer().new_channel("reply.")


def reply_send(channel: str, message: dict[str, Any]) -> None:
    """A worker's answer to the request waiting on ``channel``."""
    _layer_call(_channel_layer().send, channel, {"type": "reply", **message})


async def reply_receive(channel: str, *, timeout: float) -> dict[str, Any] | None:
    """The answer sent to ``channel``, awaited on the event loop (no thread waits); None after ``timeout``, or
    when the channel layer lost Redis meanwhile (``config.channels``: the answer cannot come)."""
    try:
        message = await asyncio.wait_for(_channel_layer().receive(channel), timeout)
    except TimeoutError:
        return None
    return message if message["type"] == "reply" else None
