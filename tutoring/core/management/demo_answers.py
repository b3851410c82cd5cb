"""The demo's recorded answers: what a teacher writes on the board and says, as the messages a session room
stores (board protocol v1, ``media/board.py``) and the voice it saves (16 kHz PCM).

Handwriting comes from a Hershey single-stroke font (the ``Hershey-Fonts`` package), drawn point by point at a
hand's pace; the voice from espeak-ng's Mandarin voice. The demo seed stores both in a real session room and lets
the project's own renderer turn the room into the library's answer video.
"""

import math
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db.models import Model
from HersheyFonts import HersheyFonts

from tutoring.sessions.models import Role, SessionEvent, TutoringSession
from tutoring.sessions.protocol import VERSION, message_check
from tutoring.sessions.services import AUDIO_SAMPLE_RATE, audio_chunk_save
from tutoring.sessions.transport import VOICE_CHUNK_MS

PEN_SPEED = 1.2  # board units a millisecond: a line of 60 units takes 50 ms
LETTER_HEIGHT = 80  # board units from a digit's foot to its top

Point = tuple[float, float]


@cache
def _font() -> HersheyFonts:
    font = HersheyFonts()
    font.load_default_font("futural")
    font.normalize_rendering(100)  # the capital height is 75 units (25 to 100), y up
    return font


@cache
def _scale() -> float:
    """Rendered units per unit of a glyph's width (``char_width`` is in the font's own units)."""
    first, second = list(_font().strokes_for_text("11"))
    return (second[0][0] - first[0][0]) / next(iter(_font().glyphs_for_text("1"))).char_width


def _glyph(char: str) -> tuple[list[list[Point]], float]:
    """One character's strokes (rendered units, x from 0, y up) and its advance. × and ÷ are drawn on the box
    of + and -, which the font has."""
    if char in "×÷":
        strokes, width = _glyph("+")
        (x0, _), (x1, _) = strokes[1][0], strokes[1][-1]  # the horizontal bar of +
        middle, half = (x0 + x1) / 2, (x1 - x0) / 2
        if char == "×":
            reach = half * 0.7
            return [
                [(middle - reach, 57 + reach), (middle + reach, 57 - reach)],
                [
                    (middle + reach, 57 + reach),
                    (middle - reach, 57 - reach),
                ],
            ], width
        dot = [(middle + 3 * math.cos(a / 4 * math.pi), 3 * math.sin(a / 4 * math.pi)) for a in range(9)]
        return [
            [(x0, 57), (x1, 57)],
            [(x, 80 + y) for x, y in dot],
            [(x, 34 + y) for x, y in dot],
        ], width
    strokes = [list(stroke) for stroke in _font().strokes_for_text(char)]
    return strokes, next(iter(_font().glyphs_for_text(char))).char_width * _scale()


