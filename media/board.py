"""Replaying a same-screen tutoring session's whiteboard and rendering it, with the
voices, to an MP4.

This docstring is the reference for board protocol v1: the server's validator and
the browser board follow it too.

Board protocol v1
=================

The board is 1200 x 1600 logical units (portrait 3:4), integer coordinates, origin
at the top left, white. It has pages 0..49, which start empty; page 0 is shown
first. Every stored event is a dict::

    {"seq": 1, 2, ... (increasing), "at": ms since the session started (server
     clock, non-decreasing), "by": "teacher" | "student", "type": ..., **payload}

``board.stroke`` ``{"stroke": id, "page": int, "tool": "pen" | "highlighter" |
"eraser", "color": "#rrggbb", "width": 1..80, "points": [[x, y, dt], ...] (1..500),
"end": bool}``
    A stroke is sent in chunks while it is drawn (about every 50 ms). Every chunk
    repeats stroke, page, tool, color and width; the first chunk's values win. ``dt``
    is ms since the stroke's first point, non-decreasing across chunks; the last
    chunk has ``end: true`` and later chunks of that id are ignored. A chunk is sent
    when its last point is drawn, so point i of a chunk was drawn at
    ``at - (dt of the chunk's last point - dt_i)``, but never before the stroke's
    previous point (nor before 0); the video shows each point from that moment.
    pen: an opaque polyline with round caps and joins. highlighter: the colour at
    35 % opacity, like a marker: where one stroke crosses itself it does not get
    darker (two strokes over each other do). eraser: removes the pixels of the
    strokes under it (drawn before it), never the background photo, along its path
    at its width.
``board.undo`` ``{"target": id}`` / ``board.redo`` ``{"target": id}``
    Hide / show again the action (a stroke, whatever its tool, or a clear) with
    that id. Unknown targets are ignored.
``board.clear`` ``{"id": id, "page": int}``
    Hides every stroke of that page that started before it (a lower seq of its
    first chunk); strokes started later stay. Undo/redo it by its id.
``board.page`` ``{"page": int}``
    The page everyone sees from now on; the video shows it.
``board.background`` ``{"page": int, "attachment": int | null, "x": int, "y": int,
"width": int}``
    Places the question photo (an attachment id) on that page with its top left
    corner at x, y, scaled to ``width`` units with its aspect ratio kept, under the
    strokes; ``attachment: null`` removes it. A page has one background.
``board.laser`` ``{"x": int, "y": int}``
    A transient red pointer dot, shown from ``at`` for 600 ms or until the next
    laser event; never part of the board.
``board.permission`` ``{"student_draw": bool, "student_speak": bool}``
    No visual effect.

Ids (stroke and clear ids) are client-made strings ``[A-Za-z0-9_-]{1,40}``, one
namespace for both. Events of other types are ignored.

Rendering
=========

``board_render`` draws frames with Pillow at 720 x 960 (the board scaled by 0.6) and
15 frames a second, pipes them to ffmpeg (H.264 High, yuv420p, BT.709, CRF 26,
preset veryfast, the index at the front) and mixes the voices (WAV files that
start at session time 0) into mono AAC at 64 kbit/s. Drawing is incremental: new
segments are painted onto a persistent stroke layer and onto the composed frame;
the page is composed again from its strokes only when something else changes it
(undo, redo, clear, page, background). Eraser segments and the laser dot redraw
only the rectangle they cover.
"""

import contextlib
import math
import os
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageOps

from .errors import MediaProcessingError
from .video import VideoProbe, _failed, _h264_level, _tool, outputs_in_place, video_probe

BOARD_WIDTH = 1200
BOARD_HEIGHT = 1600
PAGES = 50
SCALE = 0.6
VIDEO_WIDTH = round(BOARD_WIDTH * SCALE)  # 720
VIDEO_HEIGHT = round(BOARD_HEIGHT * SCALE)  # 960
# Handwriting looks continuous at 15 frames a second (the client sends a chunk every
# 50 ms, so a frame shows about one new chunk), and every frame costs composing,
# piping and encoding time: 30 would double that for no visible gain on a board.
FPS = 15
LASER_MS = 600
HIGHLIGHTER_OPACITY = 0.35
TOOLS = ("pen", "highlighter", "eraser")

