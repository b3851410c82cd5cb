import asyncio
import time
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from tutoring.core.consumers import BaseConsumer, database_call
from tutoring.core.errors import ServiceError
from tutoring.sessions import protocol, selectors, services
from tutoring.sessions.events import session_group
from tutoring.sessions.models import Role, TutoringSession

AUDIO_MAX_FRAME_BYTES = 6400  # 200 ms of 16 kHz 16-bit mono
AUDIO_FRAMES_PER_SECOND = 20
VOICE_CHUNK_MS = 2000  # the recording is saved every two seconds of speech (at most that is lost in a crash)
VOICE_GAP_MS = 400  # a pause longer than this starts a new chunk, placed at its own time
# A socket that just entered reads the log once more after this long: events stored by others before they
# learnt of it (the room's socket list travels through the layer) reach it that way.
CATCH_UP_SECONDS = 1.0

# This process's room sockets by channel name: a peer in the same process gets board events and voice
# straight into its inbox, without a round trip through Redis (the load balancer sends both sides of a
# room to the same web process; see deploy/nginx.conf). Peers elsewhere get them through the layer.
LOCAL_SOCKETS: dict[str, "SessionConsumer"] = {}


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


@database_call
def room_enter(user: Any, session_id: int, channel_name: str, after: int) -> dict[str, Any] | None:
    """Join the room (after the group, so nothing slips between the snapshot and the events), then read
    the state and the log after `after`; None when the user may not enter."""
    try:
        session = selectors.access_session(user, session_id)
    except Http404:
        return None
    role = services.session_join(session=session, user=user, channel_name=channel_name)
    session = TutoringSession.objects.select_related("question__subject", "teacher", "student").get(pk=session.pk)
    log = selectors.session_events(session.pk, after=after)
    return {
        "role": role,
        "sockets": selectors.session_sockets(session.pk),
        "started_at": session.started_at,
        "ticket_id": session.ticket_id,
        "student_speak": session.student_speak,
        "snapshot": {
            "type": "session.snapshot",
            "now": timezone.now().isoformat(),
            "last_seq": log[-1]["seq"] if log else max(after, 0),
            "events": log,
            "session": services.session_state(session, role),
        },
    }


