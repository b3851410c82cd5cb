"""Normalising question photos: upright, RGB, bounded size, no metadata."""

import io
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext_lazy as _
from PIL import ExifTags, Image

from .errors import MediaProcessingError


@dataclass(frozen=True)
class ProcessedPhoto:
    image: bytes  # JPEG
    thumbnail: bytes  # JPEG
    width: int
    height: int


# How to turn a photo upright for each EXIF orientation. (ImageOps.exif_transpose
# does the same but also re-encodes the EXIF it keeps, which raises TypeError or
# struct.error on the malformed EXIF some cameras write; ours is dropped anyway.)
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


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
            orientation = original.getexif().get(ExifTags.Base.Orientation)
            upright = original.transpose(_UPRIGHT[orientation]) if orientation in _UPRIGHT else original.copy()
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
    except Exception as exc:  # Pillow raises assorted types on malformed files
        raise MediaProcessingError("photo_failed", _("The photo could not be processed."), repr(exc)) from exc
