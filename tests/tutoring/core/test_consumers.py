import asyncio
import socket
from typing import Any

import pytest
from autobahn.exception import Disconnected
from channels.layers import channel_layers

from tutoring.core.consumers import BaseConsumer

pytestmark = pytest.mark.asyncio


class Announcer(BaseConsumer):
    """Sends an announcement when told to by its group; records its disconnect."""

    disconnected: list[int] = []

    async def connect(self) -> None:
        await self.accept()

    async def announce(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "announcement"})

    async def disconnect(self, code: int) -> None:
        Announcer.disconnected.append(code)


async def test_a_group_event_after_the_client_closed_does_not_cost_the_consumer_its_disconnect():
    """Daphne refuses to send on a closed socket (autobahn's Disconnected); the consumer goes on to its
    disconnect, which comes next."""
    inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[str] = []
    accepted, refused = asyncio.Event(), asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            refused.set()
            raise Disconnected("Attempt to send on a closed protocol")
        sent.append(message["type"])
        accepted.set()

    consumer = Announcer()
    user = type("SignedIn", (), {"is_authenticated": True})()
    running = asyncio.create_task(consumer({"type": "websocket", "user": user, "path": "/"}, inbound.get, send))
    await inbound.put({"type": "websocket.connect"})
    await asyncio.wait_for(accepted.wait(), timeout=5)
    await consumer.channel_layer.send(consumer.channel_name, {"type": "announce"})  # the client has gone meanwhile
    await asyncio.wait_for(refused.wait(), timeout=5)
    await inbound.put({"type": "websocket.disconnect", "code": 1001})

    await asyncio.wait_for(running, timeout=5)

    assert (sent, Announcer.disconnected) == (["websocket.accept"], [1001])


class Listener(BaseConsumer):
    """Joins a group at connect, as every consumer of the app does."""

    groups = ["announcements"]

    async def connect(self) -> None:
        await self.accept()

    async def announce(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "announcement"})


async def consumer_run(consumer: BaseConsumer, *, on_accept: Any = None) -> list[dict[str, Any]]:
    """Connect ``consumer`` (running ``on_accept(consumer)`` once it accepted), wait until it closes the socket,
    then disconnect; everything it sent."""
    inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []
    accepted, closed = asyncio.Event(), asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        {"websocket.accept": accepted, "websocket.close": closed}.get(message["type"], asyncio.Event()).set()

    user = type("SignedIn", (), {"is_authenticated": True})()
    running = asyncio.create_task(consumer({"type": "websocket", "user": user, "path": "/"}, inbound.get, send))
    await inbound.put({"type": "websocket.connect"})
    if on_accept is not None:
        await asyncio.wait_for(accepted.wait(), timeout=5)
        await on_accept(consumer)
    await asyncio.wait_for(closed.wait(), timeout=30)
    await inbound.put({"type": "websocket.disconnect", "code": 4503})
    await asyncio.wait_for(running, timeout=30)
    return sent


async def test_a_socket_is_told_to_come_back_when_the_channel_layer_lost_redis():
    async def lost(consumer: BaseConsumer) -> None:
        await consumer.channel_layer.send(consumer.channel_name, {"type": "channel_layer.lost"})

    assert await consumer_run(Listener(), on_accept=lost) == [
        {"type": "websocket.accept", "subprotocol": None},
        {"type": "websocket.close", "code": 4503},
    ]


async def test_a_socket_busy_when_the_layer_lost_redis_is_told_at_its_next_message():
    async def lost_meanwhile(consumer: BaseConsumer) -> None:
        consumer.channel_layer.generation += 1  # as config.channels counts a loss whose message this one missed
        await consumer.channel_layer.send(consumer.channel_name, {"type": "announce"})

    sent = await consumer_run(Listener(), on_accept=lost_meanwhile)

    assert sent == [{"type": "websocket.accept", "subprotocol": None}, {"type": "websocket.close", "code": 4503}]


async def test_a_socket_that_cannot_join_its_groups_while_redis_is_down_is_told_to_come_back(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "config.channels.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{port}/0"}]},
        }
    }
    channel_layers.backends.clear()

    assert (await consumer_run(Listener()))[0] == {"type": "websocket.close", "code": 4503}
