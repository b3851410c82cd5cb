import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tutoring.accounts.models import User
from tutoring.core.consumers import BaseConsumer, database_call
from tutoring.core.errors import ServiceError
from tutoring.lectures import selectors, services
from tutoring.lectures.broadcast import LectureHub, hub_enter
from tutoring.sessions.selectors import ms_since_start
from tutoring.sessions.transport import (
    AUDIO_FRAMES_PER_SECOND,
    AUDIO_MAX_FRAME_BYTES,
    TokenBucket,
    VoiceBuffer,
    stored_reply,
)

logger = logging.getLogger(__name__)

STORE_WAIT_SECONDS = 10.0  # a closing studio waits this long at most for its last messages to be stored


@database_call
def lecture_enter(user: User, lecture_id: int, channel_name: str) -> tuple[str, int] | None:
    """Join the lecture: the user's role and the audience now; None when the user may not see it."""
    try:
        lecture = selectors.access_lecture(user, lecture_id)
    except Http404:
        return None
    role = services.lecture_join(lecture=lecture, user=user, channel_name=channel_name)
    return role, selectors.lecture_audience(lecture_id)


class LectureConsumer(BaseConsumer):
    """A socket in a lecture (``ws/lectures/<id>/?after=<seq>``). The lecturer's (the studio) writes the board,
    speaks, starts and ends the lecture, and gets each board message back once stored, or its error; viewers
    and observers watch: frames of board events and the voice from this process's hub (``broadcast``). Every
    socket gets the snapshot first, then the lecture's status; the lecturer and observers the audience."""

    inbound_types = frozenset({"ping", "lecture.start", "lecture.end", *services.BOARD_TYPES})

    async def connect(self) -> None:
        self.lecture_id = self.scope["url_route"]["kwargs"]["lecture_id"]
        after = parse_qs(self.scope.get("query_string", b"").decode()).get("after", ["0"])[0]
        entered = await lecture_enter(self.user, self.lecture_id, self.channel_name)
        if entered is None:
            await self.refuse(4404)
            return
        self.role, viewers = entered
        self.messages = TokenBucket(settings.XUEWEN["SESSION_MESSAGES_PER_SECOND"])
        self.tasks: list[asyncio.Task[None]] = []
        if self.role == selectors.LECTURER:
            self.frames = TokenBucket(AUDIO_FRAMES_PER_SECOND)
            self.voice = VoiceBuffer()
            self.storing: asyncio.Queue[tuple[str | None, asyncio.Future[Any]]] = asyncio.Queue()
            self.voice_saving: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
            self.tasks = [asyncio.create_task(self._echo()), asyncio.create_task(self._voice_save())]
        self.hub: LectureHub = hub_enter(self.channel_layer, self.lecture_id)
        await self.accept()
        await self.hub.join(self, self.role, after=int(after) if after.isdigit() else 0, viewers=viewers)

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "role"):
            return
        if self.role == selectors.LECTURER:  # what the studio sent before it closed is stored and broadcast
            self._voice_flush()
            try:
                await asyncio.wait_for(
                    asyncio.gather(self.storing.join(), self.voice_saving.join()), timeout=STORE_WAIT_SECONDS
                )
            except TimeoutError:
                logger.warning("lecture.socket_closed_unsaved", extra={"lecture": self.lecture_id})
        for task in self.tasks:
            task.cancel()
        if hasattr(self, "hub"):
            await self.hub.leave(self)
        await database_call(services.lecture_leave)(channel_name=self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if bytes_data is not None:
            await self._voice(bytes_data)
            return
        if not self.messages.take():
            await self.send_error("rate_limited", _("Too many messages; slow down."))
            return
        await super().receive(text_data=text_data)

    async def _not_the_lecturer(self) -> bool:
        if self.role == selectors.LECTURER:
            return False
        await self.send_error("not_allowed", _("Only the lecturer does this; you are watching."))
        return True

    # --- The studio ---

    async def _board(self, content: dict[str, Any]) -> None:
        """Hand the message to the hub's writer and go on reading; ``_echo`` answers once it is stored."""
        if await self._not_the_lecturer():
            return
        ref = content.get("ref")
        self.storing.put_nowait((ref if isinstance(ref, str) else None, self.hub.store(content)))

    receive_board_stroke = receive_board_undo = receive_board_redo = receive_board_clear = _board
    receive_board_page = receive_board_laser = receive_board_background = _board

    async def _echo(self) -> None:
        """Each board message of the studio, in order, once stored: back to the studio, or its error."""
        while True:
            ref, stored = await self.storing.get()
            try:
                await self.send_json(stored_reply(await stored, ref))
            finally:
                self.storing.task_done()

    async def receive_lecture_start(self, content: dict[str, Any]) -> None:
        if await self._not_the_lecturer():
            return
        try:
            await database_call(services.lecture_start)(lecturer=self.user, lecture_id=self.lecture_id)
        except ServiceError as error:
            await self.send_error(error.code, str(error.message))

    async def receive_lecture_end(self, content: dict[str, Any]) -> None:
        if await self._not_the_lecturer():
            return
        await self.storing.join()  # what the lecturer drew before ending is stored and broadcast first
        await self.hub.settled()
        self._voice_flush()
        try:
            await database_call(services.lecture_end)(lecturer=self.user, lecture_id=self.lecture_id)
        except ServiceError as error:
            await self.send_error(error.code, str(error.message))

    async def _voice(self, pcm: bytes) -> None:
        if await self._not_the_lecturer():
            return
        started_at = self.hub.started_at()
        if started_at is None:
            await self.send_error("not_live", _("This lecture is not live."))
            return
        if len(pcm) > AUDIO_MAX_FRAME_BYTES or len(pcm) % 2 or not self.frames.take():
            await self.send_error("invalid_audio", _("Voice frames are 16-bit PCM of at most 200 ms, 20 a second."))
            return
        await self.hub.voice_send(pcm)
        for chunk in self.voice.add(ms_since_start(started_at, timezone.now()), pcm):
            self.voice_saving.put_nowait(chunk)

    def _voice_flush(self) -> None:
        if self.voice.parts:
            self.voice_saving.put_nowait(self.voice.take())

    async def _voice_save(self) -> None:
        """The recording's chunks, saved in order away from the socket's reading (the voice goes on)."""
        while True:
            started_ms, pcm = await self.voice_saving.get()
            try:
                await database_call(services.lecture_audio_save)(
                    lecture_id=self.lecture_id, started_ms=started_ms, pcm=pcm
                )
            except Exception:  # two seconds of the recording are missing; the lecture goes on
                logger.exception("lecture.voice_not_saved", extra={"lecture": self.lecture_id, "at_ms": started_ms})
            finally:
                self.voice_saving.task_done()
