"""The result type shared by OCR and speech recognition."""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Recognition:
    text: str
    confidence: float  # 0..1; 0.0 when nothing was recognised


def _is_ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def join_fragments(fragments: Iterable[str]) -> str:
    """Join recognised pieces of one line as Chinese text is written: no spaces,
    except between two pieces of Latin text or numbers ("Tom" + "has",
    "dog." + "Then")."""
    text = ""
    for fragment in filter(None, (f.strip() for f in fragments)):
        if text and (_is_ascii_alnum(text[-1]) or text[-1] in ".,;:!?") and _is_ascii_alnum(fragment[0]):
            text += " "
        text += fragment
    return text
