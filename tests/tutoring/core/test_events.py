import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tutoring.core import events

pytestmark = pytest.mark.django_db


@pytest.fixture
def process_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.AbstractEventLoop]:
    """A Celery worker's loop for channel-layer calls (``worker_process_init``), stopped after the test."""
    monkeypatch.setattr(events, "_process_loop", None)
    events.process_loop_start()
    loop = events._process_loop
    assert loop is not None
    yield loop
    loop.call_soon_threadsafe(loop.stop)


def test_a_worker_sends_every_event_through_its_one_loop(
    process_loop: asyncio.AbstractEventLoop,
    django_capture_on_commit_callbacks: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("question.1", channel)
    sent_on: list[asyncio.AbstractEventLoop] = []
    group_send = layer.group_send

    async def recorded(group: str, message: dict[str, Any]) -> None:
        sent_on.append(asyncio.get_running_loop())
        await group_send(group, message)

    monkeypatch.setattr(layer, "group_send", recorded)

    with django_capture_on_commit_callbacks(execute=True):
        events.send_event_on_commit("question.1", {"type": "question.status", "n": 1})
    with django_capture_on_commit_callbacks(execute=True):
        events.send_events_on_commit([("question.1", {"type": "question.status", "n": 2})])

    async def receive_two() -> list[dict[str, Any]]:
        return [await layer.receive(channel), await layer.receive(channel)]

    assert [event["n"] for event in async_to_sync(receive_two)()] == [1, 2]
    assert sent_on == [process_loop, process_loop]