# CRF 26 (as for answer videos) keeps thin lines crisp on a phone; a board is mostly
# unchanging, so a 10-minute session stays near 2 MB of picture (the voice takes
# more). veryfast: x264 takes about 3 ms a frame here, slower presets gain little.
_CRF = "26"
_PRESET = "veryfast"
_KEYFRAME_SECONDS = 10  # a phone seeking in the video decodes at most this far back
_AUDIO_BITRATE = "64k"
_AUDIO_RATE = 48000

_LASER_RADIUS = 9  # pixels of the video
_LASER_COLOR = (229, 57, 53)
_WHITE = (255, 255, 255)
_TRANSPARENT = (0, 0, 0, 0)
_HIGHLIGHT_ALPHA = [round(value * HIGHLIGHTER_OPACITY) for value in range(256)]

# ffmpeg gets this long plus this much per second of session: rendering takes
# about a fifth of real time on 2 busy cores, so this leaves a wide margin.
_TIMEOUT_BASE_SECONDS = 60
_TIMEOUT_PER_SECOND = 1.0
_DURATION_TOLERANCE = 0.5
_POSTER_QUALITY = 85

Event = Mapping[str, Any]
Box = tuple[int, int, int, int]


# --- Replay -------------------------------------------------------------------------------------


@dataclass(eq=False)
class Stroke:
    """A stroke as far as its chunks have arrived: ``points`` in board units and
    ``times``, the ms of session time each point was drawn at."""

    id: str
    seq: int
    page: int
    tool: str
    color: tuple[int, int, int]
    width: int
    points: list[tuple[int, int]] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    ended: bool = False
    undone: bool = False


@dataclass(eq=False)
class Clear:
    id: str
    seq: int
    page: int
    undone: bool = False


@dataclass(frozen=True)
class Background:
    attachment: int
    x: int
    y: int
    width: int


@dataclass(frozen=True)
class Laser:
    x: int
    y: int
    at: int


@dataclass(eq=False)
class Page:
    strokes: list[Stroke] = field(default_factory=list)  # in the order they started
    clears: list[Clear] = field(default_factory=list)
    background: Background | None = None


def _color(value: str) -> tuple[int, int, int]:
    if not (isinstance(value, str) and len(value) == 7 and value.startswith("#")):
        raise ValueError(f"not a #rrggbb colour: {value!r}")
    number = int(value[1:], 16)
    return number >> 16, (number >> 8) & 0xFF, number & 0xFF


def chunk_times(at: int, dts: Sequence[int], previous: int) -> list[int]:
    """When each point of a stroke chunk received at ``at`` was drawn: its last point
    at ``at``, the others ``dt`` earlier, never before ``previous`` (the stroke's
    previous point, or 0)."""
    last = dts[-1]
    times = []
    for dt in dts:
        previous = max(previous, at - (last - dt))
        times.append(previous)
    return times


