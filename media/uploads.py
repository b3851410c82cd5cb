"""Validation of uploaded photos, voice recordings, videos and PDF documents, before they are stored.

Content types come from the file's first bytes only: the name and the type the
browser claims are never trusted.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import pypdfium2
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageFile

from .errors import InvalidUpload

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Content type -> (file extension, Pillow format or None for audio and video).
_TYPES: dict[str, tuple[str, str | None]] = {
    "image/jpeg": (".jpg", "JPEG"),
    "image/png": (".png", "PNG"),
    "image/webp": (".webp", "WEBP"),
    "audio/webm": (".webm", None),
    "audio/ogg": (".ogg", None),
    "audio/mp4": (".m4a", None),
    "audio/mpeg": (".mp3", None),
    "audio/wav": (".wav", None),
    "audio/amr": (".amr", None),
    "audio/aac": (".aac", None),
    "video/mp4": (".mp4", None),
    "video/quicktime": (".mov", None),
    "video/webm": (".webm", None),
    "video/x-matroska": (".mkv", None),
    "video/x-msvideo": (".avi", None),
    "video/mp2t": (".ts", None),
    "video/mpeg": (".mpg", None),
    "application/pdf": (".pdf", None),
}

# ISO base media brands of audio recordings (M4A from iPhones, MP4/3GP from
# Android and Safari's MediaRecorder). HEIC/AVIF photos use other brands.
_MP4_BRANDS = (b"M4A", b"M4B", b"mp4", b"iso", b"3gp", b"3g2", b"dash")

# ISO base media brands of video files: MP4 and 3GP from phones and cameras. The
# generic ones (isom, mp42, 3gp4) are shared with audio files, which video_probe
# then rejects for having no picture; M4A audio, HEIC and AVIF photos are refused.
_MP4_VIDEO_BRANDS = (b"iso", b"mp4", b"avc1", b"M4V", b"3gp", b"3g2", b"dash", b"MSNV", b"XAVC", b"mmp4", b"f4v ")
# QuickTime files from before the ftyp box start with one of these atoms.
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")

_HEAD_SIZE = 16
# MPEG transport streams are recognised by three sync bytes 188 (or, in the
# 192-byte packets of camcorders' M2TS, 192) bytes apart.
_VIDEO_HEAD_SIZE = 3 * 192 + 8
_MB = 1024 * 1024

# A truncated photo must be rejected, never half-decoded (this is Pillow's default).
ImageFile.LOAD_TRUNCATED_IMAGES = False


def sniff(head: bytes) -> str | None:
    """Return the content type of a file from its first 16 bytes, or None if it
    is not one of the accepted photo or audio formats."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head[4:8] == b"ftyp" and head[8:12].startswith(_MP4_BRANDS):
        return "audio/mp4"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF:
        # Both start with a frame sync of 11-12 one bits; the two "layer" bits
        # are always 00 in AAC's ADTS and never 00 in MPEG audio.
        if head[1] & 0xF6 == 0xF0:
            return "audio/aac"
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
            return "audio/mpeg"
    return None


def sniff_video(head: bytes) -> str | None:
    """Return the content type of a video file from its first 584 bytes (fewer are
    enough for all but MPEG-TS), or None if it is not one of the accepted video
    containers. Whether the file really holds a picture is for video_probe to say:
    a WebM or MP4 voice recording looks the same here."""
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4" if brand.startswith(_MP4_VIDEO_BRANDS) else None
    if head[4:8] in _QUICKTIME_ATOMS:
        return "video/quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # The EBML header names its DocType ("webm" or "matroska") in its first
        # few dozen bytes.
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "video/mpeg"
    for packet_size, offset in ((188, 0), (192, 4)):
        if len(head) > offset + 2 * packet_size and all(head[offset + i * packet_size] == 0x47 for i in range(3)):
            return "video/mp2t"
    return None


def sniff_document(head: bytes) -> str | None:
    """Return the content type of a document from its first 16 bytes (a PDF), or None."""
    return "application/pdf" if head.startswith(b"%PDF-") else None


def extension_for(content_type: str) -> str:
    """The file extension (with the dot) to store a sniffed content type under."""
    return _TYPES[content_type][0]


@dataclass(frozen=True)
class PhotoInfo:
    content_type: str
    width: int
    height: int
    size: int


@dataclass(frozen=True)
class VoiceInfo:
    content_type: str
    size: int


@dataclass(frozen=True)
class VideoInfo:
    content_type: str
    size: int


@dataclass(frozen=True)
class DocumentInfo:
    content_type: str
    size: int
    pages: int


