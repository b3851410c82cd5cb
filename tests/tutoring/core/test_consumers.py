import asyncio
from typing import Any

import pytest
from autobahn.exception import Disconnected

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