class BoardState:
    """The board after the events applied so far, in ``seq`` order: pages with their
    strokes, clears and backgrounds, which strokes are shown, and the page in view."""

    def __init__(self) -> None:
        self.pages: dict[int, Page] = {}
        self.actions: dict[str, Stroke | Clear] = {}
        self.current_page = 0
        self.laser: Laser | None = None

    def page(self, number: int) -> Page:
        if (page := self.pages.get(number)) is None:
            page = self.pages[number] = Page()
        return page

    def apply(self, event: Event) -> int | None:
        """Apply one event. Returns the page whose look changed other than by new
        stroke points (undo, redo, clear, background), which a view of that page must
        draw again, or None."""
        kind = event.get("type")
        if kind == "board.stroke":
            self._stroke(event)
        elif kind in ("board.undo", "board.redo"):
            action = self.actions.get(event["target"])
            undone = kind == "board.undo"
            if action is not None and action.undone != undone:
                action.undone = undone
                return action.page
        elif kind == "board.clear":
            if event["id"] not in self.actions:
                clear = Clear(event["id"], int(event["seq"]), int(event["page"]))
                self.actions[clear.id] = clear
                self.page(clear.page).clears.append(clear)
                return clear.page
        elif kind == "board.page":
            self.current_page = int(event["page"])
        elif kind == "board.background":
            attachment = event["attachment"]
            background = (
                None
                if attachment is None
                else Background(int(attachment), int(event["x"]), int(event["y"]), int(event["width"]))
            )
            page = self.page(int(event["page"]))
            if page.background != background:
                page.background = background
                return int(event["page"])
        elif kind == "board.laser":
            self.laser = Laser(int(event["x"]), int(event["y"]), int(event["at"]))
        return None

    def _stroke(self, event: Event) -> None:
        stroke = self.actions.get(event["stroke"])
        if stroke is None:
            tool = event["tool"]
            if tool not in TOOLS:
                raise ValueError(f"unknown tool {tool!r}")
            stroke = Stroke(
                id=event["stroke"],
                seq=int(event["seq"]),
                page=int(event["page"]),
                tool=tool,
                color=_color(event["color"]),
                width=int(event["width"]),
            )
            self.actions[stroke.id] = stroke
            self.page(stroke.page).strokes.append(stroke)
        elif not isinstance(stroke, Stroke) or stroke.ended:
            return
        points = event["points"]
        if points:
            previous = stroke.times[-1] if stroke.times else 0
            stroke.times += chunk_times(int(event["at"]), [int(point[2]) for point in points], previous)
            stroke.points += [(int(point[0]), int(point[1])) for point in points]
        stroke.ended = bool(event.get("end"))

    def is_visible(self, stroke: Stroke) -> bool:
        if stroke.undone:
            return False
        page = self.pages[stroke.page]
        return not any(clear.seq > stroke.seq and not clear.undone for clear in page.clears)

    def visible_strokes(self, page: int) -> list[Stroke]:
        """The strokes shown on ``page`` (erasers included), bottom first."""
        if page not in self.pages:
            return []
        return [stroke for stroke in self.pages[page].strokes if self.is_visible(stroke)]

    def stroke_counts(self) -> dict[int, int]:
        """The number of shown pen and highlighter strokes of each page that has any."""
        counts = {}
        for number in self.pages:
            count = sum(stroke.tool != "eraser" for stroke in self.visible_strokes(number))
            if count:
                counts[number] = count
        return counts


def board_replay(events: Iterable[Event]) -> BoardState:
    """The board after all ``events``, applied in ``seq`` order."""
    state = BoardState()
    for event in sorted(events, key=lambda event: event["seq"]):
        state.apply(event)
    return state


# --- Drawing ------------------------------------------------------------------------------------


def _scaled(point: tuple[int, int]) -> tuple[float, float]:
    return point[0] * SCALE, point[1] * SCALE


def _stroke_width(stroke: Stroke) -> int:
    return max(1, round(stroke.width * SCALE))


def _bounds(points: Sequence[tuple[float, float]], width: int) -> Box | None:
    """The pixels ``points`` drawn at ``width`` may touch, cut to the frame; None if
    none."""
    reach = width / 2 + 2
    left = max(0, math.floor(min(x for x, _y in points) - reach))
    top = max(0, math.floor(min(y for _x, y in points) - reach))
    right = min(VIDEO_WIDTH, math.ceil(max(x for x, _y in points) + reach))
    bottom = min(VIDEO_HEIGHT, math.ceil(max(y for _x, y in points) + reach))
    return (left, top, right, bottom) if left < right and top < bottom else None


def _polyline(draw: ImageDraw.ImageDraw, points: Sequence[tuple[float, float]], width: int, fill: Any) -> None:
    """A polyline with round caps and joins: a disc on every point."""
    if len(points) > 1:
        draw.line(points, fill=fill, width=width)
    if width > 2 or len(points) == 1:
        radius = (width - 1) / 2  # the box's edges are painted too
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)


def _offset(points: Sequence[tuple[float, float]], box: Box) -> list[tuple[float, float]]:
    return [(x - box[0], y - box[1]) for x, y in points]


