"""Checking uploaded and imported videos and converting them for phones.

Every video is re-encoded to an MP4 that any phone browser plays progressively:
H.264 (High profile, 8-bit 4:2:0) with AAC audio and the index (moov) at the
front, without metadata, plus a JPEG poster frame. ffmpeg and ffprobe may only
read local files, and only through the demuxers of the containers that
``media.uploads.sniff_video`` accepts.
"""

import contextlib
import functools
import io
import json
import math
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _
from PIL import Image

from .errors import MediaProcessingError

# MP4/MOV/3GP, WebM/Matroska, AVI, MPEG-TS and MPEG-PS: never playlists (hls,
# concat), image sequences or devices, whatever the file's first bytes claim.
_DEMUXERS = "mov,matroska,webm,avi,mpegts,mpeg"
_INPUT_OPTIONS = ("-protocol_whitelist", "file", "-format_whitelist", _DEMUXERS)

_PROBE_TIMEOUT_SECONDS = 60
# ffmpeg gets this long plus _TIMEOUT_PER_SECOND for each second of video. On 2
# busy cores a 720p H.264 source converts at about 2.5x real time and a 1080p
# 60 fps HEVC one (an iPhone's) at about 0.8x, so this leaves a wide margin.
_TIMEOUT_BASE_SECONDS = 60
_TIMEOUT_PER_SECOND = 4

_MAX_FPS = 30
_POSTER_MAX_SIDE = 640
_POSTER_AT_SECONDS = 1.0
_DURATION_TOLERANCE = 0.5
# HDR transfer functions (iPhone HLG and Dolby Vision, HDR10), tone-mapped to SDR:
# phones show 8-bit H.264 as BT.709, where untouched HDR looks grey and washed out.
_HDR_TRANSFERS = ("arib-std-b67", "smpte2084")


@dataclass(frozen=True)
class VideoProbe:
    """What a video file holds. ``width`` and ``height`` are the size it is shown
    at: after the rotation phones record in metadata and with square pixels."""

    duration_seconds: float
    width: int
    height: int
    has_audio: bool


@dataclass(frozen=True)
class ProcessedVideo:
    """The converted MP4, as measured by ffprobe."""

    duration_seconds: float
    width: int
    height: int


@dataclass(frozen=True)
class _Source:
    probe: VideoProbe
    video_index: int
    audio_index: int | None
    audio_channels: int
    fps: float
    hdr: bool


def _unreadable(detail: str) -> MediaProcessingError:
    return MediaProcessingError(
        "video_unreadable", _("The video could not be read. Please choose another one."), detail
    )


def _failed(detail: str) -> MediaProcessingError:
    return MediaProcessingError("transcode_failed", _("The video could not be processed."), detail)


@functools.lru_cache(maxsize=2)
def _tool(name: str) -> str:
    if path := shutil.which(name):
        return path
    raise _failed(f"{name} was not found")


_Error = Callable[[str], MediaProcessingError]


