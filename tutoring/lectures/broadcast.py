"""A lecture's fan-out in one web process: events reach the process once, and the process writes them to its own
sockets.

For each lecture with sockets here there is one ``LectureHub``: one channel of the process's own
(``new_channel``) in the lecture's group, so the group's members are processes, never viewers; a reader task
on that channel; the board's state (``media.board.BoardState``), read from the log once when the first socket
arrives and then brought up to date by every event; the board events of the last FRAME_MS, sent to every
local socket (the studio's too) as one ``lecture.frame`` serialized once; the lecturer's voice passed on as
it comes; the start and the end to every socket; and, every TICK_SECONDS, read once for the process: the audience
count to the lecturer, the moderators and observers, the interaction (the pinned and the top questions, the quick
check) to everyone, and the moderation (every question, the quick check's live distribution) to the lecturer and
the moderators, each only when it changed. A moderation or a quick check opening or closing reaches the group as
``lecture.interaction`` and is read at once.

A socket's promise: its snapshot, then every event with a higher ``seq`` once, in order. The state moves and
the frame is written under one lock, and a socket joins under it (its snapshot is the state as of the last
frame, and it receives every later frame); events are taken in ``seq`` order, a gap (a publish that failed or
came late) is filled from the log, and what the state already holds is dropped.

Under daphne (``config.web``) each websocket's scope carries a ``Wire`` to its connection (the ``PREPARED``
extension): a message for many sockets is framed once and the same bytes written to each socket, most often
straight into the kernel's buffer, which is what a socket's write costs once its JSON is made once; without it
(another server, the tests' communicators) each socket's consumer sends it.

The studio's board messages are stored by the hub of the lecturer's process (``LogWriter``: what arrived while
the previous write ran goes in one transaction) and published to the group once a batch, its voice once a frame.
The log is written on threads of its own (``LOG_WRITES``): the audience's questions and upvotes, however many,
never hold up the board.
"""

import asyncio
import json
import logging
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from channels.layers import BaseChannelLayer

from media.board import BoardState, Stroke, board_replay
from tutoring.core.consumers import database_call
from tutoring.core.errors import ServiceError
from tutoring.lectures import events, selectors, services
from tutoring.sessions.transport import LogWriter

logger = logging.getLogger(__name__)

FRAME_MS = 60
TICK_SECONDS = 1.5
EVENTS, VOICE, STATUS = "lecture.events", "lecture.voice", "lecture.status"  # what the group carries
INTERACTION, MODERATION = "lecture.interaction", "lecture.moderation"
WATCHERS = (selectors.VIEWER, selectors.OBSERVER, selectors.MODERATOR)  # get the lecturer's voice
COUNTED_FOR = (selectors.LECTURER, selectors.MODERATOR, selectors.OBSERVER)  # get the audience
EVERYONE = (selectors.LECTURER, selectors.MODERATOR, selectors.VIEWER, selectors.OBSERVER)


LOG_WRITES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lecture-log")
PREPARED = "xuewen.prepared"  # the ASGI scope extension config.web adds: the socket's Wire


class Wire(Protocol):
    """A socket's connection as the server holds it (``config.web.Wire``): a message framed once, written to
    many."""

    def frame(self, payload: bytes, *, binary: bool) -> Any: ...

    def write(self, frame: Any) -> None: ...


class LectureSocket(Protocol):
    """A websocket consumer of this process in the lecture."""

    channel_name: str
    scope: Any  # its ASGI scope

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None: ...


def _stroke_event(stroke: Stroke) -> dict[str, Any]:
    """A stroke as far as it has arrived, as one ``board.stroke`` event that draws it whole."""
    red, green, blue = stroke.color
    first = stroke.times[0] if stroke.times else 0
    return {
        "type": "board.stroke",
        "seq": stroke.seq,
        "at": stroke.times[-1] if stroke.times else 0,
        "by": "teacher",
        "stroke": stroke.id,
        "page": stroke.page,
        "tool": stroke.tool,
        "color": f"#{red:02x}{green:02x}{blue:02x}",
        "width": stroke.width,
        "points": [[x, y, time - first] for (x, y), time in zip(stroke.points, stroke.times, strict=True)],
        "end": stroke.ended,
    }