class _Picture:
    """One page as the video shows it: its background (white and the photo), the
    strokes on a transparent layer, and the frame composed of both."""

    def __init__(self, backgrounds: Mapping[int, Image.Image]) -> None:
        self._photos = backgrounds
        self._page_backgrounds: dict[tuple[int, Background | None], Image.Image] = {}
        self.background = Image.new("RGB", (VIDEO_WIDTH, VIDEO_HEIGHT), _WHITE)
        self.layer = Image.new("RGBA", (VIDEO_WIDTH, VIDEO_HEIGHT), _TRANSPARENT)
        self.frame = self.background.copy()
        self._layer_draw = ImageDraw.Draw(self.layer)
        self._frame_draw = ImageDraw.Draw(self.frame)
        # Highlighter strokes being drawn: the pixels each already covers.
        self._masks: dict[str, Image.Image] = {}
        self.drawn: dict[str, int] = {}  # stroke id -> points painted so far
        self.changed = True

    def page_background(self, page: int, background: Background | None) -> Image.Image:
        key = (page, background)
        if (image := self._page_backgrounds.get(key)) is None:
            image = Image.new("RGB", (VIDEO_WIDTH, VIDEO_HEIGHT), _WHITE)
            if background is not None:
                photo = self._photos[background.attachment]
                width = max(1, round(background.width * SCALE))
                height = max(1, round(width * photo.height / photo.width))
                scaled = photo.resize((width, height), Image.Resampling.BICUBIC)
                position = (round(background.x * SCALE), round(background.y * SCALE))
                image.paste(scaled, position, scaled if scaled.mode == "RGBA" else None)
            self._page_backgrounds = {key: image}  # only the page in view is kept
        return image

    def compose(self, state: BoardState, page: int, until: float) -> list[Stroke]:
        """Draw ``page`` again from its shown strokes, each as far as drawn at
        ``until``; returns the strokes with points still to come."""
        self.background = self.page_background(page, state.pages[page].background if page in state.pages else None)
        self.layer = Image.new("RGBA", (VIDEO_WIDTH, VIDEO_HEIGHT), _TRANSPARENT)
        self._layer_draw = ImageDraw.Draw(self.layer)
        self.frame = self.background.copy()
        self._frame_draw = ImageDraw.Draw(self.frame)
        self._masks.clear()
        self.drawn.clear()
        unfinished = []
        for stroke in state.visible_strokes(page):
            self.drawn[stroke.id] = 0
            if self.advance(stroke, until, compose=False):
                unfinished.append(stroke)
        self.frame.paste(self.layer, (0, 0), self.layer)
        self.changed = True
        return unfinished

    def advance(self, stroke: Stroke, until: float, *, compose: bool = True) -> bool:
        """Paint the points of ``stroke`` drawn by ``until`` that are not painted yet,
        onto the layer and, if ``compose``, the frame. Returns whether more points are
        to come (or may come: the stroke has not ended)."""
        start = self.drawn.get(stroke.id, 0)
        end = start
        while end < len(stroke.times) and stroke.times[end] <= until:
            end += 1
        if end > start:
            self.drawn[stroke.id] = end
            self._paint(stroke, [_scaled(point) for point in stroke.points[max(0, start - 1) : end]], compose)
            self.changed = True
        more = end < len(stroke.times) or not stroke.ended
        if not more:
            self._masks.pop(stroke.id, None)
        return more

    def _paint(self, stroke: Stroke, points: list[tuple[float, float]], compose: bool) -> None:
        width = _stroke_width(stroke)
        if stroke.tool == "pen":
            _polyline(self._layer_draw, points, width, (*stroke.color, 255))
            if compose:
                _polyline(self._frame_draw, points, width, stroke.color)
            return
        if (box := _bounds(points, width)) is None:
            return
        if stroke.tool == "eraser":
            _polyline(self._layer_draw, points, width, _TRANSPARENT)
            if compose:
                self.restore(box)
            return
        # Highlighter: only the pixels this stroke does not cover yet get its colour,
        # so that it does not darken where it crosses itself.
        if (mask := self._masks.get(stroke.id)) is None:
            mask = self._masks[stroke.id] = Image.new("L", (VIDEO_WIDTH, VIDEO_HEIGHT), 0)
        size = (box[2] - box[0], box[3] - box[1])
        segment = Image.new("L", size, 0)
        _polyline(ImageDraw.Draw(segment), _offset(points, box), width, 255)
        fresh = ImageChops.subtract(segment, mask.crop(box))
        mask.paste(255, box, segment)
        alpha = fresh.point(_HIGHLIGHT_ALPHA)
        tint = Image.new("RGBA", size, (*stroke.color, 0))
        tint.putalpha(alpha)
        self.layer.alpha_composite(tint, dest=box[:2])
        if compose:
            self.frame.paste(stroke.color, box, alpha)

    def restore(self, box: Box) -> None:
        """Compose the frame again inside ``box`` (after an eraser or the laser)."""
        self.frame.paste(self.background.crop(box), box)
        strokes = self.layer.crop(box)
        self.frame.paste(strokes, box, strokes)
        self.changed = True

    def laser(self, laser: Laser) -> Box | None:
        """Draw the laser dot onto the frame; returns the rectangle to restore."""
        x, y = _scaled((laser.x, laser.y))
        radius = _LASER_RADIUS
        box = _bounds([(x, y)], 2 * radius + 2)
        if box is not None:
            self._frame_draw.ellipse((x - radius - 2, y - radius - 2, x + radius + 2, y + radius + 2), fill=_WHITE)
            self._frame_draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=_LASER_COLOR)
            self.changed = True
        return box


