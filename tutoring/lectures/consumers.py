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
from tutoring.lectures.events import lecture_summary
from tutoring.routing.events import user_group
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
def lecture_enter(
    user: User, lecture_id: int, channel_name: str
) -> tuple[str, int | None, dict[str, Any] | None] | None:
    """Join the lecture: the user's role, the audience now for those shown it (not students: a thousand joining
    would count it a thousand times) and a student's own part (upvotes, quick-check answer, hand); None when the
    user may not see it."""
    try:
        lecture = selectors.access_lecture(user, lecture_id)
    except Http404:
        return None
    role = services.lecture_join(lecture=lecture, user=user, channel_name=channel_name)
    if role == selectors.VIEWER:
        return role, None, selectors.lecture_mine(lecture_id, user)
    return role, selectors.lecture_audience(lecture_id), None


@database_call
def lectures_live_signed_up(student: User) -> dict[str, Any]:
    return {
        "type": "lecture.live",
        "lectures": [lecture_summary(lecture) for lecture in selectors.lecture_list_signed_up_live(student=student)],
    }


class LectureNoticeConsumer(BaseConsumer):
    """A student's notices of the lectures they signed up for (``ws/lectures/notices/``, on each of their
    pages): the start, a new time, a cancellation (``events.lecture_notice_send``). The socket joins the group of
    the signed-in student, never one the client names, so each student gets their own notices only. On every
    (re)connect it first gets the signed-up lectures live now, so a start missed while away still shows."""

    async def connect(self) -> None:
        if not self.user.is_student:
            await self.refuse(4403)
            return
        self.group = user_group(self.user.pk)
        # Join first, then read: a start cannot slip between the lectures read and the notices.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(await lectures_live_signed_up(self.user))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def lecture_started(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def lecture_moved(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def lecture_cancelled(self, event: dict[str, Any]) -> None:
        await self.send_json(event)


class LectureConsumer(BaseConsumer):
    """A socket in a lecture (``ws/lectures/<id>/?after=<seq>``). The lecturer's (the studio) writes the board,
    speaks, starts and ends the lecture, and gets each board message back once stored, or its error; viewers,
    moderators and observers watch: frames of board events and the voice from this process's hub
    (``broadcast``). Students ask (naming a photo uploaded over HTTP first, if any: ``api``), upvote, answer
    quick checks and raise their hand; the one the lecturer invites speaks (heard live by everyone, not recorded:
    they are minors) or draws (stored in the log like the lecturer's strokes). Every socket gets the snapshot
    first, then the lecture's status; the lecturer, moderators and observers the audience."""

    inbound_types = frozenset(
        {
            "ping",
            "lecture.start",
            "lecture.end",
            *services.BOARD_TYPES,
            "question.ask",
            "question.upvote",
            *(f"question.{action}" for action in services.MODERATIONS),
            "poll.open",
            "poll.close",
            "poll.answer",
            "hand.raise",
            "hand.lower",
            "hand.invite",
            "hand.end",
            "chat.switch",
            "chat.send",
        }
    )

    async def connect(self) -> None:
        self.lecture_id = self.scope["url_route"]["kwargs"]["lecture_id"]
        after = parse_qs(self.scope.get("query_string", b"").decode()).get("after", ["0"])[0]
        entered = await lecture_enter(self.user, self.lecture_id, self.channel_name)
        if entered is None:
            await self.refuse(4404)
            return
        self.role, viewers, mine = entered
        self.messages = TokenBucket(settings.XUEWEN["SESSION_MESSAGES_PER_SECOND"])
        self.actions = TokenBucket(settings.XUEWEN["LECTURE_ACTIONS_PER_SECOND"])
        self.frames = TokenBucket(AUDIO_FRAMES_PER_SECOND)
        self.storing: asyncio.Queue[tuple[str | None, asyncio.Future[Any]]] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = [asyncio.create_task(self._echo())]
        if self.role == selectors.LECTURER:
            self.voice = VoiceBuffer()
            self.voice_saving: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
            self.tasks.append(asyncio.create_task(self._voice_save()))
        self.hub: LectureHub = hub_enter(self.channel_layer, self.lecture_id)
        await self.accept()
        await self.hub.join(self, self.role, after=int(after) if after.isdigit() else 0, viewers=viewers, mine=mine)

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "role"):
            return
        # What the studio (or a student drawing) sent before it closed is stored and broadcast.
        lecturer = self.role == selectors.LECTURER
        if lecturer:
            self._voice_flush()
        try:
            saved = [self.storing.join(), *([self.voice_saving.join()] if lecturer else [])]
            await asyncio.wait_for(asyncio.gather(*saved), timeout=STORE_WAIT_SECONDS)
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
        """Hand the message to the hub's writer and go on reading; ``_echo`` answers once it is stored. A student
        writes only while invited to draw (as the hub last read it; the store checks it again)."""
        author = None if self.role == selectors.LECTURER else self.user.pk
        if author is not None and (self.role != selectors.VIEWER or self.hub.invited(author) != "draw"):
            await self.send_error("not_allowed", _("Only the lecturer does this; you are watching."))
            return
        ref = content.get("ref")
        stored = self.hub.store({**content, services.AUTHOR: author})
        self.storing.put_nowait((ref if isinstance(ref, str) else None, stored))

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

    # --- Questions and quick checks ---

    async def _act(self, reply: str, service: Any, **kwargs: Any) -> None:
        """Run an interaction service; its outcome (or refusal, in Chinese) goes back to this socket only."""
        if self.role == selectors.VIEWER and not self.actions.take():
            await self.send_error("rate_limited", _("Too many messages; slow down."))
            return
        try:
            outcome = await database_call(service)(lecture_id=self.lecture_id, **kwargs)
        except ServiceError as error:
            await self.send_error(error.code, str(error.message))
            return
        await self.send_json({"type": reply, **outcome})

    async def receive_question_ask(self, content: dict[str, Any]) -> None:
        fields = {"text": content.get("text"), "photo_id": content.get("photo")}
        await self._act("question.asked", _asked, student=self.user, **fields)

    async def receive_question_upvote(self, content: dict[str, Any]) -> None:
        await self._act("question.upvoted", _upvoted, student=self.user, question_id=content.get("question"))

    async def _moderate(self, content: dict[str, Any]) -> None:
        action = content["type"].removeprefix("question.")
        await self._act(
            "question.moderated", _moderated, user=self.user, question_id=content.get("question"), action=action
        )

    receive_question_answer = receive_question_pin = receive_question_unpin = receive_question_hide = _moderate

    async def receive_poll_open(self, content: dict[str, Any]) -> None:
        fields = {name: content.get(name) for name in ("kind", "prompt", "options")}
        await self._act("poll.opened", _poll_opened, user=self.user, **fields)

    async def receive_poll_close(self, content: dict[str, Any]) -> None:
        await self._act("poll.closed", _poll_closed, user=self.user, poll_id=content.get("poll"))

    async def receive_hand_raise(self, content: dict[str, Any]) -> None:
        await self._act("hand.raised", _hand_raised, student=self.user)

    async def receive_hand_lower(self, content: dict[str, Any]) -> None:
        await self._act("hand.lowered", _nothing(services.lecture_hand_lower), student=self.user)

    async def receive_hand_invite(self, content: dict[str, Any]) -> None:
        hand, mode = content.get("hand"), content.get("mode")
        await self._act("hand.invited", _hand_invited, user=self.user, hand_id=hand, mode=mode)

    async def receive_hand_end(self, content: dict[str, Any]) -> None:
        await self._act("hand.ended", _nothing(services.lecture_hand_end), user=self.user, hand_id=content.get("hand"))

    async def receive_chat_switch(self, content: dict[str, Any]) -> None:
        await self._act("chat.switched", _chat_switched, user=self.user, open=content.get("open"))

    async def receive_chat_send(self, content: dict[str, Any]) -> None:
        await self._act("chat.sent", _chat_sent, student=self.user, text=content.get("text"))

    async def receive_poll_answer(self, content: dict[str, Any]) -> None:
        await self._act(
            "poll.answered",
            _poll_answered,
            student=self.user,
            poll_id=content.get("poll"),
            answer=content.get("answer"),
        )

    async def _voice(self, pcm: bytes) -> None:
        """The lecturer's voice, broadcast and recorded; or the student's invited to speak, broadcast only."""
        lecturer = self.role == selectors.LECTURER
        if not lecturer and (self.role != selectors.VIEWER or self.hub.invited(self.user.pk) != "speak"):
            await self.send_error("not_allowed", _("Only the lecturer does this; you are watching."))
            return
        started_at = self.hub.started_at()
        if started_at is None:
            await self.send_error("not_live", _("This lecture is not live."))
            return
        if len(pcm) > AUDIO_MAX_FRAME_BYTES or len(pcm) % 2 or not self.frames.take():
            await self.send_error("invalid_audio", _("Voice frames are 16-bit PCM of at most 200 ms, 20 a second."))
            return
        await self.hub.voice_send(pcm, sender=None if lecturer else self.channel_name)
        if lecturer:
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


