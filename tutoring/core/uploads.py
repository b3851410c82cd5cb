"""The one way an uploaded photo, voice clip, video or PDF gets in, for questions, the library, session chat and
lecture slides.

1. ``upload_check``: by the file's content (never its name or claimed type) against the limits in settings,
   before anything is stored. A refusal is a ServiceError with the media check's code and Chinese message,
   naming the form field: 413 for a file too large, 400 otherwise.
2. ``upload_process``: only a sanitised form is ever kept. Photos are turned upright (EXIF), stripped of every
   metadata field, downscaled and thumbnailed; voice becomes AAC for playback (and a 16 kHz WAV to recognise);
   videos become H.264/AAC MP4 for phones with a poster.
3. ``upload_recognise``: the text read from a photo (OCR) or heard in a voice clip (ASR), where it is wanted.
4. ``upload_files_store``: the processed files, saved under a folder with random names.
"""

import shutil
import tempfile
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _

from media.asr import asr_engine, whisper_model_dir
from media.errors import InvalidUpload, MediaProcessingError
from media.ocr import ocr_engine
from media.photos import photo_process
from media.recognition import Recognition
from media.uploads import (
    extension_for,
    sniff,
    sniff_document,
    validate_pdf,
    validate_photo,
    validate_video,
    validate_voice,
)
from media.video import video_probe, video_transcode
from media.voice import voice_transcode
from tutoring.core.errors import ServiceError

PHOTO, VOICE, VIDEO, PDF = "photo", "voice", "video", "pdf"
# What a file of none of the kinds asked for is told, by the kinds asked for.
_UNSUPPORTED = {
    frozenset({PHOTO, VOICE}): _("Send a photo or a voice clip."),
    frozenset({PHOTO, PDF}): _("Choose a PDF or pictures (JPEG, PNG or WebP)."),
}


@dataclass(frozen=True)
class CheckedUpload:
    kind: str
    content_type: str


@dataclass
class ProcessedUpload:
    """What is kept of an upload: ``files`` by variant ("processed", "thumbnail", "poster") as bytes or a local
    path, with their content type; and, for voice, the WAV that speech recognition hears."""

    kind: str
    files: dict[str, tuple[bytes | Path, str]] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    wav: Path | None = None


def upload_refusal(error: InvalidUpload | MediaProcessingError, field: str) -> ServiceError:
    """A media check's refusal as the user sees it: its code and message, 413 for a file too large."""
    return ServiceError(error.code, error.message, status=413 if error.code == "too_large" else 400, field=field)


def upload_check(file: IO[bytes], *, kinds: Collection[str], field: str) -> CheckedUpload:
    """What ``file`` is, if it is one of ``kinds`` within the limits; a ServiceError naming ``field`` otherwise.
    With several kinds the file's first bytes decide which check applies. Leaves the file at position 0."""
    limits = settings.XUEWEN
    kind = next(iter(kinds)) if len(kinds) == 1 else _kind_sniffed(file, kinds, field)
    try:
        if kind == PHOTO:
            info = validate_photo(file, max_bytes=limits["MAX_PHOTO_BYTES"], max_pixels=limits["MAX_IMAGE_PIXELS"])
            return CheckedUpload(kind, info.content_type)
        if kind == VOICE:
            return CheckedUpload(kind, validate_voice(file, max_bytes=limits["MAX_VOICE_BYTES"]).content_type)
        if kind == PDF:
            pdf = validate_pdf(file, max_bytes=limits["MAX_SLIDES_BYTES"], max_pages=limits["MAX_SLIDES"])
            return CheckedUpload(kind, pdf.content_type)
        content_type = validate_video(file, max_bytes=limits["MAX_VIDEO_BYTES"]).content_type
        _video_readable(file, content_type)
        return CheckedUpload(kind, content_type)
    except (InvalidUpload, MediaProcessingError) as error:
        raise upload_refusal(error, field) from error