def _run(command: list[str], timeout: float, error: _Error) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg or ffprobe; ``error`` makes the exception for a failure."""
    try:
        completed = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise error(f"{Path(command[0]).name} ran over {timeout:.0f} s") from exc
    if completed.returncode != 0:
        stderr_tail = completed.stderr.decode(errors="replace")[-2000:]
        raise error(f"{Path(command[0]).name} exited with {completed.returncode}: {stderr_tail}")
    return completed


def _ffprobe_json(path: str | Path, error: _Error) -> dict[str, Any]:
    command = [
        _tool("ffprobe"),
        *("-hide_banner", "-loglevel", "error", *_INPUT_OPTIONS),
        *("-show_format", "-show_streams", "-of", "json"),
        f"file:{os.fspath(path)}",
    ]
    completed = _run(command, _PROBE_TIMEOUT_SECONDS, error)
    try:
        return json.loads(completed.stdout)
    except ValueError as exc:
        raise error(f"ffprobe printed no JSON: {exc}") from exc


def _number(value: object, default: float = 0.0) -> float:
    """A number from ffprobe, which prints "N/A" or leaves out what it does not know."""
    if not isinstance(value, str | int | float):  # None (left out), or not a JSON number or string
        return default
    try:
        number = float(value)
    except ValueError:
        return default
    return number if math.isfinite(number) else default


def _ratio(value: object) -> float:
    """A rate or ratio from ffprobe as a number: 29.97 for "30000/1001", 0 for
    "0/0", "N/A" or nothing."""
    numerator, _slash, denominator = str(value).partition("/")
    denominator_value = _number(denominator or 1)
    return _number(numerator) / denominator_value if denominator_value else 0.0


def _packets_end(path: str | Path) -> float:
    """Where the last packet ends, for files whose header has no duration: the WebM
    that phone browsers record with MediaRecorder is written without one."""
    command = [
        _tool("ffprobe"),
        *("-hide_banner", "-loglevel", "error", *_INPUT_OPTIONS),
        *("-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0"),
        f"file:{os.fspath(path)}",
    ]
    completed = _run(command, _PROBE_TIMEOUT_SECONDS * 4, _unreadable)
    end = 0.0
    for line in completed.stdout.decode(errors="replace").splitlines():
        pts, _comma, rest = line.partition(",")
        end = max(end, _number(pts) + _number(rest.split(",")[0]))
    return end


def _inspect(path: str | Path) -> _Source:
    info = _ffprobe_json(path, _unreadable)
    streams = info.get("streams", [])
    video = next(
        (
            stream
            for stream in streams
            if stream.get("codec_type") == "video"
            # Cover art in music files is a "video" stream of one picture.
            and not stream.get("disposition", {}).get("attached_pic")
            and stream.get("codec_name")
            and int(stream.get("width", 0)) > 0
            and int(stream.get("height", 0)) > 0
        ),
        None,
    )
    if video is None:
        raise _unreadable("no decodable video stream")
    audio = next(
        (stream for stream in streams if stream.get("codec_type") == "audio" and stream.get("codec_name")), None
    )

    width, height = int(video["width"]), int(video["height"])
    # Non-square pixels (some cameras and DV): the shown width differs.
    sample_aspect = _ratio(str(video.get("sample_aspect_ratio", "")).replace(":", "/"))
    if sample_aspect > 0 and abs(sample_aspect - 1) > 0.01:
        width = max(1, round(width * sample_aspect))
    # Phones store portrait videos as landscape frames with a rotation to apply.
    rotation = _number(video.get("tags", {}).get("rotate"))
    for side_data in video.get("side_data_list", []):
        rotation = _number(side_data.get("rotation"), rotation)
    if round(rotation) % 180 == 90:
        width, height = height, width

    duration = _number(info.get("format", {}).get("duration"))
    if duration <= 0:
        duration = max((_number(stream.get("duration")) for stream in streams), default=0.0)
    if duration <= 0:
        duration = _packets_end(path)
    if duration <= 0:
        raise _unreadable("no duration")

    probe = VideoProbe(duration, width, height, audio is not None)
    return _Source(
        probe=probe,
        video_index=int(video["index"]),
        audio_index=int(audio["index"]) if audio else None,
        audio_channels=int(audio.get("channels", 0)) if audio else 0,
        fps=_ratio(video.get("avg_frame_rate")) or _ratio(video.get("r_frame_rate")),
        hdr=video.get("color_transfer") in _HDR_TRANSFERS,
    )


def video_probe(path: str | Path) -> VideoProbe:
    """Read the duration, shown size and presence of sound of a video file with
    ffprobe. Raises MediaProcessingError("video_unreadable") when ffprobe cannot
    read the file or it holds no video stream (a voice recording, an MP3 with
    cover art)."""
    return _inspect(path).probe


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size with the same aspect ratio and a longer side of at most ``max_side``,
    never larger than the source, rounded down to even numbers (as 4:2:0 needs)."""
    scale = min(1.0, max_side / max(width, height))

    def even(value: float) -> int:
        return max(2, math.floor(value / 2 + 1e-6) * 2)

    return even(width * scale), even(height * scale)


