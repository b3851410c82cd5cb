"""One normalisation for every text that is embedded, indexed or compared.

Students type on phones (full-width digits and letters, stray spaces), OCR adds spaces between characters, and
imported question banks write maths in LaTeX (`$$\\frac{1}{4}$$`). The same question must come out as the same
string, so the encoder, the lexical score and the numbers check all read `normalise(text)`.
"""

import re
import unicodedata

_LATEX_SYMBOLS = {
    "times": "×",
    "cdot": "×",
    "div": "÷",
    "textless": "<",
    "textgreater": ">",
    "le": "≤",
    "leq": "≤",
    "leqslant": "≤",
    "ge": "≥",
    "geq": "≥",
    "geqslant": "≥",
    "ne": "≠",
    "neq": "≠",
    "textbar": "|",
    "cdots": "…",
    "ldots": "…",
    "dots": "…",
    "pi": "π",
    "angle": "∠",
    "triangle": "△",
    "circ": "°",
    "textasciitilde": "~",
}
_LATEX_DROPPED = {"left", "right", "text", "uline", "emph", "mathrm", "textbf", "displaystyle"}
_FRACTION = re.compile(r"\\d?frac\{([^{}]*)\}\{([^{}]*)\}")
_SQUARE_ROOT = re.compile(r"\\sqrt\{([^{}]*)\}")
_COMMAND = re.compile(r"\\([a-zA-Z]+)")
# "1." / "(2)" / "第3题:" / "第2小题:" / "【2020五年级卷第33题】" / a textbook section's label ("试一试:",
# "练一练第2题:") before the question: where it sat in a book, not what it asks. Read before spaces go, so that
# "1. 2个茶杯" keeps its 2 rather than becoming 1.2.
_LEADING_NUMBERING = re.compile(
    r"^(?:(?:【[^】]*】|第 ?\d+ ?小?题[:,.、]?|(\w)一\1(?:第 ?\d+ ?题)?[:.、]"
    r"|\(\d{1,3}\)|\d{1,3}[、)]|\d{1,3}\.(?!\d)) ?)+"
)
_SPACES = re.compile(r"\s+")
_SPACE_NOT_BETWEEN_WORDS = re.compile(r"(?<![a-z0-9]) | (?![a-z0-9])")


def _latex_command(found: re.Match[str]) -> str:
    name = found.group(1)
    if name in _LATEX_DROPPED:
        return ""
    return _LATEX_SYMBOLS.get(name, found.group(0))


def normalise(text: str) -> str:
    """Compatibility-fold (NFKC: full width to half width), turn LaTeX into plain symbols, lower-case, drop every
    space except one between two ASCII letters or digits (English keeps its words, "3 4" stays two numbers), and
    drop the exercise's numbering in front."""
    text = unicodedata.normalize("NFKC", text).replace("$$", " ")
    if "\\" in text:
        text = _FRACTION.sub(r"\1/\2", text)
        text = _SQUARE_ROOT.sub(r"√\1", text)
        text = _COMMAND.sub(_latex_command, text)
    text = _LEADING_NUMBERING.sub("", _SPACES.sub(" ", text).strip().lower())
    return _SPACE_NOT_BETWEEN_WORDS.sub("", text)