# --- Rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardRecording:
    """The rendered MP4 and its JPEG poster, as measured by ffprobe."""

    video: Path
    poster: Path
    duration_seconds: float
    width: int
    height: int
    size_bytes: int
    poster_page: int


def _malformed(event: object, exc: Exception) -> MediaProcessingError:
    seq = event.get("seq") if isinstance(event, Mapping) else None
    return _failed(f"malformed board event (seq {seq}): {exc!r}")


def _render_order(events: Iterable[Event], duration_ms: int) -> list[tuple[float, Event]]:
    """The events up to ``duration_ms`` in the order the renderer applies them, each
    with the ms it counts from: by that time, then ``seq``. A stroke chunk counts
    from when its first point was drawn (never before the stroke's previous chunk),
    so that the video shows points when they were drawn rather than when their
    chunk arrived; the board's meaning (which stroke is on top, what a clear hides)
    follows ``seq`` whatever the order of applying."""
    keyed: list[tuple[float, int, Event]] = []
    chunk_start: dict[str, float] = {}
    for event in sorted(events, key=lambda event: event["seq"]):
        try:
            at = int(event["at"])
            if at > duration_ms:
                continue
            key = float(at)
            if event.get("type") == "board.stroke" and event.get("points"):
                points = event["points"]
                key = max(at - (int(points[-1][2]) - int(points[0][2])), chunk_start.get(event["stroke"], 0.0))
                chunk_start[event["stroke"]] = key
            keyed.append((key, int(event["seq"]), event))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise _malformed(event, exc) from exc
    keyed.sort(key=lambda item: item[:2])
    return [(key, event) for key, _seq, event in keyed]


def _apply(state: BoardState, event: Event) -> int | None:
    try:
        return state.apply(event)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise _malformed(event, exc) from exc