class SessionConsumer(BaseConsumer):
    """A participant's (or observer's) socket in a session room: board and chat in, the room's events and
    the other side's voice out."""

    inbound_types = frozenset({"ping", "session.end", *protocol.TYPES})

    async def connect(self) -> None:
        session_id = self.scope["url_route"]["kwargs"]["session_id"]
        query = parse_qs(self.scope.get("query_string", b"").decode())
        after = query.get("after", ["0"])[0]
        self.group = session_group(session_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        entered = await room_enter(self.user, session_id, self.channel_name, int(after) if after.isdigit() else 0)
        if entered is None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            del self.group
            await self.refuse(4404)
            return
        self.session_id, self.ticket_id, self.role = session_id, entered["ticket_id"], entered["role"]
        self.started_at, self.student_speak = entered["started_at"], entered["student_speak"]
        self.messages = TokenBucket(settings.XUEWEN["SESSION_MESSAGES_PER_SECOND"])
        self.frames = TokenBucket(AUDIO_FRAMES_PER_SECOND)
        self.voice = VoiceBuffer()
        self.peers = set(entered["sockets"]) - {self.channel_name}
        self.forwarded: set[int] | None = set()  # seqs relayed to this socket, until the catch-up
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await self.accept()
        await self.send_json(entered["snapshot"])
        self.tasks = [
            asyncio.create_task(self._catch_up(entered["snapshot"]["last_seq"])),
            asyncio.create_task(self._inbox_dispatch()),
        ]
        LOCAL_SOCKETS[self.channel_name] = self

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "group"):
            return
        LOCAL_SOCKETS.pop(self.channel_name, None)
        for task in getattr(self, "tasks", []):
            task.cancel()
        await self.channel_layer.group_discard(self.group, self.channel_name)
        if hasattr(self, "role"):
            await self._voice_save([self.voice.take()] if self.voice.parts else [])
            await database_call(services.session_leave)(channel_name=self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None:
            await self._voice(bytes_data)
            return
        if not self.messages.take():
            await self.send_error("rate_limited", "Too many messages; slow down.")
            return
        await super().receive(text_data=text_data)

    async def receive_ping(self, content: dict[str, Any]) -> None:
        await database_call(services.session_seen)(channel_name=self.channel_name)
        await super().receive_ping(content)

    async def _append(self, content: dict[str, Any]) -> None:
        try:
            event = await database_call(services.session_message_append)(
                session_id=self.session_id, user=self.user, role=self.role, content=content
            )
        except ServiceError as error:
            ref = content.get("ref")
            await self.send_json(
                {"type": "error", "code": error.code, "message": str(error.message)}
                | ({"ref": ref} if isinstance(ref, str) else {})
            )
            return
        # Stored and committed: back to this socket, and on to the room's others.
        if self.forwarded is not None:
            self.forwarded.add(event["seq"])
        await self.send_json(event)
        await self._to_peers({"type": "session.event", "event": event})

    async def _to_peers(self, message: dict[str, Any]) -> None:
        """One message to each other socket of the room: into the inbox of a peer in this process, else
        through the layer (a peer whose server died fills its queue until the layer expires it; the sweep
        takes it out of the room)."""
        remote = []
        for peer in self.peers:
            if (local := LOCAL_SOCKETS.get(peer)) is not None:
                local.inbox.put_nowait(message)
            else:
                remote.append(peer)
        await asyncio.gather(*(self.channel_layer.send(peer, message) for peer in remote), return_exceptions=True)

    async def _inbox_dispatch(self) -> None:
        while True:
            await self.dispatch(await self.inbox.get())

    async def _catch_up(self, last_seq: int) -> None:
        await asyncio.sleep(CATCH_UP_SECONDS)
        log = await database_call(selectors.session_events)(self.session_id, after=last_seq)
        forwarded, self.forwarded = self.forwarded or set(), None
        for event in log:
            if event["seq"] not in forwarded:
                await self.send_json(event)

    receive_board_stroke = receive_board_undo = receive_board_redo = receive_board_clear = _append
    receive_board_page = receive_board_background = receive_board_laser = receive_board_permission = _append
    receive_chat_message = _append

    async def receive_session_end(self, content: dict[str, Any]) -> None:
        if self.role != Role.TEACHER:
            await self.send_error("not_allowed", "Only the teacher ends the session.")
            return
        try:
            await database_call(services.session_end)(teacher=self.user, ticket_id=self.ticket_id)
        except ServiceError as error:
            await self.send_error(error.code, str(error.message))

    async def _voice(self, pcm: bytes) -> None:
        may_speak = self.role == Role.TEACHER or (self.role == Role.STUDENT and self.student_speak)
        if not may_speak:
            await self.send_error("not_allowed", "The teacher has not let you speak.")
            return
        if len(pcm) > AUDIO_MAX_FRAME_BYTES or len(pcm) % 2 or not self.frames.take():
            await self.send_error("invalid_audio", "Voice frames are 16-bit PCM of at most 200 ms, 20 a second.")
            return
        await self._to_peers({"type": "voice.frame", "pcm": pcm})
        await self._voice_save(self.voice.add(selectors.ms_since_start(self.started_at, timezone.now()), pcm))

    async def _voice_save(self, chunks: list[tuple[int, bytes]]) -> None:
        for started_ms, pcm in chunks:
            await database_call(services.audio_chunk_save)(
                session_id=self.session_id, role=self.role, started_ms=started_ms, pcm=pcm
            )

    # --- From the room ---

    async def session_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if event["type"] == "board.permission":
            self.student_speak = event["student_speak"]
        if self.forwarded is not None:
            self.forwarded.add(event["seq"])
        await self.send_json(event)

    async def session_sockets(self, message: dict[str, Any]) -> None:
        self.peers = set(message["channels"]) - {self.channel_name}

    async def session_presence(self, message: dict[str, Any]) -> None:
        await self.send_json(message)

    async def session_ended(self, message: dict[str, Any]) -> None:
        await self.send_json({**message, "session": {**message["session"], "role": self.role}})

    async def session_recording(self, message: dict[str, Any]) -> None:
        await self.send_json(message)

    async def voice_frame(self, message: dict[str, Any]) -> None:
        await self.send(bytes_data=message["pcm"])