def board_events(state: BoardState, last_seq: int) -> list[dict[str, Any]]:
    """What draws the page in view: its shown strokes (erasers included) in order, its background, the page."""
    page = state.current_page
    drawn = [_stroke_event(stroke) for stroke in state.visible_strokes(page)]
    background = state.pages[page].background if page in state.pages else None
    if background is not None:
        drawn.append(
            {
                "type": "board.background",
                "seq": last_seq,
                "by": "teacher",
                "page": page,
                "attachment": background.attachment,
                "x": background.x,
                "y": background.y,
                "width": background.width,
            }
        )
    return [*drawn, {"type": "board.page", "seq": last_seq, "by": "teacher", "page": page}]


class LectureHub:
    """One lecture in this process (see the module's docstring). ``hub_enter`` makes or finds it and
    ``leave`` closes it with the last socket."""

    def __init__(self, layer: BaseChannelLayer, lecture_id: int) -> None:
        self.layer, self.lecture_id, self.group = layer, lecture_id, events.lecture_group(lecture_id)
        self.members = 0  # sockets that entered and have not left, snapshot sent or not
        self.sockets: dict[LectureSocket, str] = {}  # by role, once their snapshot is sent
        self.wires: dict[LectureSocket, Wire] = {}  # their connections, where the server gives them
        self.state = BoardState()
        self.last_seq = 0  # of the state: the last event framed
        self.board_json: tuple[int, str] | None = None  # the page in view as of last_seq, for joining sockets
        self.received = 0  # the last event taken from the group (framed or waiting)
        self.waiting: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = {}
        self.shown: dict[str, str] = {}  # what was last sent of the interaction, the moderation, the audience
        self.interaction: dict[str, Any] = {}
        self.moderation: dict[str, Any] = {}
        self.stage: tuple[int, str] | None = None  # the student invited now (their user id) and to what
        self.sending = asyncio.Lock()
        self.reading = asyncio.Lock()  # one read of the interaction at a time: a later read is never overtaken
        self.flushing: asyncio.Task[None] | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.channel: str | None = None
        self.writer: LogWriter[dict[str, Any]] | None = None
        self.ready = asyncio.create_task(self._open())

    async def _open(self) -> None:
        """Subscribe, then read: whatever is published from now on reaches the reader, and what the state does
        not hold yet is published after the read began."""
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        lecture = await database_call(selectors.lecture_get)(self.lecture_id)
        log = await database_call(selectors.lecture_events)(self.lecture_id)
        self.summary = events.lecture_summary(lecture)
        live = await database_call(selectors.lecture_live)(self.lecture_id, moderating=True)
        self.interaction, self.stage, self.moderation = live.interaction, live.stage, live.moderation or {}
        self.shown = {
            "interaction": json.dumps({"type": INTERACTION, **self.interaction}),
            "moderation": json.dumps({"type": MODERATION, **self.moderation}),
        }
        self.state = board_replay(log)
        self.last_seq = self.received = log[-1]["seq"] if log else 0
        self.tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._tick())]

    # --- Sockets ---

    async def join(
        self,
        socket: LectureSocket,
        role: str,
        *,
        after: int,
        viewers: int | None,
        mine: dict[str, Any] | None = None,
    ) -> None:
        """Send ``socket`` its snapshot, then frames from the next one on. ``after`` > 0 (a reconnect): every
        event after it; else, or when this process has not yet seen ``after``, the page in view. ``mine``: a
        student's upvotes and quick-check answer."""
        await self.ready
        log: list[dict[str, Any]] = []
        read = after
        moderation = None
        if role in selectors.MODERATING:
            async with self.reading:
                moderation = await database_call(selectors.lecture_moderation)(self.lecture_id)
        while True:
            async with self.sending:
                if moderation is not None:  # read while no moderating socket may have been here: brought up to date
                    await self._moderation_set(moderation)
                if after == 0 or after > self.last_seq:
                    await self._snapshot(socket, role, self._board_json(), viewers=viewers, mine=mine)
                    return
                if read >= self.last_seq:  # the log read holds everything up to the state
                    shown = [event for event in log if event["seq"] <= self.last_seq]
                    await self._snapshot(socket, role, json.dumps(shown), viewers=viewers, mine=mine)
                    return
            more = await database_call(selectors.lecture_events)(self.lecture_id, after=read)
            log += more
            read = more[-1]["seq"] if more else read

    async def _snapshot(self, socket: LectureSocket, role: str, shown: str, *, viewers: int | None, mine: Any) -> None:
        """Under ``sending``: the snapshot (``shown``: its events, as JSON), and the socket takes every later frame
        and interaction."""
        snapshot = {
            "type": "lecture.snapshot",
            "lecture": {**self.summary, "viewers": viewers},
            "last_seq": self.last_seq,
            "interaction": self.interaction,
            **({"moderation": self.moderation} if role in selectors.MODERATING else {}),
            **({"mine": mine} if mine is not None else {}),
        }
        await socket.send(text_data=f'{json.dumps(snapshot)[:-1]}, "events": {shown}}}')
        self.sockets[socket] = role
        wire = (socket.scope.get("extensions") or {}).get(PREPARED)
        if wire is not None:
            self.wires[socket] = wire

    def _board_json(self) -> str:
        """The page in view (``board_events``) as JSON, made once a frame: every socket joining meanwhile gets
        the same."""
        if self.board_json is None or self.board_json[0] != self.last_seq:
            self.board_json = (self.last_seq, json.dumps(board_events(self.state, self.last_seq)))
        return self.board_json[1]

    async def leave(self, socket: LectureSocket) -> None:
        """The socket is gone; with the last one the process leaves the lecture's group."""
        self.sockets.pop(socket, None)
        self.wires.pop(socket, None)
        self.members -= 1
        if self.members:
            return
        hubs = HUBS.get(asyncio.get_running_loop(), {})
        if hubs.get(self.lecture_id) is self:
            del hubs[self.lecture_id]
        for task in [self.ready, *self.tasks, *([self.flushing] if self.flushing else [])]:
            task.cancel()
        if self.channel is not None:
            await self.layer.group_discard(self.group, self.channel)

    async def _send(
        self, roles: Sequence[str], *, text: str | None = None, pcm: bytes | None = None, but: str | None = None
    ) -> None:
        """``text`` or ``pcm`` to every socket of ``roles`` but ``but``: framed once for the sockets whose wire
        the server gives (see the module's docstring), through the consumer for the others."""
        frame = None
        for socket, role in list(self.sockets.items()):
            if role not in roles or socket.channel_name == but:
                continue
            try:
                wire = self.wires.get(socket)
                if wire is None:
                    await socket.send(text_data=text, bytes_data=pcm)
                    continue
                if frame is None:
                    binary = pcm is not None
                    frame = wire.frame(pcm if pcm is not None else (text or "").encode(), binary=binary)
                wire.write(frame)
            except Exception:  # a socket that closed meanwhile; the others go on
                logger.warning("lecture.send_failed", exc_info=True, extra={"lecture": self.lecture_id})

    # --- From the group ---

    async def _read(self) -> None:
        assert self.channel is not None  # subscribed before the reader starts
        while True:
            message = await self.layer.receive(self.channel)
            try:
                if message["type"] == EVENTS:
                    await self.take(message["events"])
                elif message["type"] == VOICE:  # the lecturer's to the watchers, a student's to all but them
                    sender = message.get("sender")
                    await self._send(WATCHERS if sender is None else EVERYONE, pcm=message["pcm"], but=sender)
                elif message["type"] == STATUS:
                    await self._status(message)
                elif message["type"] == INTERACTION:
                    await self._interaction()
            except Exception:  # one bad message must not end the lecture for this process
                logger.exception("lecture.message_failed", extra={"lecture": self.lecture_id})

    async def take(self, published: list[dict[str, Any]]) -> None:
        """Stored events, each at most once and in order; a gap before them is read from the log."""
        for event in sorted(published, key=lambda event: event["seq"]):
            if event["seq"] <= self.received:
                continue
            if event["seq"] > self.received + 1:
                missed = await database_call(selectors.lecture_events)(self.lecture_id, after=self.received)
                self.waiting += [earlier for earlier in missed if earlier["seq"] < event["seq"]]
            self.waiting.append(event)
            self.received = event["seq"]
        if self.waiting and self.flushing is None:
            self.flushing = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FRAME_MS / 1000)
        self.flushing = None
        await self.flush()

    async def flush(self) -> None:
        """The waiting events into the state and, as one frame, to every viewer and observer."""
        async with self.sending:
            if not self.waiting:
                return
            framed, self.waiting = self.waiting, []
            for event in framed:
                self.state.apply(event)
            self.last_seq = framed[-1]["seq"]
            # To the studio too: a student invited to draw writes to the log as well, and only the frames hold
            # every event in order.
            await self._send(EVERYONE, text=json.dumps({"type": "lecture.frame", "events": framed}))

    async def _status(self, message: dict[str, Any]) -> None:
        """The lecture started or ended: after the board events before it, to every socket."""
        await self.flush()
        async with self.sending:
            self.summary = message["lecture"]
            await self._send(EVERYONE, text=json.dumps({"type": STATUS, "lecture": self.summary}))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self._interaction()
                if any(role in COUNTED_FOR for role in self.sockets.values()):
                    viewers = await database_call(selectors.lecture_audience)(self.lecture_id)
                    await self._changed("audience", COUNTED_FOR, {"type": "lecture.audience", "viewers": viewers})
            except Exception:  # the next tick tries again
                logger.exception("lecture.tick_failed", extra={"lecture": self.lecture_id})

    async def _interaction(self) -> None:
        """Read the interaction (and, with a moderating socket here, the moderation) once for the process; send
        what changed."""
        async with self.reading:
            moderating = any(role in selectors.MODERATING for role in self.sockets.values())
            live = await database_call(selectors.lecture_live)(self.lecture_id, moderating=moderating)
            self.stage = live.stage
            async with self.sending:
                self.interaction = live.interaction
                await self._changed("interaction", EVERYONE, {"type": INTERACTION, **live.interaction})
                if live.moderation is not None:
                    await self._moderation_set(live.moderation)

    async def _moderation_set(self, moderation: dict[str, Any]) -> None:
        """Under ``sending``."""
        self.moderation = moderation
        await self._changed("moderation", selectors.MODERATING, {"type": MODERATION, **moderation})

    async def _changed(self, name: str, roles: Sequence[str], message: dict[str, Any]) -> None:
        """Send ``message`` to ``roles`` unless it is what they were sent last."""
        text = json.dumps(message)
        if self.shown.get(name) != text:
            self.shown[name] = text
            await self._send(roles, text=text)

    # --- The studio (the lecturer's process) ---

    def store(self, content: dict[str, Any]) -> "asyncio.Future[dict[str, Any] | ServiceError]":
        """A board message of the studio: a future of its stored event or its error."""
        if self.writer is None:
            self.writer = LogWriter(self._append, stored=self._publish, executor=LOG_WRITES)
        return self.writer.submit(content)

    def _append(self, contents: Sequence[dict[str, Any]]) -> list[dict[str, Any] | ServiceError]:
        return services.lecture_events_append(lecture_id=self.lecture_id, contents=contents)

    async def _publish(self, outcomes: list[Any]) -> None:
        stored = [outcome for outcome in outcomes if isinstance(outcome, dict)]
        if stored:
            try:
                await self.layer.group_send(self.group, {"type": EVENTS, "events": stored})
            except Exception:  # each process reads what it missed from the log with the next batch it gets
                logger.exception("lecture.publish_failed", extra={"lecture": self.lecture_id})

    async def settled(self) -> None:
        """Until what the studio sent is stored and published (the end of a lecture comes after it)."""
        while self.writer is not None and self.writer.writing is not None:
            await asyncio.shield(self.writer.writing)

    async def voice_send(self, pcm: bytes, *, sender: str | None = None) -> None:
        """The lecturer's voice, or (``sender``: their socket) the student invited to speak."""
        await self.layer.group_send(self.group, {"type": VOICE, "pcm": pcm, "sender": sender})

    def invited(self, user_id: int) -> str | None:
        """What the student may do now, as this process last read it: "speak", "draw" or nothing."""
        return self.stage[1] if self.stage is not None and self.stage[0] == user_id else None

    def started_at(self) -> datetime | None:
        """When the lecture went live, while it is live."""
        if self.summary.get("status") != "live" or not self.summary.get("started_at"):
            return None
        return datetime.fromisoformat(self.summary["started_at"])


# This process's hubs by lecture, one set per event loop (daphne runs one; tests start one per test).
HUBS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, LectureHub]] = weakref.WeakKeyDictionary()


def hub_enter(layer: BaseChannelLayer, lecture_id: int) -> LectureHub:
    """The lecture's hub in this process, made with its first socket; the socket must ``leave`` it."""
    hubs = HUBS.setdefault(asyncio.get_running_loop(), {})
    if (hub := hubs.get(lecture_id)) is None:
        hub = hubs[lecture_id] = LectureHub(layer, lecture_id)
    hub.members += 1
    return hub
