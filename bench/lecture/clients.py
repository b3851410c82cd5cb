"""The lecture bench's sockets: the lecturer, who draws and speaks, and the viewers, opened in worker processes
of their own (one Python process cannot read the frames of 2,000 sockets as fast as they come) that time every
board event and voice frame from the lecturer's send, and meanwhile ask questions and upvote others' from
viewers chosen at random (``QUESTIONS_PER_SECOND`` and ``UPVOTES_PER_SECOND`` in all, shared by the workers).

Send times travel in the messages: a board event's ``ref`` is ``p<phase>-<tick>-<ns>`` and a voice frame
starts with (phase, frame, ns), ns being ``time.monotonic_ns()`` at the send. CLOCK_MONOTONIC is one clock
for every process on the machine, so a viewer in another process subtracts it from its own receipt time.
"""

import asyncio
import json
import random
import struct
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

CHUNK_SECONDS = 0.05  # 20 board events a second
VOICE_EVERY = 2  # a voice frame every other chunk: 10 a second
FRAME_BYTES = 3200  # 100 ms of 16 kHz 16-bit mono
CHUNKS_PER_STROKE = 20
VOICE = struct.Struct("<HIq")  # phase, frame, send time (ns)
CONNECT_ATTEMPTS = 3
PARSED_KEPT = 256  # frames parsed once per worker: a process sends every socket the same text
QUESTIONS_PER_SECOND = 5  # the load from the viewers, in all
UPVOTES_PER_SECOND = 20


def socket_options(headers: dict[str, str]) -> dict[str, Any]:
    """As a phone's browser: no compression (daphne offers none), no client pings, snapshots of any size."""
    return {
        "additional_headers": headers,
        "compression": None,
        "ping_interval": None,
        "open_timeout": 300,
        "max_size": None,
    }


async def snapshot_open(url: str, headers: dict[str, str]) -> tuple[ClientConnection, float, int, int, list[int]]:
    """Open a socket and read its first message, the snapshot: (socket, seconds from connect to the snapshot,
    its size in bytes, its number of events, the questions it shows)."""
    started = time.perf_counter()
    socket = await websockets.connect(url, **socket_options(headers))
    message = await socket.recv()
    seconds = time.perf_counter() - started
    snapshot = json.loads(message)
    if snapshot.get("type") != "lecture.snapshot":
        raise RuntimeError(f"the first message was not a snapshot: {message[:300]!r}")
    shown = [question["id"] for question in snapshot.get("interaction", {}).get("questions", [])]  # none: bare
    return socket, seconds, len(message), len(snapshot["events"]), shown


async def drain(socket: ClientConnection) -> None:
    """Read what comes to the lecturer (echoes, the audience), as the studio page does."""
    try:
        async for _ in socket:
            pass
    except websockets.ConnectionClosed:
        pass


