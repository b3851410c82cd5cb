"""The Redis channel layer, with a connection pool that waits instead of failing, and sockets told to come back
when Redis is lost.

channels_redis builds a plain redis-py pool per event loop, which raises ``MaxConnectionsError`` as soon
as more than ``max_connections`` (100 by default) commands are in flight in one process: a burst of
sockets connecting or of events to send then crashes consumers. A blocking pool queues the excess for up
to ``timeout`` seconds and keeps the number of connections per process bounded.

Redis holds the groups every socket joined and the events on their way. When it goes down, or comes back empty
after a crash (redis-py may reconnect so quickly that no command fails), both are gone, and a socket that stayed
open would hear nothing more. So the process's receiver checks, at most every ``WATCH_SECONDS``, that a marker of
its own is still in Redis; when a command fails or the marker is gone, every socket of the process gets a
``channel_layer.lost`` message (``tutoring.core.consumers.BaseConsumer`` closes it with 4503, and the client
reconnects and gets the current state, as after any drop). Leaving a group is best-effort: a membership that
Redis lost needs no discard, and one it kept expires with the group.
"""

import logging
import time
from typing import Any

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis.asyncio import BlockingConnectionPool

from tutoring.core.errors import OUTAGE_ERRORS

logger = logging.getLogger(__name__)

LOST = "channel_layer.lost"
WATCH_SECONDS = 2.0
MARKER_SECONDS = 60  # the marker outlives any gap between two checks while the process receives


class RedisLost(Exception):
    """Redis no longer holds what this process put there: it restarted empty, or its data was flushed."""


LOST_ERRORS: tuple[type[Exception], ...] = (*OUTAGE_ERRORS, RedisLost)


class RedisChannelLayer(BaseRedisChannelLayer):
    brpop_timeout = int(WATCH_SECONDS)  # an idle receiver comes back to check the marker this often

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.marker = f"{self.prefix}alive.{self.client_prefix}"
        self.marked_at: float | None = None  # when the marker was last seen or set (monotonic)
        # Counts the losses: a socket busy with a message when the loss was told compares it at its next message.
        self.generation = 0

    def create_pool(self, index: int) -> BlockingConnectionPool:
        options = dict(self.hosts[index])
        return BlockingConnectionPool.from_url(options.pop("address"), **options)

    async def receive(self, channel: str) -> dict[str, Any]:
        try:
            message: dict[str, Any] = await super().receive(channel)
        except LOST_ERRORS as error:
            if self.marked_at is not None:  # once per outage, not for each socket that tries again meanwhile
                logger.warning("channel_layer.lost", extra={"error": repr(error), "sockets": len(self.receive_buffer)})
            self.marked_at = None
            self.generation += 1
            for waiting in list(self.receive_buffer):
                if waiting != channel:
                    self.receive_buffer[waiting].put_nowait({"type": LOST})
            return {"type": LOST}
        return message

    async def _brpop_with_clean(self, index: int, channel: str, timeout: int) -> Any:
        """The process's receiver's blocking pop, which it repeats while idle (channels_redis 4.3): first check, now
        and then, that Redis still holds this process's marker."""
        if self.marked_at is None or time.monotonic() - self.marked_at > WATCH_SECONDS:
            await self.marker_check()
        return await super()._brpop_with_clean(index, channel, timeout)

    async def marker_check(self) -> None:
        """Set the marker again; raises RedisLost if it was gone although set within its lifetime."""
        connection = self.connection(self.consistent_hash(self.marker))
        before = await connection.set(self.marker, 1, ex=MARKER_SECONDS, get=True)
        was_marked = self.marked_at is not None and time.monotonic() - self.marked_at < MARKER_SECONDS
        self.marked_at = time.monotonic()
        if before is None and was_marked:
            raise RedisLost(self.marker)

    async def group_discard(self, group: str, channel: str) -> None:
        try:
            await super().group_discard(group, channel)
        except OUTAGE_ERRORS as error:
            logger.warning("channel_layer.discard_failed", extra={"group": group, "error": repr(error)})
