"""Session render bench: how long a 10-minute tutoring session takes to become an MP4.

Run from the repository root (no services needed)::

    .venv/bin/python -m bench.session.render [--minutes 10] [--seed 1]

It makes a synthetic session like the client and server store it: a handwriting-like stroke of 40-80
points every 2-3 s, sent in 50 ms chunks, over four pages with page switches, some highlighter and eraser
strokes, undos and a clear, a question photo (made with Pillow) as page 0's background, a laser point every
~20 s; a voice-like WAV (16 kHz mono, syllables of shaped noise and a gliding tone, with pauses) for the
teacher and an occasional student's. It renders them with ``media.board.board_render`` in this process and
prints the number of events, the wall and CPU time (this process and ffmpeg), the real-time factor, the
output size and bitrates. Everything is written under a temporary folder, removed at the end.
"""

import argparse
import json
import math
import os
import random
import resource
import subprocess
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from media.board import BOARD_HEIGHT, BOARD_WIDTH, board_render, board_replay

RATE = 16000
POINT_MS = 16  # a pointer reports about 60 points a second
CHUNK_MS = 50


def session_events(minutes: float, rng: random.Random) -> list[dict[str, Any]]:
    """The board events of a lesson: writing line by line, a new page every few minutes."""
    events: list[dict[str, Any]] = []
    end_ms = int(minutes * 60_000)

    def add(at: int, kind: str, by: str = "teacher", **payload: Any) -> None:
        events.append({"seq": len(events) + 1, "at": at, "by": by, "type": kind, **payload})

    add(0, "board.background", page=0, attachment=1, x=100, y=80, width=1000)
    page, line, column, number, laser_at = 0, 0, 0, 0, 20_000
    at = 1000
    while at < end_ms - 5000:
        number += 1
        if number % 45 == 0:  # a new page every ~2.5 minutes
            page, line, column = page + 1, 0, 0
            add(at, "board.page", page=page % 4)
            at += 500
        tool = "highlighter" if number % 17 == 0 else "eraser" if number % 23 == 0 else "pen"
        x0, y0 = 80 + column * 130, 800 + line * 110 if page % 4 == 0 else 120 + line * 110
        points, x, y, heading = [], float(x0), float(y0), rng.uniform(0, 2 * math.pi)
        for index in range(rng.randint(40, 80)):
            heading += rng.uniform(-0.6, 0.6)
            x = min(BOARD_WIDTH - 1, max(0, x + 3 * math.cos(heading) + 1.2))
            y = min(BOARD_HEIGHT - 1, max(0, y + 3 * math.sin(heading)))
            points.append([round(x), round(y), index * POINT_MS])
        by = "student" if number % 11 == 0 else "teacher"
        stroke = f"s{number}"
        per_chunk = CHUNK_MS // POINT_MS
        for start in range(0, len(points), per_chunk):
            chunk = points[start : start + per_chunk]
            add(
                at + chunk[-1][2],
                "board.stroke",
                by,
                stroke=stroke,
                page=page % 4,
                tool=tool,
                color="#ffd54f" if tool == "highlighter" else rng.choice(["#1a1a1a", "#1a1a1a", "#d32f2f", "#1565c0"]),
                width=28 if tool != "pen" else rng.choice([3, 4, 6]),
                points=chunk,
                end=start + per_chunk >= len(points),
            )
        at += points[-1][2]
        if number % 9 == 0:
            add(at + 800, "board.undo", target=stroke)
            if number % 27 == 0:
                add(at + 1600, "board.redo", target=stroke)
        if number % 100 == 50:
            add(at + 400, "board.clear", id=f"c{number}", page=page % 4)
            add(at + 1500, "board.undo", target=f"c{number}")
        column = (column + 1) % 8
        line = (line + (column == 0)) % 6
        at += rng.randint(2000, 3000)
        if at > laser_at:
            add(at - 1000, "board.laser", x=rng.randint(100, 1100), y=rng.randint(100, 1500))
            laser_at += 20_000
    return events