def _h264_level(width: int, height: int) -> str:
    """The lowest H.264 level for this frame size at up to 30 fps; 3.1 (720p) and
    4.0 (1080p) are what every phone of the last ten years decodes."""
    macroblocks = math.ceil(width / 16) * math.ceil(height / 16)
    if macroblocks <= 3600:
        return "3.1"
    if macroblocks <= 8192:
        return "4.0"
    return "5.1"


def _temporary_next_to(path: Path) -> Path:
    # Not mkstemp: ffmpeg creates the file, with the permissions the umask gives
    # (mkstemp's are 0600, which the web server may not be able to read).
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")


@contextlib.contextmanager
def outputs_in_place(*destinations: Path) -> Iterator[list[Path]]:
    """Temporary paths next to ``destinations`` to write the outputs to, renamed onto them (the last first) when
    the block succeeds and removed when it fails: a failure touches no destination and leaves nothing behind."""
    parts: list[Path] = []
    try:
        parts.extend(_temporary_next_to(destination) for destination in destinations)
        yield list(parts)
        for part, destination in reversed(list(zip(parts, destinations, strict=True))):
            os.replace(part, destination)
            parts.remove(part)
    finally:
        for part in parts:
            part.unlink(missing_ok=True)


def _encode(source: _Source, src: str | Path, dst: Path, width: int, height: int, max_seconds: float) -> None:
    # Frames are dropped first and scaled next, so that the costly steps see as
    # few pixels as they can.
    video_filters = [f"fps={_MAX_FPS}"] if source.fps > _MAX_FPS + 1 else []
    video_filters.append(f"scale={width}:{height}:flags=bicubic")
    if source.hdr:
        video_filters += [
            "zscale=t=linear:npl=100",
            "format=gbrpf32le",
            "zscale=p=bt709",
            "tonemap=tonemap=hable:desat=0",
            "zscale=t=bt709:m=bt709:r=tv",
        ]
    video_filters.append("setsar=1")
    video_filters.append("format=yuv420p")
    graph = f"[0:{source.video_index}]{','.join(video_filters)}[v]"
    expected = min(source.probe.duration_seconds, max_seconds)

    if source.audio_index is None:
        # Every answer video gets a sound track, so that players behave the same.
        # (Cut to length here: with -shortest, ffmpeg 5 never stops.)
        graph += f";anullsrc=channel_layout=mono:sample_rate=48000,atrim=duration={expected:.3f}[a]"
        audio_map, channels = "[a]", 1
    else:
        audio_map, channels = f"0:{source.audio_index}", min(2, max(1, source.audio_channels))

    timeout = _TIMEOUT_BASE_SECONDS + _TIMEOUT_PER_SECOND * expected
    command = [
        _tool("ffmpeg"),
        *("-nostdin", "-hide_banner", "-loglevel", "error", "-y"),
        *_INPUT_OPTIONS,
        *("-t", f"{max_seconds:.3f}", "-i", f"file:{os.fspath(src)}"),
        *("-filter_complex", graph, "-map", "[v]", "-map", audio_map),
        *("-map_metadata", "-1", "-map_chapters", "-1"),
        *("-c:v", "libx264", "-preset", "veryfast", "-crf", "26"),
        *("-profile:v", "high", "-level:v", _h264_level(width, height)),
        *("-c:a", "aac", "-b:a", "96k" if channels == 2 else "64k", "-ac", str(channels), "-ar", "48000"),
        # Phone videos often have sparse audio at the start.
        *("-max_muxing_queue_size", "4096"),
        *("-movflags", "+faststart", "-f", "mp4", f"file:{dst}"),
    ]
    _run(command, timeout, _failed)


def _poster(video: Path, poster: Path, at_seconds: float, width: int, height: int) -> None:
    command = [
        _tool("ffmpeg"),
        *("-nostdin", "-hide_banner", "-loglevel", "error", "-y"),
        *_INPUT_OPTIONS,
        *("-ss", f"{at_seconds:.3f}", "-i", f"file:{video}"),
        *("-map", "0:v:0", "-frames:v", "1", "-vf", f"scale={width}:{height}:flags=bicubic"),
        *("-map_metadata", "-1", "-c:v", "mjpeg", "-q:v", "3", "-f", "mjpeg", f"file:{poster}"),
    ]
    _run(command, _PROBE_TIMEOUT_SECONDS, _failed)