def _size_and_type(
    file: IO[bytes],
    max_bytes: int,
    too_large: "StrOrPromise",
    sniffer: Callable[[bytes], str | None] = sniff,
    head_size: int = _HEAD_SIZE,
) -> tuple[int, str | None]:
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    if size == 0:
        raise InvalidUpload("empty_file", _("The file is empty."))
    if size > max_bytes:
        limit = f"{max_bytes / _MB:.3g}"
        raise InvalidUpload("too_large", format_lazy(too_large, limit=limit))
    content_type = sniffer(file.read(head_size))
    file.seek(0)
    return size, content_type


def validate_photo(file: IO[bytes], *, max_bytes: int, max_pixels: int) -> PhotoInfo:
    """Check that ``file`` is a complete, decodable JPEG, PNG or WebP photo of at
    most ``max_bytes`` bytes and ``max_pixels`` pixels. Raises InvalidUpload;
    leaves the file position at 0."""
    size, content_type = _size_and_type(file, max_bytes, _("The photo is larger than {limit} MB."))
    pillow_format = _TYPES[content_type][1] if content_type else None
    if content_type is None or pillow_format is None:
        raise InvalidUpload("not_an_image", _("Please choose a photo (JPEG, PNG or WebP)."))
    try:
        with Image.open(file, formats=[pillow_format]) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise _too_many_pixels()
            # Decode everything so that truncated or corrupt data is caught now.
            if pillow_format == "PNG":
                img.verify()  # chunk checksums; the image is unusable afterwards
                file.seek(0)
                with Image.open(file, formats=["PNG"]) as png:
                    png.load()
            else:
                if pillow_format == "JPEG":
                    # At 1/8 scale in grey, libjpeg still reads all the entropy-coded
                    # data, at a fraction of the cost of a full decode.
                    img.draft("L", (max(1, width // 8), max(1, height // 8)))
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidUpload(
            "corrupt_image",
            _("The photo is damaged or incomplete. Please take it again."),
        ) from exc
    finally:
        file.seek(0)
    return PhotoInfo(content_type, width, height, size)


def _too_many_pixels() -> InvalidUpload:
    return InvalidUpload("too_many_pixels", _("The photo has too many pixels. Please take a smaller one."))


def validate_voice(file: IO[bytes], *, max_bytes: int) -> VoiceInfo:
    """Check that ``file`` is a non-empty recording in an accepted audio format of
    at most ``max_bytes`` bytes. Raises InvalidUpload; leaves the file position
    at 0."""
    size, content_type = _size_and_type(file, max_bytes, _("The recording is larger than {limit} MB."))
    if content_type is None or not content_type.startswith("audio/"):
        raise InvalidUpload("not_audio", _("This file is not a voice recording."))
    return VoiceInfo(content_type, size)


def validate_video(file: IO[bytes], *, max_bytes: int) -> VideoInfo:
    """Check that ``file`` is a non-empty file in an accepted video container (MP4,
    MOV, WebM, Matroska, AVI, MPEG-TS or MPEG-PS) of at most ``max_bytes`` bytes.
    Only the first bytes are looked at: video_probe decides whether the picture can
    be read. Raises InvalidUpload; leaves the file position at 0."""
    size, content_type = _size_and_type(
        file, max_bytes, _("The video is larger than {limit} MB."), sniff_video, _VIDEO_HEAD_SIZE
    )
    if content_type is None:
        raise InvalidUpload("not_a_video", _("This file is not a video. Please choose an MP4, MOV or WebM video."))
    return VideoInfo(content_type, size)


def validate_pdf(file: IO[bytes], *, max_bytes: int, max_pages: int) -> DocumentInfo:
    """Check that ``file`` is a PDF of at most ``max_bytes`` bytes that PDFium opens (not damaged, not
    password-protected) with 1 to ``max_pages`` pages. Raises InvalidUpload; leaves the file position at 0."""
    size, content_type = _size_and_type(file, max_bytes, _("The PDF is larger than {limit} MB."), sniff_document)
    if content_type is None:
        raise InvalidUpload("not_a_pdf", _("This file is not a PDF."))
    try:
        document = pypdfium2.PdfDocument(file)
    except pypdfium2.PdfiumError as exc:
        raise InvalidUpload(
            "corrupt_pdf", _("The PDF cannot be opened: it is damaged or protected by a password.")
        ) from exc
    finally:
        file.seek(0)
    try:
        pages = len(document)
    finally:
        document.close()
        file.seek(0)
    if pages > max_pages:
        raise InvalidUpload(
            "too_many_pages",
            format_lazy(_("The PDF has {pages} pages; at most {limit} are allowed."), pages=pages, limit=max_pages),
        )
    return DocumentInfo(content_type, size, pages)
