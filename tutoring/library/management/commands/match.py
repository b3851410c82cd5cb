"""Operators' check of matching: the top candidates with scores and labels, as JSON."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tutoring.core.errors import ServiceError
from tutoring.library.services import library_search_result


class Command(BaseCommand):
    help = (
        'match --subject S --grade G "question text" prints one JSON object; '
        "match --queries FILE.jsonl (text, subject, grade, optional id a line) prints one JSON line a query."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text", nargs="?")
        parser.add_argument("--subject", help="its code (math) or its name (数学)")
        parser.add_argument("--grade")
        parser.add_argument("--queries", type=Path)

    def handle(
        self, *args: Any, text: str | None, subject: str | None, grade: str | None, queries: Path | None, **options: Any
    ) -> None:
        if queries is None:
            if text is None or subject is None or grade is None:
                raise CommandError("Give --subject, --grade and the question text, or --queries FILE.jsonl.")
            try:
                result = library_search_result(text=text, subject=subject, grade=grade)
            except ServiceError as error:
                raise CommandError(str(error.message)) from error
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
            return
        try:
            lines = queries.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {queries}: {error}") from error
        for number, line in enumerate(lines, start=1):
            if line.strip():
                self.stdout.write(json.dumps(self._query(number, line), ensure_ascii=False))

    def _query(self, number: int, line: str) -> dict[str, Any]:
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("a line must be a JSON object")
        except ValueError as error:
            return {"line": number, "error": {"code": "invalid_json", "message": str(error)}}
        head = {"id": row["id"]} if "id" in row else {"line": number}
        try:
            return head | library_search_result(
                text=row.get("text", ""), subject=row.get("subject", ""), grade=row.get("grade")
            )
        except ServiceError as error:
            return head | {"error": {"code": error.code, "message": str(error.message)}}
