"""The project's own catalogue of English source strings, to find any that a page shows untranslated."""

import html
import re
from pathlib import Path

from django.conf import settings

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def _catalogue_msgids() -> list[str]:
    """The English source strings of the project's own catalogue (msgid and msgid_plural, joined lines)."""
    text = CATALOGUE.read_text(encoding="utf-8")
    found = re.findall(r'^msgid(?:_plural)? ((?:".*"\n)+)', text, flags=re.MULTILINE)
    msgids = ["".join(re.findall(r'"(.*)"', lines)).replace('\\"', '"').replace("\\n", "\n") for lines in found]
    return [msgid for msgid in msgids if re.search("[A-Za-z]", PLACEHOLDER.sub("", msgid))]


def _msgid_pattern(msgid: str) -> str:
    """The msgid as a page would show it, as written or capitalised (field names head columns capitalised):
    a placeholder inside stands for a short value, whole words only (not part of an identifier such as an
    entry's external id ``session-3``)."""
    parts = (part.strip() for part in PLACEHOLDER.split(html.unescape(msgid)))
    literal = ".{1,40}?".join(re.escape(part) for part in parts if part)
    literals = {literal, literal[:1].upper() + literal[1:]}
    return "|".join(rf"(?<![A-Za-z0-9_-]){literal}(?![A-Za-z0-9_-])" for literal in sorted(literals))


ENGLISH = re.compile("|".join(_msgid_pattern(msgid) for msgid in _catalogue_msgids()))


def english_in(text: str) -> list[str]:
    """The catalogue's English source strings that ``text`` shows untranslated."""
    return [match.group(0) for match in ENGLISH.finditer(text)]