def _poster_size(poster: Path) -> tuple[int, int] | None:
    """The poster's size, or None if ffmpeg found no frame to write."""
    try:
        data = poster.read_bytes()
    except FileNotFoundError:
        return None
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
            image.load()
            return image.size
    except (OSError, SyntaxError, ValueError) as exc:
        raise _failed(f"unreadable poster: {exc}") from exc


def _verify(output: Path, width: int, height: int, expected: float, *, silent_track: bool) -> float:
    info = _ffprobe_json(output, _failed)
    streams = [(stream.get("codec_type"), stream.get("codec_name")) for stream in info.get("streams", [])]
    if sorted(streams) != [("audio", "aac"), ("video", "h264")]:
        raise _failed(f"unexpected streams in the output: {streams}")
    video = next(stream for stream in info["streams"] if stream["codec_type"] == "video")
    found = (video.get("pix_fmt"), video.get("width"), video.get("height"))
    if found != ("yuv420p", width, height):
        raise _failed(f"unexpected picture in the output: {found}, not yuv420p {width}x{height}")
    duration = _number(info.get("format", {}).get("duration"))
    # ffmpeg stops without an error at damage in the middle of some files. The
    # picture is checked on its own where the sound was made up to length (where
    # it comes from the source, it may end a little earlier than the sound).
    checks = [("output", duration)]
    if silent_track:
        checks.append(("picture", _number(video.get("duration"))))
    for what, seconds in checks:
        if abs(seconds - expected) > _DURATION_TOLERANCE:
            raise _failed(f"{what} lasts {seconds:.3f} s instead of {expected:.3f} s: the source is damaged")
    return duration


def video_transcode(
    src: str | Path,
    *,
    dst: Path,
    poster: Path,
    max_side: int = 1280,
    max_seconds: float = 3600,
) -> ProcessedVideo:
    """Convert the video ``src`` (its first ``max_seconds``) to an MP4 at ``dst`` that
    phones play while it downloads, and write a JPEG poster frame to ``poster``.

    The MP4 holds H.264 (High profile, yuv420p, CRF 26, at most 30 fps) at the
    source's shown size and orientation, scaled to a longer side of at most
    ``max_side`` and to even dimensions, and AAC (mono 64 kbit/s or stereo 96
    kbit/s; silence when the source has no sound), without metadata. The poster
    is the frame at 1 s (the first frame of videos under 2 s), at most 640 pixels
    on its longer side.

    Both are written under temporary names next to their destination and renamed
    once the output has been checked, so on failure neither ``dst`` nor ``poster``
    is touched and nothing is left behind. Raises
    MediaProcessingError("video_unreadable") for files ffprobe cannot read or
    without a picture, and MediaProcessingError("transcode_failed"), whose args
    end with ffmpeg's error output, when the conversion fails or comes out short.
    """
    dst, poster = Path(dst), Path(poster)
    source = _inspect(src)
    width, height = _fit(source.probe.width, source.probe.height, max_side)
    poster_width, poster_height = _fit(width, height, _POSTER_MAX_SIDE)
    expected = min(source.probe.duration_seconds, max_seconds)

    with outputs_in_place(dst, poster) as (video_part, poster_part):
        _encode(source, src, video_part, width, height, max_seconds)
        duration = _verify(video_part, width, height, expected, silent_track=not source.probe.has_audio)

        at_seconds = _POSTER_AT_SECONDS if duration >= 2 * _POSTER_AT_SECONDS else 0.0
        _poster(video_part, poster_part, at_seconds, poster_width, poster_height)
        size = _poster_size(poster_part)
        if size is None and at_seconds:
            # The picture may end before the sound does.
            _poster(video_part, poster_part, 0.0, poster_width, poster_height)
            size = _poster_size(poster_part)
        if size != (poster_width, poster_height):
            raise _failed(f"poster of size {size} instead of {poster_width}x{poster_height}")
    return ProcessedVideo(duration, width, height)
