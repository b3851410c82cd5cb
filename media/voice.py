"""Converting a voice recording for speech recognition and for playback."""

import functools
import os
import shutil
import subprocess
import wave
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from .errors import MediaProcessingError

_TIMEOUT_SECONDS = 60


def _failed(detail: str) -> MediaProcessingError:
    return MediaProcessingError("transcode_failed", _("The recording could not be processed."), detail)


@functools.lru_cache(maxsize=1)
def _ffmpeg() -> str:
    if path := shutil.which("ffmpeg"):
        return path
    try:
        import imageio_ffmpeg
    except ImportError:
        raise _failed("ffmpeg was not found") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def voice_transcode(
    src: str | Path,
    *,
    wav_path: str | Path,
    playback_path: str | Path,
    max_seconds: float,
) -> float:
    """Decode the first audio stream of ``src`` (at most ``max_seconds`` of it) into
    a 16 kHz mono 16-bit WAV for speech recognition and a mono AAC .m4a that every
    phone browser plays, both without metadata. Returns the WAV's duration in
    seconds; raises MediaProcessingError("transcode_failed")."""
    output_options = ["-map", "0:a:0", "-map_metadata", "-1", "-ac", "1"]
    command = [
        _ffmpeg(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-protocol_whitelist",
        "file",
        "-t",
        str(max_seconds),
        "-i",
        f"file:{os.fspath(src)}",
        *output_options,
        *("-ar", "16000", "-c:a", "pcm_s16le", "-f", "wav"),
        f"file:{os.fspath(wav_path)}",
        *output_options,
        *("-ar", "24000", "-c:a", "aac", "-b:a", "40k"),
        *("-movflags", "+faststart", "-f", "mp4"),
        f"file:{os.fspath(playback_path)}",
    ]
    try:
        completed = subprocess.run(command, capture_output=True, timeout=_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise _failed(f"ffmpeg ran over {_TIMEOUT_SECONDS} s") from exc
    stderr_tail = completed.stderr.decode(errors="replace")[-2000:]
    if completed.returncode != 0:
        raise _failed(f"ffmpeg exited with {completed.returncode}: {stderr_tail}")
    try:
        with wave.open(os.fspath(wav_path), "rb") as wav:
            duration = wav.getnframes() / wav.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        raise _failed(f"unreadable WAV output: {exc}; {stderr_tail}") from exc
    if duration == 0 or os.path.getsize(playback_path) == 0:
        raise _failed(f"ffmpeg produced no audio: {stderr_tail}")
    return duration
