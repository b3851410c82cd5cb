import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from tutoring.accounts.models import User
from tutoring.core.consumers import BaseConsumer, database_call
from tutoring.core.errors import ServiceError
from tutoring.sessions import protocol, selectors, services
from tutoring.sessions.events import session_group
from tutoring.sessions.models import Role, TutoringSession
from tutoring.sessions.transport import (
    AUDIO_FRAMES_PER_SECOND,
    AUDIO_MAX_FRAME_BYTES,
    LOCAL_SOCKETS,
    TokenBucket,
    VoiceBuffer,
    log_writer,
    stored_reply,
)

logger = logging.getLogger(__name__)

# A socket that just entered reads the log once more after this long: events stored by others before they
# learnt of it (the room's socket list travels through the layer) reach it that way.
CATCH_UP_SECONDS = 1.0
STORE_WAIT_SECONDS = 10.0  # a closing socket waits this long at most for its last messages to be stored


@database_call
def room_enter(user: User, session_id: int, channel_name: str, after: int) -> dict[str, Any] | None:
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
        self.storing: asyncio.Queue[tuple[str | None, asyncio.Future[Any]]] = asyncio.Queue()
        self.voice_saving: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
        await self.accept()
        await self.send_json(entered["snapshot"])
        self.tasks = [
            asyncio.create_task(self._catch_up(entered["snapshot"]["last_seq"])),
            asyncio.create_task(self._inbox_dispatch()),
            asyncio.create_task(self._relay()),
            asyncio.create_task(self._voice_save()),
        ]
        LOCAL_SOCKETS[self.channel_name] = self

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "group"):
            return
        LOCAL_SOCKETS.pop(self.channel_name, None)
        if hasattr(self, "role"):  # what this socket sent before it closed is stored, and reaches the room
            if self.voice.parts:
                self.voice_saving.put_nowait(self.voice.take())
            try:
                await asyncio.wait_for(
                    asyncio.gather(self.storing.join(), self.voice_saving.join()), timeout=STORE_WAIT_SECONDS
                )
            except TimeoutError:
                logger.warning("session.socket_closed_unsaved", extra={"session": self.session_id})
        for task in getattr(self, "tasks", []):
            task.cancel()
        await self.channel_layer.group_discard(self.group, self.channel_name)
        if hasattr(self, "role"):
            await database_call(services.session_leave)(channel_name=self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
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
        """Hand the message to the process's log writer and go on reading this socket; ``_relay`` sends it
        on once stored (a socket's messages stay in order, and the next is read while one is written)."""
        ref = content.get("ref")
        message = services.Message(self.session_id, self.user, self.role, content)
        self.storing.put_nowait((ref if isinstance(ref, str) else None, log_writer().submit(message)))

    async def _relay(self) -> None:
        """Each message of this socket once stored (committed): back to this socket, and on to the room's
        others; or its error to this socket."""
        while True:
            ref, stored = await self.storing.get()
            try:
                outcome = await stored
                if isinstance(outcome, ServiceError):
                    await self.send_json(stored_reply(outcome, ref))
                    continue
                if self.forwarded is not None:
                    self.forwarded.add(outcome["seq"])
                await self.send_json(outcome)
                await self._to_peers({"type": "session.event", "event": outcome})
            finally:
                self.storing.task_done()

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
        await self.storing.join()  # what the teacher drew before ending is stored first
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
        for chunk in self.voice.add(selectors.ms_since_start(self.started_at, timezone.now()), pcm):
            self.voice_saving.put_nowait(chunk)

    async def _voice_save(self) -> None:
        """The recording's chunks, saved in order away from the socket's reading (the voice goes on)."""
        while True:
            started_ms, pcm = await self.voice_saving.get()
            try:
                await database_call(services.audio_chunk_save)(
                    session_id=self.session_id, role=self.role, started_ms=started_ms, pcm=pcm
                )
            except Exception:  # two seconds of the recording are missing; the session goes on
                logger.exception("session.voice_not_saved", extra={"session": self.session_id, "at_ms": started_ms})
            finally:
                self.voice_saving.task_done()

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
