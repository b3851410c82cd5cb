"""Reading the text of a question photo."""

import functools
import math
from collections.abc import Sequence
from pathlib import Path

from django.utils.translation import gettext_lazy as _
from rapidocr import RapidOCR
from rapidocr.utils.output import RapidOCROutput

from .errors import MediaProcessingError
from .recognition import Recognition, join_fragments

# A box's corner points, [[x, y], ...], as RapidOCR returns them.
Box = Sequence[Sequence[float]]


def _straightened(boxes: Sequence[Box]) -> list[list[tuple[float, float]]]:
    """The boxes rotated so that the page's text lines run horizontally.

    A photo taken a few degrees off tilts every line; a long line then overlaps
    the short line below it vertically and the two would be merged. The tilt is
    the median slope of the top edges of wide boxes (those are reliable).
    """
    slopes = sorted(
        math.atan2(box[1][1] - box[0][1], box[1][0] - box[0][0])
        for box in boxes
        if abs(box[1][0] - box[0][0]) > 2 * abs(box[3][1] - box[0][1])
    )
    angle = slopes[len(slopes) // 2] if slopes else 0.0
    cos, sin = math.cos(angle), math.sin(angle)
    return [[(x * cos + y * sin, -x * sin + y * cos) for x, y in box] for box in boxes]


def reading_order(boxes: Sequence[Box], texts: Sequence[str]) -> str:
    """Arrange detected text boxes as they are read: once the tilt is removed,
    boxes that overlap vertically by more than half the smaller height form a
    line, read left to right; lines go top to bottom, one per text line."""
    spans = sorted(
        (
            min(point[1] for point in box),
            max(point[1] for point in box),
            min(point[0] for point in box),
            text,
        )
        for box, text in zip(_straightened(boxes), texts, strict=True)
    )
    lines: list[tuple[float, float, list[tuple[float, str]]]] = []
    for top, bottom, left, text in spans:
        if lines:
            line_top, line_bottom, words = lines[-1]
            overlap = min(bottom, line_bottom) - max(top, line_top)
            if overlap > 0.5 * min(bottom - top, line_bottom - line_top):
                words.append((left, text))
                lines[-1] = (line_top, max(bottom, line_bottom), words)
                continue
        lines.append((top, bottom, [(left, text)]))
    return "\n".join(join_fragments(text for _left, text in sorted(words)) for _top, _bottom, words in lines)


class RapidOcrEngine:
    """PP-OCR detection and recognition models shipped inside the rapidocr wheel,
    run with onnxruntime on the CPU."""

    def __init__(self, threads: int) -> None:
        self._ocr = RapidOCR(
            params={
                "Global.log_level": "error",
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    def recognize(self, path: str | Path) -> Recognition:
        try:
            result = self._ocr(str(path))
        except Exception as exc:  # rapidocr raises assorted types
            raise MediaProcessingError("ocr_failed", _("The text in the photo could not be read."), repr(exc)) from exc
        # Boxes found but no text recognised in them come back as the detection's own output, without texts.
        if not isinstance(result, RapidOCROutput) or not result.txts or result.boxes is None or result.scores is None:
            return Recognition("", 0.0)
        chars = sum(len(text) for text in result.txts)
        weighted = sum(len(text) * score for text, score in zip(result.txts, result.scores, strict=True))
        return Recognition(
            text=reading_order(result.boxes.tolist(), result.txts),
            confidence=weighted / chars if chars else 0.0,
        )


_ENGINES = {"rapidocr": RapidOcrEngine}


def ocr_engine(name: str = "rapidocr", threads: int = 2) -> RapidOcrEngine:
    """The OCR engine called ``name``, created once per process and argument set.
    ``threads`` is the number of CPU threads one recognition may use."""
    if name not in _ENGINES:
        raise ValueError(f"Unknown OCR engine {name!r}")
    return _create_engine(name, threads)


@functools.lru_cache
def _create_engine(name: str, threads: int) -> RapidOcrEngine:
    # Called with positional arguments only, so that every spelling of a call to
    # ocr_engine() shares one cache entry.
    return _ENGINES[name](threads)
