"""The base of every websocket consumer: authentication and inbound message checks."""

import json
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from asgiref.typing import ASGISendCallable, ASGISendEvent, WebSocketConnectEvent
from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tutoring.core.errors import OUTAGE_ERRORS

if TYPE_CHECKING:
    from tutoring.accounts.models import User

logger = logging.getLogger(__name__)

MAX_INBOUND_BYTES = 64 * 1024
COME_BACK = 4503  # "come back": the client reconnects (ws.js does for every code but a refusal)

P = ParamSpec("P")
R = TypeVar("R")


def database_call(function: Callable[P, R], *, executor: ThreadPoolExecutor | None = None) -> Callable[P, Awaitable[R]]:
    """Run a consumer's ORM work on the shared thread pool (or on ``executor``). Channels' default
    (thread-sensitive) runs every socket's database work of a web process on one thread, so one slow call holds
    up every other socket's heartbeat, accept and snapshot, and the events queued behind them."""
    return database_sync_to_async(function, thread_sensitive=False, executor=executor)


class BaseConsumer(AsyncJsonWebsocketConsumer):
    """Rejects anonymous users at the handshake and answers bad messages with an error event.

    Subclasses list the inbound ``type`` values they accept in ``inbound_types``;
    ``foo.bar`` is handled by ``receive_foo_bar(content)``. Anything else gets
    ``{"type": "error", ...}`` and the connection (and its state) stays as it was.
    """

    inbound_types: frozenset[str] = frozenset({"ping"})

    async def __call__(self, scope: Any, receive: Any, send: ASGISendCallable) -> None:
        """As channels does, with sends to a socket that has just closed dropped: an event of a group can be
        dispatched after the client closed and before daphne's ``websocket.disconnect`` arrives, and daphne's
        refusal to send would end the consumer there, without its ``disconnect``: a duty console, a room's
        presence would stay open. The disconnect comes next and runs as usual."""

        async def send_unless_closed(message: ASGISendEvent) -> None:
            try:
                await send(message)
            except Disconnected:
                logger.info("socket.send_after_close", extra={"type": message.get("type")})

        await super().__call__(scope, receive, send_unless_closed)

    @property
    def user(self) -> "User":
        """The signed-in user: ``websocket_connect`` refuses every other socket before any handler runs."""
        # The scope holds channels' lazy proxy of the session's user; types-channels types it as an optional
        # AbstractBaseUser, and only sockets whose user is signed in get past the handshake.
        return cast("User", self.scope.get("user"))

    async def dispatch(self, message: dict[str, Any]) -> None:
        """As channels does, without its hop to the one sync thread to close stale database connections before
        every message (every event relayed to every socket): these consumers never use the ORM on the event
        loop, and ``database_call`` closes stale connections around each call."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        if self._layer_lost_since_joined() and message["type"] != "websocket.disconnect":
            await self.close(code=COME_BACK)  # the layer's channel_layer.lost came while this one was busy
            return
        try:
            await handler(message)
        except OUTAGE_ERRORS as error:  # Redis is down: joining a group or sending to one failed
            if message["type"] == "websocket.disconnect":
                raise StopConsumer from error
            logger.warning("socket.outage", extra={"type": message["type"], "error": repr(error)})
            await self.close(code=COME_BACK)

    def _layer_lost_since_joined(self) -> bool:
        """Whether the channel layer lost Redis (``config.channels`` counts each loss in ``generation``) since this
        socket began to join its groups."""
        joined = getattr(self, "layer_generation", None)
        return joined is not None and getattr(self.channel_layer, "generation", 0) != joined

    async def channel_layer_lost(self, event: dict[str, Any]) -> None:
        """The channel layer lost Redis (``config.channels``): this socket's groups, and events sent meanwhile, may
        be gone. The client comes back and gets the current state on connect, as after any drop."""
        await self.close(code=COME_BACK)

    async def websocket_connect(self, message: WebSocketConnectEvent) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(4401)
            return
        self.layer_generation = getattr(self.channel_layer, "generation", 0)
        await super().websocket_connect(message)

    async def refuse(self, code: int) -> None:
        """Accept, then close with ``code``: a refused handshake reaches browsers only as 1006."""
        await self.accept()
        await self.close(code=code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None or len(text_data) > MAX_INBOUND_BYTES:
            await self.send_error("invalid_message", "Messages must be JSON text of at most 64 KiB.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_error("invalid_json", "The message is not valid JSON.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_error("invalid_message", "A message is a JSON object with a string 'type'.")
            return
        if content["type"] not in self.inbound_types:
            await self.send_error("unknown_type", f"Unknown message type: {content['type'][:64]}")
            return
        handler = getattr(self, "receive_" + content["type"].replace(".", "_"))
        await handler(content)

    async def receive_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})
