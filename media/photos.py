"""Normalising question photos: upright, RGB, bounded size, no metadata."""

import io
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from .errors import MediaProcessingError


@dataclass(frozen=True)
class ProcessedPhoto:
    image: bytes  # JPEG
    thumbnail: bytes  # JPEG
    width: int
    height: int


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # Only what is passed here is written: no EXIF (GPS, camera), XMP, ICC or comment.
    image.save(buffer, "JPEG", quality=85, progressive=True, optimize=True)
    return buffer.getvalue()


def _bounded(image: Image.Image, side: int) -> Image.Image:
    bounded = image.copy()
    bounded.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return bounded


def photo_process(path: str | Path, *, max_side: int = 2048, thumbnail_side: int = 320) -> ProcessedPhoto:
    """Rotate a validated photo upright (EXIF orientation), flatten it onto white,
    shrink it to at most ``max_side`` pixels a side and make a thumbnail of at most
    ``thumbnail_side``; both are re-encoded as metadata-free JPEG."""
    try:
        with Image.open(path) as original:
            # Let libjpeg decode big photos at 1/2, 1/4 or 1/8 scale when that still
            # leaves at least max_side pixels a side.
            original.draft("RGB", (max_side, max_side))
            upright = ImageOps.exif_transpose(original)
        if upright.has_transparency_data:
            rgba = upright.convert("RGBA")
            upright = Image.new("RGBA", rgba.size, "white")
            upright.alpha_composite(rgba)
        image = _bounded(upright.convert("RGB"), max_side)
        image.info.clear()  # JPEG saving would carry over a source comment
        return ProcessedPhoto(
            image=_jpeg(image),
            thumbnail=_jpeg(_bounded(image, thumbnail_side)),
            width=image.width,
            height=image.height,
        )
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaProcessingError("photo_failed", _("The photo could not be processed."), str(exc)) from exc
