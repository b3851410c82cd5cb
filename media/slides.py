"""Slides as pictures: each page of a validated PDF rendered to a PNG (PDFium, through pypdfium2), for the
board to show as a page's background once processed like a photo (``media.photos``)."""

from pathlib import Path

import pypdfium2
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .errors import MediaProcessingError


def pdf_pages_render(path: str | Path, directory: Path, *, long_side: int) -> list[Path]:
    """Render each page of the PDF at ``path``, in order, into a PNG in ``directory`` whose longer side is
    ``long_side`` pixels (white where the page is transparent); returns their paths. Raises
    MediaProcessingError."""
    try:
        document = pypdfium2.PdfDocument(Path(path))
    except pypdfium2.PdfiumError as exc:
        raise MediaProcessingError("pdf_failed", _("The PDF could not be read."), repr(exc)) from exc
    pngs = []
    try:
        for number in range(len(document)):
            page = document[number]
            try:
                width, height = page.get_size()
                image = page.render(scale=long_side / max(width, height, 1), fill_color=(255, 255, 255, 255))
                png = directory / f"page-{number + 1:03d}.png"
                image.to_pil().save(png, "PNG")
            except (pypdfium2.PdfiumError, OSError, ValueError) as exc:
                message = format_lazy(_("Page {number} of the PDF could not be read."), number=number + 1)
                raise MediaProcessingError("pdf_failed", message, repr(exc)) from exc
            finally:
                page.close()
            pngs.append(png)
    finally:
        document.close()
    return pngs
