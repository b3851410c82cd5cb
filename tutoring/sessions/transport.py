"""The machinery under a session room's sockets, apart from the consumer that speaks the room's protocol: rate
limits, the voice recording's chunks, the process's batched log writer and its registry of local sockets. A
lecture's studio uses the rate limits, the voice chunks and the log writer too (``tutoring.lectures.broadcast``)."""

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

from tutoring.core.consumers import database_call
from tutoring.core.errors import ServiceError
from tutoring.sessions import services

logger = logging.getLogger(__name__)

AUDIO_MAX_FRAME_BYTES = 6400  # 200 ms of 16 kHz 16-bit mono
AUDIO_FRAMES_PER_SECOND = 20
VOICE_CHUNK_MS = 2000  # the recording is saved every two seconds of speech (at most that is lost in a crash)
VOICE_GAP_MS = 400  # a pause longer than this starts a new chunk, placed at its own time


class LocalSocket(Protocol):
    inbox: "asyncio.Queue[dict[str, Any]]"


# This process's room sockets by channel name: a peer in the same process gets board events and voice
# straight into its inbox, without a round trip through Redis (the load balancer sends both sides of a
# room to the same web process; see deploy/nginx.conf). Peers elsewhere get them through the layer.
LOCAL_SOCKETS: dict[str, LocalSocket] = {}


class TokenBucket:
    """At most `rate` a second on average, bursts of twice that."""

    def __init__(self, rate: float) -> None:
        self.rate, self.capacity = rate, 2 * rate
        self.tokens, self.updated = self.capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class VoiceBuffer:
    """Collects one side's voice frames into chunks placed at their time in the session."""

    def __init__(self) -> None:
        self.started_ms: int | None = None
        self.parts: list[bytes] = []
        self.samples = 0

    def add(self, now_ms: int, pcm: bytes) -> list[tuple[int, bytes]]:
        """Add a frame that arrived at `now_ms`; returns the chunks ready to be saved."""
        frame_ms = len(pcm) // 2 * 1000 // services.AUDIO_SAMPLE_RATE
        ready = []
        if self.started_ms is not None:
            end_ms = self.started_ms + self.samples * 1000 // services.AUDIO_SAMPLE_RATE
            if now_ms - frame_ms - end_ms > VOICE_GAP_MS or end_ms - self.started_ms >= VOICE_CHUNK_MS:
                ready.append(self.take())
        if self.started_ms is None:
            self.started_ms = max(0, now_ms - frame_ms)
        self.parts.append(pcm)
        self.samples += len(pcm) // 2
        return ready

    def take(self) -> tuple[int, bytes]:
        chunk = (self.started_ms or 0, b"".join(self.parts))
        self.started_ms, self.parts, self.samples = None, [], 0
        return chunk


T = TypeVar("T")


def stored_reply(outcome: dict[str, Any] | ServiceError, ref: str | None) -> dict[str, Any]:
    """What the sender of a message is told once the log writer is done with it: the stored event, or the
    error with the message's ``ref``."""
    if isinstance(outcome, ServiceError):
        return {"type": "error", "code": outcome.code, "message": str(outcome.message)} | (
            {"ref": ref} if ref is not None else {}
        )
    return outcome


class LogWriter(Generic[T]):
    """Stores the messages of this process's sockets to a log (a room's board and chat, see
    ``services.session_messages_append``; a lecture's board): one database call at a time, with every message
    that arrived while the previous one ran. At a trickle each message is written alone; under load the batches
    grow instead of the queue. Outcomes come back in the order the messages came in; ``stored``, if given, is
    awaited with each batch's outcomes before the next batch is written (a lecture publishes them there, once
    a batch). ``executor``: the threads it writes on, if not the shared pool."""

    BATCH = 200
    GATHER_SECONDS = 0.01  # a first message waits this long for others to share its write

    def __init__(
        self,
        append: Callable[[Sequence[T]], list[Any]],
        *,
        stored: Callable[[list[Any]], Awaitable[None]] | None = None,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self.waiting: list[tuple[T, asyncio.Future[Any]]] = []
        self.writing: asyncio.Task[None] | None = None
        self.append: Callable[[Sequence[T]], Awaitable[list[Any]]] = database_call(append, executor=executor)
        self.stored = stored

    def submit(self, message: T) -> "asyncio.Future[dict[str, Any] | ServiceError]":
        """A future of the stored event, or of the message's ServiceError (``not_stored`` when the database
        failed its batch)."""
        done = asyncio.get_running_loop().create_future()
        self.waiting.append((message, done))
        if self.writing is None:
            self.writing = asyncio.create_task(self._write())
        return done

    async def _write(self) -> None:
        try:
            await asyncio.sleep(self.GATHER_SECONDS)
            while self.waiting:
                batch, self.waiting = self.waiting[: self.BATCH], self.waiting[self.BATCH :]
                try:
                    outcomes = await self.append([item for item, _ in batch])
                except Exception:  # the database failed the whole batch: each sender's client takes its message back
                    logger.exception("log.batch_not_stored", extra={"messages": len(batch)})
                    outcomes = [ServiceError("not_stored", "This was not stored; send it again.")] * len(batch)
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    if not done.done():  # else the sender's socket closed meanwhile
                        done.set_result(outcome)
                if self.stored is not None:
                    await self.stored(outcomes)
        finally:
            self.writing = None


# One writer per event loop (daphne runs one; tests start one per test).
LOG_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LogWriter[services.Message]] = (
    weakref.WeakKeyDictionary()
)


def log_writer() -> LogWriter[services.Message]:
    loop = asyncio.get_running_loop()
    if loop not in LOG_WRITERS:
        LOG_WRITERS[loop] = LogWriter(services.session_messages_append)
    return LOG_WRITERS[loop]