async def lecturer_draws(socket: ClientConnection, *, phase: int, page: int, seconds: float) -> int:
    """A stroke chunk of three points every 50 ms (one-second strokes) and a 100 ms voice frame every 100 ms,
    for ``seconds``; returns how many chunks were sent."""
    chunks = round(seconds / CHUNK_SECONDS)
    started = time.monotonic()
    for tick in range(chunks):
        await asyncio.sleep(max(0.0, started + tick * CHUNK_SECONDS - time.monotonic()))
        stroke, chunk = divmod(tick, CHUNKS_PER_STROKE)
        x, y = 150 + (stroke * 41) % 900, 150 + (stroke * 59) % 1300
        event = {
            "v": 1,
            "type": "board.stroke",
            "stroke": f"tp{phase}s{stroke}",
            "page": page,
            "tool": "pen",
            "color": "#c0392b",
            "width": 4,
            "points": [[x + 3 * chunk + n, y + 2 * chunk + n, chunk * 50 + n * 16] for n in range(3)],
            "end": chunk == CHUNKS_PER_STROKE - 1,
        }
        event["ref"] = f"p{phase}-{tick}-{time.monotonic_ns()}"
        await socket.send(json.dumps(event))
        if tick % VOICE_EVERY == 0:
            header = VOICE.pack(phase, tick // VOICE_EVERY, time.monotonic_ns())
            await socket.send(header + bytes(FRAME_BYTES - VOICE.size))
    return chunks


@dataclass
class Tally:
    """What the viewers of one worker received, each event and frame counted at every viewer."""

    phase: int
    board_expected: int
    voice_expected: int
    board_seen: list[bytearray] = field(default_factory=list)
    voice_seen: list[bytearray] = field(default_factory=list)
    board_latency: array = field(default_factory=lambda: array("q"))
    voice_latency: array = field(default_factory=lambda: array("q"))
    frames: int = 0  # text frames that carried at least one of the lecturer's board events
    closed: int = 0
    missing: list[int] = field(default_factory=list)  # per viewer: events and frames not yet received
    waiting: int = 0  # viewers still missing some
    complete: asyncio.Event = field(default_factory=asyncio.Event)
    parsed: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    questions: set[int] = field(default_factory=set)  # ids of the questions the viewers were shown
    replies: Counter = field(default_factory=Counter)  # what the viewers' questions and upvotes came to

    def add_viewer(self) -> int:
        self.board_seen.append(bytearray(self.board_expected))
        self.voice_seen.append(bytearray(self.voice_expected))
        self.missing.append(self.board_expected + self.voice_expected)
        self.waiting += 1
        return len(self.board_seen) - 1

    def received(self, index: int, seen: bytearray, number: int) -> None:
        """Count event or frame ``number`` at viewer ``index`` (``seen`` is its board or its voice)."""
        if seen[number] == 0:
            self.missing[index] -= 1
            if self.missing[index] == 0:
                self.waiting -= 1
                if self.waiting == 0:
                    self.complete.set()
        seen[number] = min(255, seen[number] + 1)

    def board_events(self, message: str) -> list[tuple[int, int]]:
        """(tick, send time) of this phase's board events in a text message; parsed once per distinct text."""
        events = self.parsed.get(message)
        if events is None:
            content = json.loads(message)
            events = []
            kind = content.get("type")
            if kind == "lecture.interaction":
                self.questions.update(question["id"] for question in content["questions"])
            elif kind in ("question.asked", "question.upvoted", "error"):
                self.replies[content.get("code", kind)] += 1
                return events  # each socket's own: not kept
            if kind == "lecture.frame":
                prefix = f"p{self.phase}-"
                for event in content["events"]:
                    ref = event.get("ref", "")
                    if event.get("type") == "board.stroke" and ref.startswith(prefix):
                        _, tick, sent = ref.split("-")
                        events.append((int(tick), int(sent)))
            if len(self.parsed) >= PARSED_KEPT:
                self.parsed.clear()
            self.parsed[message] = events
        return events

    def summary(self) -> dict[str, Any]:
        board = [len(seen) - seen.count(0) for seen in self.board_seen]
        voice = [len(seen) - seen.count(0) for seen in self.voice_seen]
        return {
            "viewers": len(self.board_seen),
            "board_received": sum(board),
            "board_duplicates": sum(sum(seen) for seen in self.board_seen) - sum(board),
            "voice_received": sum(voice),
            "voice_duplicates": sum(sum(seen) for seen in self.voice_seen) - sum(voice),
            "board_latency": self.board_latency.tobytes(),
            "voice_latency": self.voice_latency.tobytes(),
            "frames": self.frames,
            "closed": self.closed,
            "replies": dict(self.replies),
        }


async def viewer_watches(socket: ClientConnection, tally: Tally) -> None:
    index = tally.add_viewer()
    board, voice = tally.board_seen[index], tally.voice_seen[index]
    try:
        async for message in socket:
            now = time.monotonic_ns()
            if isinstance(message, bytes):
                phase, frame, sent = VOICE.unpack_from(message)
                if phase != tally.phase:
                    continue
                tally.voice_latency.append(now - sent)
                tally.received(index, voice, frame)
            else:
                events = tally.board_events(message)
                if not events:
                    continue
                tally.frames += 1
                for tick, sent in events:
                    tally.board_latency.append(now - sent)
                    tally.received(index, board, tick)
    except websockets.ConnectionClosed:
        tally.closed += 1


async def _viewer_open(
    url: str, headers: dict[str, str], gate: asyncio.Semaphore, refused: list[str], questions: set[int]
) -> ClientConnection:
    """Open a viewer's socket and read its snapshot (its questions join ``questions``: what the viewers may
    upvote before the stream changes), trying again (as the page does) when the server gave up on the handshake;
    every failed try is kept in ``refused``."""
    async with gate:
        for attempt in range(1, CONNECT_ATTEMPTS):
            try:
                socket, *_, shown = await snapshot_open(url, headers)
                questions.update(shown)
                return socket
            except (OSError, websockets.InvalidHandshake, websockets.ConnectionClosed) as error:
                refused.append(repr(error))
                await asyncio.sleep(attempt)
        socket, *_, shown = await snapshot_open(url, headers)  # the last try: its error is the socket's
        questions.update(shown)
        return socket


async def viewers_interact(live: list[ClientConnection], tally: Tally, share: float) -> None:
    """Questions and upvotes from viewers chosen at random, this worker's ``share`` of the load, until cancelled;
    an upvote goes to a question the viewers were shown."""
    asked = upvoted = 0
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        if asked < elapsed * QUESTIONS_PER_SECOND * share:
            asked += 1
            message: dict[str, Any] = {"type": "question.ask", "text": f"第{asked}个问题：为什么这里要进位？"}
        elif upvoted < elapsed * UPVOTES_PER_SECOND * share and tally.questions:
            upvoted += 1
            message = {"type": "question.upvote", "question": random.choice(sorted(tally.questions))}
        else:
            await asyncio.sleep(0.01)
            continue
        tally.replies["sent"] += 1
        try:
            await random.choice(live).send(json.dumps(message))
        except websockets.ConnectionClosed:
            tally.replies["send_failed"] += 1


async def _viewers(
    connection: Connection,
    sockets: list[tuple[str, dict[str, str]]],
    phase: int,
    board: int,
    voice: int,
    joining: int,
    interaction: float,
) -> None:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(joining)
    refused: list[str] = []
    started = time.perf_counter()
    shown: set[int] = set()
    opened = await asyncio.gather(
        *(_viewer_open(url, headers, gate, refused, shown) for url, headers in sockets), return_exceptions=True
    )
    seconds = time.perf_counter() - started
    live = [socket for socket in opened if not isinstance(socket, BaseException)]
    tally = Tally(phase=phase, board_expected=board, voice_expected=voice)
    tally.questions.update(shown)
    watching = [asyncio.create_task(viewer_watches(socket, tally)) for socket in live]
    await asyncio.sleep(0)  # every viewer is counted before the lecturer starts
    failed = [repr(socket) for socket in opened if isinstance(socket, BaseException)]
    connection.send(("ready", len(live), seconds, refused, failed))
    await loop.run_in_executor(None, connection.recv)  # the lecturer starts: so do the questions
    interacting = [asyncio.create_task(viewers_interact(live, tally, interaction))] if interaction and live else []
    _, deadline_ns = await loop.run_in_executor(None, connection.recv)
    for task in interacting:  # the lecturer has stopped: so do the questions
        task.cancel()
    try:
        async with asyncio.timeout(max(0.0, (deadline_ns - time.monotonic_ns()) / 1e9)):
            await tally.complete.wait()
    except TimeoutError:
        pass
    connection.send(("done", tally.summary()))
    await loop.run_in_executor(None, connection.recv)  # close
    for task in watching:
        task.cancel()
    await asyncio.gather(*(socket.close() for socket in live), return_exceptions=True)


def viewers_process(
    connection: Connection,
    sockets: list[tuple[str, dict[str, str]]],
    phase: int,
    board: int,
    voice: int,
    joining: int,
    interaction: float,
) -> None:
    """A worker process: open ``sockets`` (url, headers), ``joining`` at a time, tell "ready", ask and upvote
    (``interaction``: this worker's share of the load; 0 for none) from "start" until "end", count until the
    lecturer's last event and frame reached every viewer or the deadline sent with "end" passed, send the tally,
    close on "close"."""
    asyncio.run(_viewers(connection, sockets, phase, board, voice, joining, interaction))