def voice(path: Path, seconds: float, talk_share: float, rng: np.random.Generator) -> None:
    """Speech-like sound: syllables (~5 a second) of band-limited noise and a gliding tone, in phrases."""
    samples = int(seconds * RATE)
    time_axis = np.arange(samples) / RATE
    noise = np.convolve(rng.standard_normal(samples), np.ones(6) / 6, mode="same")
    tone = np.sin(2 * np.pi * np.cumsum(140 + 40 * np.sin(2 * np.pi * 0.7 * time_axis)) / RATE)
    syllables = np.clip(np.sin(2 * np.pi * 5 * time_axis), 0, None) ** 2
    phrases = np.repeat(rng.random(int(seconds) + 1) < talk_share, RATE)[:samples]
    signal = (0.5 * noise + 0.5 * tone) * syllables * phrases * 0.3
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(RATE)
        file.writeframes((signal * 32767).astype("<i2").tobytes())


def question_photo(path: Path) -> None:
    image = Image.new("RGB", (2000, 1500), (236, 232, 220))
    draw = ImageDraw.Draw(image)
    for row in range(12):
        for column in range(30):
            if (row * 7 + column * 3) % 11:
                draw.rectangle(
                    (80 + column * 62, 90 + row * 110, 120 + column * 62, 140 + row * 110), fill=(40, 40, 50)
                )
    image.save(path, quality=85)


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds of this process (replay, drawing, piping) and of its finished children (ffmpeg)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    render_report(arguments.minutes, arguments.seed)


def render_report(minutes: float = 10, seed: int = 1) -> None:
    """Render a synthetic session of ``minutes`` and print the time it took, the CPU and the output."""
    seconds = minutes * 60

    with tempfile.TemporaryDirectory(prefix="bench-session-") as folder:
        root = Path(folder)
        events = session_events(minutes, random.Random(seed))
        rng = np.random.default_rng(seed)
        voice(root / "teacher.wav", seconds, 0.7, rng)
        voice(root / "student.wav", max(1.0, seconds - 30), 0.1, rng)  # a shorter track than the teacher's
        question_photo(root / "question.jpg")
        state = board_replay(events)
        print(f"session: {minutes:g} min, {len(events)} events, {state.stroke_counts()} shown strokes/page")

        cpu_before, wall_before = cpu_seconds(), time.perf_counter()
        recording = board_render(
            events=events,
            duration_ms=round(seconds * 1000),
            audio_paths=[root / "teacher.wav", root / "student.wav"],
            backgrounds={1: root / "question.jpg"},
            dst=root / "session.mp4",
            poster=root / "session.jpg",
        )
        wall = time.perf_counter() - wall_before
        python_cpu, ffmpeg_cpu = (after - before for after, before in zip(cpu_seconds(), cpu_before, strict=True))
        cpu = python_cpu + ffmpeg_cpu

        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(recording.video)],
            check=True,
            capture_output=True,
        )
        rates = {stream["codec_type"]: int(stream["bit_rate"]) for stream in json.loads(probe.stdout)["streams"]}
        print(
            f"render wall time: {wall:.1f} s (real-time factor {wall / seconds:.3f}, {seconds / wall:.1f}x real time)"
        )
        print(
            f"CPU time: {cpu:.1f} s ({python_cpu:.1f} s Python, {ffmpeg_cpu:.1f} s ffmpeg),",
            f"{cpu / wall:.2f} cores on average",
        )
        print(
            f"output: {recording.size_bytes / 1e6:.2f} MB, {recording.duration_seconds:.2f} s, "
            f"{recording.width}x{recording.height}, poster of page {recording.poster_page} "
            f"({recording.poster.stat().st_size / 1e3:.0f} kB)"
        )
        print(f"bitrates: video {rates['video'] / 1000:.0f} kbit/s, audio {rates['audio'] / 1000:.0f} kbit/s")
        print(f"load average: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
