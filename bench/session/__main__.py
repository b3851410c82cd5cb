"""Session bench: relay latency of board events and voice between the two sides of a room, alone and with
many rooms on one web process, then the render time of a 10-minute session.

Run from the repository root::

    .venv/bin/python -m bench.session [--seconds 20] [--rooms 10 25 50] [--minutes 10]

It starts the platform as in production on a scratch PostgreSQL database and Redis (one daphne process with
the Redis channel layer; no workers: a room needs none) and seeds rooms (a teacher and a student in each).
Then, for one room and for each count of ``--rooms`` at once, the teacher in every room draws without a
pause for ``--seconds`` (a stroke chunk of three points every 50 ms, as the browser sends them, each stored
in the room's log before it is relayed) and speaks (a 100 ms voice frame every 100 ms), each teacher from a
moment of their own within the first 2 s; the student's socket times every event and frame from the
teacher's send. It prints p50/p99/max per count, what was lost, and the
CPU of the web process and PostgreSQL; then renders a synthetic session of ``--minutes`` (see
``bench/session/render.py``).
"""

import argparse
import asyncio
import json
import random
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets

from bench.intake.figures import milliseconds
from bench.matching_quality.tables import table
from bench.platform import Platform
from bench.session.render import render_report

CHUNK_SECONDS = 0.05
STAGGER_SECONDS = 2.0
FRAME_SECONDS = 0.1
FRAME_BYTES = 3200  # 100 ms of 16 kHz 16-bit mono
P99_TARGET_MS = 100
CPU_SHOWN = ("web0", "postgres", "redis-server", "client")  # share of one core while the teachers draw


@dataclass
class Timings:
    sent: dict[str, float] = field(default_factory=dict)  # board event ref or voice frame id → send time
    board: list[float] = field(default_factory=list)
    voice: list[float] = field(default_factory=list)


async def open_socket(base: str, room: int, cookie: str):
    socket = await websockets.connect(
        f"{base.replace('http', 'ws', 1)}/ws/sessions/{room}/", additional_headers={"Cookie": cookie, "Origin": base}
    )
    snapshot = json.loads(await socket.recv())
    assert snapshot["type"] == "session.snapshot", snapshot
    return socket


async def teacher_draws(socket, room: int, seconds: float, timings: Timings) -> None:
    """A stroke chunk every 50 ms and a voice frame every 100 ms, each stamped with its send time, from a
    moment of its own in the first two seconds: rooms start at different times, so their voice is recorded
    in two-second chunks at different moments too (in lockstep, every room saved its chunk at once)."""
    await asyncio.sleep(random.Random(room).uniform(0, STAGGER_SECONDS))
    started = time.perf_counter()
    for tick in range(round(seconds / CHUNK_SECONDS)):
        await asyncio.sleep(max(0.0, started + tick * CHUNK_SECONDS - time.perf_counter()))
        ref = f"r{room}-{tick}"
        x = 100 + tick % 900
        chunk = {
            "v": 1,
            "type": "board.stroke",
            "stroke": f"t{room}-{tick // 20}",
            "page": 0,
            "tool": "pen",
            "color": "#1a1a1a",
            "width": 4,
            "points": [
                [x, 400, (tick % 20) * 50],
                [x + 1, 401, (tick % 20) * 50 + 16],
                [x + 2, 402, (tick % 20) * 50 + 33],
            ],
            "end": tick % 20 == 19,
            "ref": ref,
        }
        timings.sent[ref] = time.perf_counter()
        await socket.send(json.dumps(chunk))
        if tick % 2 == 0:
            frame_id = f"v{room}-{tick}"
            timings.sent[frame_id] = time.perf_counter()
            await socket.send(struct.pack("<II", room, tick) + bytes(FRAME_BYTES - 8))