def _load_backgrounds(events: Iterable[Event], backgrounds: Mapping[int, str | Path]) -> dict[int, Image.Image]:
    """The photos the events place, decoded once (JPEGs at a fraction of their size
    where that still covers the board)."""
    wanted = {
        int(event["attachment"])
        for event in events
        if event.get("type") == "board.background" and event.get("attachment") is not None
    }
    photos = {}
    for attachment in sorted(wanted):
        if attachment not in backgrounds:
            raise _failed(f"no image for background attachment {attachment}")
        try:
            with Image.open(backgrounds[attachment]) as image:
                image.draft("RGB", (VIDEO_WIDTH, VIDEO_HEIGHT))
                transposed = ImageOps.exif_transpose(image)
                has_alpha = transposed.mode in ("RGBA", "LA", "PA") or "transparency" in transposed.info
                photos[attachment] = transposed.convert("RGBA" if has_alpha else "RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise _failed(f"background attachment {attachment} is unreadable: {exc}") from exc
    return photos


def _frames(
    events: list[tuple[float, Event]], frame_count: int, picture: _Picture, state: BoardState
) -> Iterator[bytes]:
    """The video's frames as raw RGB; frame n shows the board at n / FPS seconds."""
    position = 0
    shown: int | None = None  # the page the picture holds
    active: dict[str, Stroke] = {}  # strokes of that page with points still to paint
    laser_box: Box | None = None
    frame = b""
    for number in range(frame_count):
        until = number * 1000 / FPS
        if laser_box is not None:
            picture.restore(laser_box)
            laser_box = None
        recompose = False
        while position < len(events) and events[position][0] <= until:
            event = events[position][1]
            position += 1
            changed = _apply(state, event)
            recompose = recompose or (changed is not None and changed == state.current_page)
            if event.get("type") == "board.stroke":
                stroke = state.actions.get(event["stroke"])
                if isinstance(stroke, Stroke) and stroke.page == state.current_page:
                    active[stroke.id] = stroke
        if recompose or shown != state.current_page:
            shown = state.current_page
            active = {stroke.id: stroke for stroke in picture.compose(state, shown, until)}
        else:
            for stroke in list(active.values()):
                if not state.is_visible(stroke) or not picture.advance(stroke, until):
                    del active[stroke.id]
        laser = state.laser
        if laser is not None and laser.at <= until < laser.at + LASER_MS:
            laser_box = picture.laser(laser)
        if picture.changed:
            frame = picture.frame.tobytes()
            picture.changed = False
        yield frame
    # The events after the last frame (up to the end of the session) still count for the poster.
    for _key, event in events[position:]:
        _apply(state, event)


def _ffmpeg_command(audio_paths: Sequence[str | Path], duration_ms: int, dst: Path) -> list[str]:
    inputs = [
        *("-f", "rawvideo", "-pix_fmt", "rgb24", "-video_size", f"{VIDEO_WIDTH}x{VIDEO_HEIGHT}"),
        *("-framerate", str(FPS), "-i", "pipe:0"),
    ]
    for path in audio_paths:
        inputs += ["-protocol_whitelist", "file", "-f", "wav", "-i", f"file:{os.fspath(path)}"]
    graph = "[0:v]scale=out_color_matrix=bt709:out_range=tv,format=yuv420p[v];"
    if not audio_paths:
        # Every video gets a sound track, so that players behave the same.
        graph += f"anullsrc=channel_layout=mono:sample_rate={_AUDIO_RATE}"
    elif len(audio_paths) == 1:
        graph += "[1:a]anull"
    else:
        # normalize=0: each voice keeps its level (amix would divide them by their number).
        voices = "".join(f"[{number}:a]" for number in range(1, len(audio_paths) + 1))
        graph += f"{voices}amix=inputs={len(audio_paths)}:duration=longest:normalize=0"
    # A recording may stop early or run on: pad with silence, then cut to the session.
    graph += f",aresample={_AUDIO_RATE},apad,atrim=duration={duration_ms / 1000:.3f}[a]"
    return [
        _tool("ffmpeg"),
        *("-nostdin", "-hide_banner", "-loglevel", "error", "-y"),
        *inputs,
        *("-filter_complex", graph, "-map", "[v]", "-map", "[a]"),
        *("-map_metadata", "-1", "-map_chapters", "-1"),
        *("-c:v", "libx264", "-preset", _PRESET, "-crf", _CRF, "-g", str(FPS * _KEYFRAME_SECONDS)),
        *("-profile:v", "high", "-level:v", _h264_level(VIDEO_WIDTH, VIDEO_HEIGHT)),
        *("-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"),
        *("-c:a", "aac", "-b:a", _AUDIO_BITRATE, "-ac", "1", "-ar", str(_AUDIO_RATE)),
        *("-movflags", "+faststart", "-f", "mp4", f"file:{dst}"),
    ]


def _encode(command: list[str], frames: Iterable[bytes], timeout: float) -> None:
    """Run ffmpeg with ``frames`` written to its standard input, within ``timeout``."""
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryFile() as stderr:
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr)
        except OSError as exc:
            raise _failed(f"ffmpeg could not start: {exc}") from exc
        assert process.stdin is not None
        # A blocked write cannot watch the clock: the timer ends ffmpeg, and the write fails.
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        complete = False
        try:
            try:
                for frame in frames:
                    process.stdin.write(frame)
                process.stdin.close()
                complete = True
            except BrokenPipeError:
                pass  # ffmpeg stopped early: its exit status and error output say why
            try:
                returncode: int | None = process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                returncode = None
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
            with contextlib.suppress(OSError):
                process.stdin.close()
        if returncode is None or time.monotonic() >= deadline:
            raise _failed(f"ffmpeg ran over {timeout:.0f} s")
        if returncode != 0 or not complete:
            stderr.seek(0)
            stderr_tail = stderr.read().decode(errors="replace")[-2000:]
            raise _failed(f"ffmpeg exited with {returncode}: {stderr_tail}")


def _poster_page(state: BoardState) -> int:
    counts = state.stroke_counts()
    if not counts:
        return state.current_page
    return max(counts, key=lambda page: (counts[page], page == state.current_page, -page))


