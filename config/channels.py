"""The Redis channel layer, with a connection pool that waits instead of failing, and sockets told to come back
when Redis is lost.

channels_redis builds a plain redis-py pool per event loop, which raises ``MaxConnectionsError`` as soon
as more than ``max_connections`` (100 by default) commands are in flight in one process: a burst of
sockets connecting or of events to send then crashes consumers. A blocking pool queues the excess for up
to ``timeout`` seconds and keeps the number of connections per process bounded.

Redis holds the groups every socket joined and the events on their way. When it goes down, or comes back empty
after a crash (redis-py may reconnect so quickly that no command fails), both are gone, and a socket that stayed
open would hear nothing more. So the process's reader checks, at most every ``WATCH_SECONDS``, that a marker of
its own is still in Redis; when a command fails or the marker is gone, every socket of the process gets a
``channel_layer.lost`` message (``tutoring.core.consumers.BaseConsumer`` closes it with 4503, and the client
reconnects and gets the current state, as after any drop). Leaving a group is best-effort: a membership that
Redis lost needs no discard, and one it kept expires with the group.
"""

import asyncio
import logging
import time
from collections import Counter, deque
from typing import Any, cast

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis.asyncio import BlockingConnectionPool

from tutoring.core.errors import OUTAGE_ERRORS

logger = logging.getLogger(__name__)

LOST = "channel_layer.lost"
WATCH_SECONDS = 2.0
MARKER_SECONDS = 60  # the marker outlives any gap between two checks while the process receives
READ_BATCH = 500  # messages taken from Redis in one round trip
LOST_RETRY_SECONDS = 0.5  # while Redis is down and consumers wait, the reader tries again this often


class RedisLost(Exception):
    """Redis no longer holds what this process put there: it restarted empty, or its data was flushed."""


LOST_ERRORS: tuple[type[Exception], ...] = (*OUTAGE_ERRORS, RedisLost)


class RedisChannelLayer(BaseRedisChannelLayer):
    brpop_timeout = int(WATCH_SECONDS)  # an idle reader comes back to check the marker this often

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.marker = f"{self.prefix}alive.{self.client_prefix}"
        self.marked_at: float | None = None  # when the marker was last seen or set (monotonic)
        # Counts the losses: a socket busy with a message when the loss was told compares it at its next message.
        self.generation = 0
        self.readers: dict[str, asyncio.Task[None]] = {}  # per process queue (``_read``)
        self.waiting: Counter[str] = Counter()  # consumers waiting in ``receive``, per process queue
        # A waiting consumer's future per channel (about 0.1 KiB, where an asyncio.Queue per idle socket took 3 KiB),
        # and the messages that came while a channel's consumer was busy.
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.pending: dict[str, deque[dict[str, Any]]] = {}

    def create_pool(self, index: int) -> BlockingConnectionPool:
        options = dict(self.hosts[index])
        return BlockingConnectionPool.from_url(options.pop("address"), **options)

    async def receive(self, channel: str) -> dict[str, Any]:
        """The next message of ``channel``. A process-local channel's (every consumer's) comes from the process's
        reader (``_read``): handed to the consumer waiting for it, or kept until it asks. Any other channel is read as
        channels_redis reads it."""
        if "!" not in channel:
            return cast(dict[str, Any], await super().receive(channel))
        kept = self.pending.get(channel)
        if kept:
            message: dict[str, Any] = kept.popleft()
            if not kept:
                del self.pending[channel]
            return message
        shared = self.non_local_name(channel)
        self._reader_ensure(shared)
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[channel] = waiter
        self.waiting[shared] += 1
        try:
            return await waiter  # cancelled when the consumer ends
        finally:
            self.waiting[shared] -= 1
            if self.waiters.get(channel) is waiter:
                del self.waiters[channel]

    def _reader_ensure(self, shared: str) -> None:
        """Start the reader of the process's queue ``shared`` on the running loop unless it runs there already."""
        loop = asyncio.get_running_loop()
        reader = self.readers.get(shared)
        if reader is not None and not reader.done():
            if reader.get_loop() is loop:
                return
            if reader.get_loop().is_running():
                raise RuntimeError("Two event loops are trying to receive() on one channel layer at once!")
        self.readers[shared] = loop.create_task(self._read(shared), name=f"channel-layer-reader {shared}")

    async def _read(self, shared: str) -> None:
        """Hand the messages of the process's queue ``shared`` to its channels (``_deliver``), up to ``READ_BATCH`` in
        one round trip to Redis (BZMPOP), while any consumer waits; an idle reader stops after a blocking wait.

        channels_redis has each waiting consumer in turn take the receive lock and pop one message, moving it
        through a backup queue so that a cancelled receive loses nothing: four round trips per message, one
        after another, each needing a turn of the busy event loop. That capped the events a web process could
        take from Redis, and offers waited there for seconds. This reader is never cancelled while it holds a
        message: what it pops is handed on before its next await. Checking the marker (``marker_check``)
        and telling every waiting consumer when Redis is lost happen here too."""
        connection_index = self.consistent_hash(shared)
        key = self.prefix + shared
        while True:
            try:
                if self.marked_at is None or time.monotonic() - self.marked_at > WATCH_SECONDS:
                    await self.marker_check()
                popped = await self.connection(connection_index).bzmpop(
                    self.brpop_timeout, 1, [key], min=True, count=READ_BATCH
                )
            except LOST_ERRORS as error:
                self._lost(error)
                if not self.waiting[shared]:
                    return
                await asyncio.sleep(LOST_RETRY_SECONDS)
                continue
            if popped is None:
                if not self.waiting[shared]:
                    return
                continue
            for content, _score in popped[1]:
                self._deliver(shared, self.deserialize(content))

    def _deliver(self, shared: str, message: dict[str, Any]) -> None:
        """Hand ``message`` to each channel it is for (a group's event names each of the process's channels in the
        group; a direct one names its channel): to the consumer waiting for it, else kept for the channel (up to
        ``capacity`` messages, the oldest dropped first, as channels_redis does)."""
        channels = message.pop("__asgi_channel__", shared)
        for channel in channels if isinstance(channels, list) else [channels]:
            self._hand(channel, message)

    def _hand(self, channel: str, message: dict[str, Any]) -> None:
        waiter = self.waiters.pop(channel, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(message)
        else:
            self.pending.setdefault(channel, deque(maxlen=self.capacity)).append(message)

    def _lost(self, error: Exception) -> None:
        """Redis is down or lost what it held: every consumer waiting or with messages kept is told."""
        told = [*self.waiters, *self.pending]
        if self.marked_at is not None:  # once per outage, not for each retry meanwhile
            logger.warning("channel_layer.lost", extra={"error": repr(error), "sockets": len(told)})
        self.marked_at = None
        self.generation += 1
        for channel in told:
            self._hand(channel, {"type": LOST})

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