@dataclass
class Script:
    """A teacher's part of a session, built in time order: the messages with the moment each is sent (ms since
    the session started) and the voice clips with theirs."""

    clock_ms: int = 500
    page: int = 0  # the page written on
    messages: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    voices: list[tuple[int, bytes]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10_000)))

    def send(self, content: dict[str, Any]) -> None:
        self.messages.append((self.clock_ms, {"v": VERSION, **content}))

    def turn_page(self, page: int) -> None:
        """Show (and write on) another page from now on."""
        self.page = page
        self.send({"type": "board.page", "page": page})
        self.pause(300)

    def pause(self, ms: int) -> None:
        self.clock_ms += ms

    def say(self, text: str) -> None:
        """Speak from now on; the board goes on meanwhile (call ``pause`` to wait for the end)."""
        pcm = speech_pcm(text)
        self.voices.append((self.clock_ms, pcm))

    def speech_end_ms(self) -> int:
        return max((at + len(pcm) * 1000 // (2 * AUDIO_SAMPLE_RATE) for at, pcm in self.voices), default=0)

    def write(self, line: str, *, left: int, top: int, color: str = "#1a1a1a", width: int = 6) -> int:
        """Write one line by hand with its foot at ``top + LETTER_HEIGHT``; returns the x where it ends."""
        size = LETTER_HEIGHT / 75
        x = float(left)
        for char in line:
            strokes, advance = _glyph(char)
            for stroke in strokes:
                points = [(x + px * size, top + (100 - py) * size) for px, py in stroke]
                self.stroke(points, color=color, width=width)
            x += advance * size
            self.pause(60)
        return round(x)

    def underline(self, *, left: int, right: int, y: int) -> None:
        """A marker's stroke under something the teacher points out."""
        self.stroke([(left, y), (right, y)], tool="highlighter", color="#f9ab00", width=28)

    def point_at(self, x: int, y: int) -> None:
        self.send({"type": "board.laser", "x": x, "y": y})
        self.pause(700)

    def stroke(self, points: list[Point], *, tool: str = "pen", color: str = "#1a1a1a", width: int = 6) -> None:
        """One stroke drawn at PEN_SPEED, sent as one chunk when its last point is drawn."""
        timed, dt = [], 0.0
        for index, (x, y) in enumerate(points):
            if index:
                px, py = points[index - 1]
                dt += math.dist((px, py), (x, y)) / PEN_SPEED
            timed.append([round(x), round(y), round(dt)])
        self.pause(round(dt))
        number = next(self._ids)
        self.send(
            {
                "type": "board.stroke",
                "stroke": f"t{number}",  # a teacher's ids start with t
                "page": self.page,
                "tool": tool,
                "color": color,
                "width": width,
                "points": timed,
                "end": True,
            }
        )
        self.pause(120)


@cache
def speech_pcm(text: str) -> bytes:
    """``text`` spoken by espeak-ng's Mandarin voice, as 16 kHz mono PCM (s16le), the format rooms save."""
    espeak, ffmpeg = shutil.which("espeak-ng"), shutil.which("ffmpeg")
    if espeak is None or ffmpeg is None:
        raise RuntimeError("The demo's voices need espeak-ng and ffmpeg (scripts/install.sh installs them).")
    wav = subprocess.run([espeak, "-v", "cmn", "-s", "150", "--stdout", text], capture_output=True, check=True)
    pcm = subprocess.run(
        [ffmpeg, "-v", "error", "-i", "pipe:0", "-ac", "1", "-ar", str(AUDIO_SAMPLE_RATE), "-f", "s16le", "pipe:1"],
        input=wav.stdout,
        capture_output=True,
        check=True,
    )
    return pcm.stdout


def script_store(
    script: Script, *, log: Callable[[int, int, str, dict[str, Any]], Model], voice: Callable[[int, bytes], object]
) -> int:
    """The teacher's messages and voice as a room's or a studio's socket stores them: each message checked by the
    protocol and numbered in the log (``log(seq, at_ms, type, data)`` makes a row), the voice saved in 2-second
    chunks at their time (``voice(started_ms, pcm)``). Returns the last number."""
    rows = []
    for seq, (at_ms, content) in enumerate(script.messages, start=1):
        kind, data = message_check(content, role=Role.TEACHER)
        rows.append(log(seq, at_ms, kind, data))
    type(rows[0])._default_manager.bulk_create(rows)
    chunk_bytes = VOICE_CHUNK_MS * AUDIO_SAMPLE_RATE // 1000 * 2
    for started_ms, pcm in script.voices:
        for offset in range(0, len(pcm), chunk_bytes):
            voice(started_ms + offset // 2 * 1000 // AUDIO_SAMPLE_RATE, pcm[offset : offset + chunk_bytes])
    return len(rows)


def session_script_store(session: TutoringSession, script: Script) -> int:
    """``script`` as the answering session's board log and the teacher's voice (``script_store``), with the
    session's last number, which it returns."""
    last_seq = script_store(
        script,
        log=lambda seq, at_ms, kind, data: SessionEvent(
            session=session, seq=seq, at_ms=at_ms, role=Role.TEACHER, type=kind, data=data
        ),
        voice=lambda started_ms, pcm: audio_chunk_save(
            session_id=session.pk, role=Role.TEACHER, started_ms=started_ms, pcm=pcm
        ),
    )
    TutoringSession.objects.filter(pk=session.pk).update(last_seq=last_seq)
    return last_seq