def _kind_sniffed(file: IO[bytes], kinds: Collection[str], field: str) -> str:
    head = file.read(16)
    file.seek(0)
    kind = {"image": PHOTO, "audio": VOICE, "application": PDF}.get(
        (sniff(head) or sniff_document(head) or "").split("/")[0]
    )
    if kind is None or kind not in kinds:
        raise ServiceError("unsupported_file", _UNSUPPORTED[frozenset(kinds)], field=field)
    return kind


def _video_readable(video: IO[bytes], content_type: str) -> None:
    """ffprobe reads a picture in it."""
    with tempfile.TemporaryDirectory(prefix="xuewen-probe-") as scratch:
        video_probe(upload_local_copy(video, Path(scratch) / f"video{extension_for(content_type)}"))


def upload_local_copy(file: IO[bytes], path: Path) -> Path:
    """The upload written to ``path``: the media tools work on local files. Leaves the file at position 0."""
    file.seek(0)
    with path.open("wb") as copy:
        shutil.copyfileobj(file, copy, 1 << 20)
    file.seek(0)
    return path


def upload_process(source: Path, *, kind: str, directory: Path) -> ProcessedUpload:
    """The sanitised form of a checked upload at ``source``, made in the scratch ``directory``; raises
    MediaProcessingError."""
    if kind == PHOTO:
        photo = photo_process(source)
        files: dict[str, tuple[bytes | Path, str]] = {
            "processed": (photo.image, "image/jpeg"),
            "thumbnail": (photo.thumbnail, "image/jpeg"),
        }
        return ProcessedUpload(kind, files, width=photo.width, height=photo.height)
    if kind == VOICE:
        wav, playback = directory / "voice.wav", directory / "voice.m4a"
        seconds = voice_transcode(
            source, wav_path=wav, playback_path=playback, max_seconds=settings.XUEWEN["MAX_VOICE_SECONDS"]
        )
        return ProcessedUpload(kind, {"processed": (playback, "audio/mp4")}, duration_seconds=seconds, wav=wav)
    video, poster = directory / "video.mp4", directory / "poster.jpg"
    made = video_transcode(source, dst=video, poster=poster)
    files = {"processed": (video, "video/mp4"), "poster": (poster, "image/jpeg")}
    return ProcessedUpload(kind, files, width=made.width, height=made.height, duration_seconds=made.duration_seconds)


def upload_recognise(processed: ProcessedUpload, *, directory: Path) -> Recognition:
    """The text in a processed photo (OCR) or voice clip (ASR); raises MediaProcessingError."""
    if processed.wav is not None:
        model_dir = settings.XUEWEN["ASR_MODEL_DIR"] or whisper_model_dir(settings.VAR_DIR / "models")
        return asr_engine(model_dir).transcribe(processed.wav)
    image, _content_type = processed.files["processed"]
    path = directory / "recognised.jpg"
    path.write_bytes(image if isinstance(image, bytes) else image.read_bytes())
    return ocr_engine(settings.XUEWEN["OCR_ENGINE"]).recognize(path)


def upload_files_store(processed: ProcessedUpload, *, folder: str) -> dict[str, str]:
    """Save the processed files under ``folder`` with random names; returns each variant's stored name."""
    return {
        variant: upload_store(content, folder=folder, content_type=content_type)
        for variant, (content, content_type) in processed.files.items()
    }


def upload_store(content: bytes | Path | IO[bytes], *, folder: str, content_type: str) -> str:
    """One file saved under ``folder`` with a random name and the extension of its content type."""
    name = f"{folder}/{uuid.uuid4().hex}{extension_for(content_type)}"
    if isinstance(content, bytes):
        return default_storage.save(name, ContentFile(content))
    if isinstance(content, Path):
        with content.open("rb") as file:
            return default_storage.save(name, File(file))
    content.seek(0)
    return default_storage.save(name, File(content))