# The interaction's services, each with what its socket is told back.


def _asked(**kwargs: Any) -> dict[str, Any]:
    return {"question": selectors.question_shown(services.lecture_question_ask(**kwargs))}


def _upvoted(**kwargs: Any) -> dict[str, Any]:
    return {"question": selectors.question_shown(services.lecture_question_upvote(**kwargs))}


def _moderated(**kwargs: Any) -> dict[str, Any]:
    return {
        "question": selectors.question_shown(services.lecture_question_moderate(**kwargs)),
        "action": kwargs["action"],
    }


def _poll_opened(**kwargs: Any) -> dict[str, Any]:
    return {"poll": services.lecture_poll_open(**kwargs).pk}


def _poll_closed(**kwargs: Any) -> dict[str, Any]:
    return {"poll": services.lecture_poll_close(**kwargs).pk}


def _poll_answered(**kwargs: Any) -> dict[str, Any]:
    answer = services.lecture_poll_answer(**kwargs)
    number = selectors.number_shown(answer.number)
    return {"poll": answer.poll_id, "choice": answer.choice, "number": number}


def _hand_raised(**kwargs: Any) -> dict[str, Any]:
    hand = services.lecture_hand_raise(**kwargs)
    return {"hand": {"id": hand.pk, "status": hand.status, "mode": hand.mode}}


def _hand_invited(**kwargs: Any) -> dict[str, Any]:
    return {"hand": services.lecture_hand_invite(**kwargs).pk}


def _nothing(service: Any) -> Any:
    """A service whose socket is told only that it was done."""

    def done(**kwargs: Any) -> dict[str, Any]:
        service(**kwargs)
        return {}

    return done


def _chat_switched(**kwargs: Any) -> dict[str, Any]:
    return {"open": services.lecture_chat_switch(**kwargs).chat_open}


def _chat_sent(**kwargs: Any) -> dict[str, Any]:
    message = services.lecture_chat_send(**kwargs)
    return {"message": {"id": message.pk, "text": message.text}}