def board_render(
    *,
    events: Sequence[Event],
    duration_ms: int,
    audio_paths: Sequence[str | Path],
    backgrounds: Mapping[int, str | Path],
    dst: Path,
    poster: Path,
) -> BoardRecording:
    """Render a session's board ``events`` and voices to an MP4 at ``dst`` and a JPEG
    poster at ``poster``.

    The video lasts ``duration_ms`` (later events are left out): 720x960 at 15 fps,
    H.264 High yuv420p, and mono AAC mixing the WAV files ``audio_paths`` (each
    starting at session time 0) at their own levels, or silence when there are none.
    ``backgrounds`` maps the attachment ids of ``board.background`` events to image
    files. The poster shows, 720x960, the page with the most shown strokes (ties: the
    page in view at the end, then the lowest) as it is at the end, without the laser.

    Both are written under temporary names next to their destination and renamed
    once the video has been checked, so on failure neither ``dst`` nor ``poster`` is
    touched and nothing is left behind. Raises MediaProcessingError("transcode_failed"),
    whose args end with the details, for a missing or unreadable background image,
    a malformed event, an ffmpeg failure or time-out, or a video that came out wrong.
    """
    dst, poster = Path(dst), Path(poster)
    if duration_ms <= 0:
        raise _failed(f"a session of {duration_ms} ms")
    ordered = _render_order(events, duration_ms)
    try:
        photos = _load_backgrounds((event for _key, event in ordered), backgrounds)
    except (KeyError, TypeError, ValueError) as exc:
        raise _failed(f"malformed background event: {exc!r}") from exc
    state = BoardState()
    try:
        with outputs_in_place(dst, poster) as (video_part, poster_part):
            _video_encode(ordered, state, photos, audio_paths, duration_ms, video_part)
            probe = _video_checked(video_part, duration_ms)
            poster_page = _poster_write(state, photos, poster_part)
    except OSError as exc:
        raise _failed(f"could not write the recording: {exc}") from exc
    return BoardRecording(
        video=dst,
        poster=poster,
        duration_seconds=probe.duration_seconds,
        width=probe.width,
        height=probe.height,
        size_bytes=dst.stat().st_size,
        poster_page=poster_page,
    )


def _video_encode(
    ordered: list[tuple[float, Event]],
    state: BoardState,
    photos: dict[int, Image.Image],
    audio_paths: Sequence[str | Path],
    duration_ms: int,
    dst: Path,
) -> None:
    """The frames drawn from the events (leaving ``state`` as the board is at the end) and the voices, encoded."""
    expected = duration_ms / 1000
    frames = _frames(ordered, max(1, round(expected * FPS)), _Picture(photos), state)
    timeout = _TIMEOUT_BASE_SECONDS + _TIMEOUT_PER_SECOND * expected
    _encode(_ffmpeg_command(audio_paths, duration_ms, dst), frames, timeout)


def _video_checked(video: Path, duration_ms: int) -> VideoProbe:
    """What ffprobe reads in the rendered video, if it is the size, length and sound it should be."""
    expected = duration_ms / 1000
    try:
        probe = video_probe(video)
    except MediaProcessingError as exc:
        raise _failed(f"the rendered video is unreadable: {exc.args}") from exc
    found = (probe.width, probe.height, probe.has_audio)
    if found != (VIDEO_WIDTH, VIDEO_HEIGHT, True) or abs(probe.duration_seconds - expected) > _DURATION_TOLERANCE:
        raise _failed(f"rendered {probe} instead of {VIDEO_WIDTH}x{VIDEO_HEIGHT} with sound, {expected:.3f} s")
    return probe


def _poster_write(state: BoardState, photos: dict[int, Image.Image], poster: Path) -> int:
    """The poster: the page with the most shown strokes as it is at the end, without the laser; returns it."""
    page = _poster_page(state)
    picture = _Picture(photos)
    picture.compose(state, page, math.inf)
    picture.frame.save(poster, format="JPEG", quality=_POSTER_QUALITY)
    return page


def voice_track_write(chunks: Iterable[tuple[int, bytes]], dst: Path, *, sample_rate: int = 16_000) -> Path:
    """One side's voice as a WAV that starts at session time 0: each chunk of PCM (s16le, mono) at its start
    in ms, silence in between; a chunk that would overlap the one before starts where that one ends."""
    dst = Path(dst)
    with wave.open(str(dst), "wb") as track:
        track.setnchannels(1)
        track.setsampwidth(2)
        track.setframerate(sample_rate)
        written = 0  # samples
        for started_ms, pcm in sorted(chunks, key=lambda chunk: chunk[0]):
            start = max(written, started_ms * sample_rate // 1000)
            track.writeframes(bytes(2 * (start - written)) + pcm[: len(pcm) - len(pcm) % 2])
            written = start + len(pcm) // 2
    return dst
