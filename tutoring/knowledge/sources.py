"""Where taxonomies come from, as plain records: the ``chalkbase`` package (primary maths, 北师大版 grades 1-6)
or a file (JSON lines or CSV) for any other subject. No Django here: benchmarks read taxonomies the same way."""

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

FILE_COLUMNS = ("code", "name", "parent", "aliases", "min_grade", "max_grade", "description")


@dataclass(frozen=True)
class KnowledgePointRecord:
    code: str
    name: str
    parent: str = ""  # the parent's code; empty for a root
    aliases: tuple[str, ...] = ()
    min_grade: int | None = None
    max_grade: int | None = None
    description: str = ""


class SourceError(ValueError):
    """A taxonomy file that cannot be read: the message names the line."""


def chalkbase_records() -> list[KnowledgePointRecord]:
    """ChalkBase's 433 knowledge points under their 93 threads (单元主线) and 8 topics (领域), each with its aliases,
    description and grades: from the lesson that introduces it to the last lesson that reviews it."""
    data = resources.files("chalkbase").joinpath("data/knowledge_points.json").read_text(encoding="utf-8")
    points = json.loads(data)
    leaves: list[KnowledgePointRecord] = []
    threads: dict[str, tuple[str, list[int]]] = {}
    topics: dict[str, list[int]] = {}
    for point in points:
        lessons = [point["first_introduced_lesson_id"], *point.get("review_lesson_ids", [])]
        grades = [grade for grade in map(_lesson_grade, lessons) if grade is not None]
        low, high = min(grades), max(grades)
        thread, topic = f"thread.{point['thread']}", f"topic.{point['topic']}"
        threads.setdefault(thread, (topic, []))[1].extend((low, high))
        topics.setdefault(topic, []).extend((low, high))
        leaves.append(
            KnowledgePointRecord(
                code=point["id"],
                name=point["name"],
                parent=thread,
                aliases=tuple(alias for alias in point.get("aliases", []) if alias and alias != point["name"]),
                min_grade=low,
                max_grade=high,
                description=point.get("description", ""),
            )
        )
    roots = [
        KnowledgePointRecord(code=code, name=code.removeprefix("topic."), min_grade=min(g), max_grade=max(g))
        for code, g in topics.items()
    ]
    middle = [
        KnowledgePointRecord(
            code=code, name=code.removeprefix("thread."), parent=topic, min_grade=min(g), max_grade=max(g)
        )
        for code, (topic, g) in threads.items()
    ]
    return roots + middle + leaves


def _lesson_grade(lesson_id: str) -> int | None:
    """``g4b.u3.l01`` → 4 (grade 4, second term)."""
    found = re.match(r"g(\d+)[ab]\.", lesson_id or "")
    return int(found.group(1)) if found else None


def records_from_file(path: Path) -> list[KnowledgePointRecord]:
    """A taxonomy file: JSON lines (one object a line) or CSV with a header, with the columns ``code``, ``name``
    and optionally ``parent`` (a code), ``aliases`` (a list, or in CSV separated by ``|``), ``min_grade``,
    ``max_grade`` and ``description``."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        if path.suffix.lower() == ".csv":
            rows: Iterable[tuple[int, dict[str, Any]]] = enumerate(csv.DictReader(file), start=2)
        else:
            rows = _json_lines(file)
        return [_record(number, row) for number, row in rows]


def _json_lines(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise SourceError(f"line {number}: not JSON ({error.msg})") from error
        if not isinstance(row, dict):
            raise SourceError(f"line {number}: expected an object")
        yield number, row


def _record(number: int, row: dict[str, Any]) -> KnowledgePointRecord:
    unknown = set(row) - set(FILE_COLUMNS)
    if unknown:
        raise SourceError(f"line {number}: unknown columns {sorted(unknown)}")
    aliases = row.get("aliases") or ()
    if isinstance(aliases, str):
        aliases = aliases.split("|")
    if not isinstance(aliases, list | tuple) or not all(isinstance(alias, str) for alias in aliases):
        raise SourceError(f"line {number}: aliases must be a list of texts")
    try:
        return KnowledgePointRecord(
            code=str(row.get("code") or "").strip(),
            name=str(row.get("name") or "").strip(),
            parent=str(row.get("parent") or "").strip(),
            aliases=tuple(alias.strip() for alias in aliases if alias.strip()),
            min_grade=_grade(row.get("min_grade")),
            max_grade=_grade(row.get("max_grade")),
            description=str(row.get("description") or "").strip(),
        )
    except ValueError as error:
        raise SourceError(f"line {number}: {error}") from error


def _grade(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise ValueError(f"grade {value!r} is not a whole number")
    return int(value)