async def student_watches(socket, room: int, expected: int, timings: Timings) -> None:
    board = voice = 0
    while board < expected or voice < expected // 2:
        message = await socket.recv()
        now = time.perf_counter()
        if isinstance(message, bytes):
            sender, tick = struct.unpack("<II", message[:8])
            timings.voice.append(now - timings.sent[f"v{sender}-{tick}"])
            voice += 1
            continue
        event = json.loads(message)
        if event["type"] == "board.stroke":
            timings.board.append(now - timings.sent[event["ref"]])
            board += 1


async def drain(socket) -> None:
    """Read what comes back to a teacher (the echoes of their own events), as a browser does: a socket that
    is never read stops reading pongs too, and the client's keepalive then closes it."""
    async for _ in socket:
        pass


async def rooms_run(platform: Platform, rooms: list[dict], seconds: float) -> tuple[Timings, dict[str, float]]:
    base = platform.base_urls[0]
    teachers = [await open_socket(base, room["id"], room["teacher"]) for room in rooms]
    students = [await open_socket(base, room["id"], room["student"]) for room in rooms]
    await asyncio.sleep(1)  # the presence events settle
    timings = Timings()
    expected = round(seconds / CHUNK_SECONDS)
    cpu_before, started = platform.cpu_seconds(), time.perf_counter()
    draining = [asyncio.create_task(drain(socket)) for socket in teachers]
    watching = [
        asyncio.create_task(student_watches(socket, room["id"], expected, timings))
        for socket, room in zip(students, rooms, strict=True)
    ]
    await asyncio.gather(
        *(teacher_draws(socket, room["id"], seconds, timings) for socket, room in zip(teachers, rooms, strict=True))
    )
    _, pending = await asyncio.wait(watching, timeout=30)
    for task in [*pending, *draining]:
        task.cancel()
    wall = time.perf_counter() - started
    cpu_after = platform.cpu_seconds()
    for socket in [*teachers, *students]:
        await socket.close()
    return timings, {name: (cpu_after[name] - cpu_before[name]) / wall for name in cpu_after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each teacher draws and speaks")
    parser.add_argument("--rooms", type=int, nargs="+", default=[10, 25, 50], help="rooms at once on one web process")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the rendered session")
    options = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="xuewen-bench-session-") as scratch:
        rooms_file = Path(scratch) / "rooms.json"
        seed = ["-m", "bench.session.seed", str(max(options.rooms) + 1), str(rooms_file)]
        with Platform(name="session", seed=seed, servers=1) as platform:
            try:
                rooms = json.loads(rooms_file.read_text())
                for count in (1, *options.rooms):
                    chosen = rooms[:1] if count == 1 else rooms[1 : count + 1]
                    label = f"{count} room" + ("s" if count > 1 else "")
                    results.append((label, count, *asyncio.run(rooms_run(platform, chosen, options.seconds))))
            except BaseException:
                print(platform.logs(), file=sys.stderr)
                raise
    expected = round(options.seconds / CHUNK_SECONDS)
    print(
        f"\neach teacher draws a chunk every {CHUNK_SECONDS * 1000:.0f} ms and speaks a {FRAME_SECONDS * 1000:.0f} ms"
        f" frame every {FRAME_SECONDS * 1000:.0f} ms for {options.seconds:g} s; one daphne process\n"
    )
    rows = []
    for label, count, timings, cpu in results:
        board_lost = count * expected - len(timings.board)
        voice_lost = count * (expected // 2) - len(timings.voice)
        rows.append(
            [
                f"{label}: board event",
                str(len(timings.board)),
                *milliseconds(timings.board),
                str(board_lost),
                f"p99 < {P99_TARGET_MS}",
                *(f"{cpu[name]:.0%}" for name in CPU_SHOWN),
            ]
        )
        rows.append(
            [
                f"{label}: voice frame",
                str(len(timings.voice)),
                *milliseconds(timings.voice),
                str(voice_lost),
                "",
                *("" for _ in CPU_SHOWN),
            ]
        )
    cpu_headers = [f"CPU {name}" for name in CPU_SHOWN]
    table(["relay teacher → student (ms)", "n", "p50", "p99", "max", "not in 30 s", "target", *cpu_headers], rows)
    render_report(options.minutes)


if __name__ == "__main__":
    main()
