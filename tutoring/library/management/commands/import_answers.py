"""Bulk-import a library of answered questions from JSON Lines."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from tutoring.core.errors import ServiceError
from tutoring.library.index import entries_to_encode, entry_vectors_fill
from tutoring.library.services import entry_save

FIELDS = {"text", "subject", "grade", "knowledge_points", "solution", "video", "external_id"}


class Command(BaseCommand):
    help = (
        "Import answered questions, one JSON object a line: text, subject (name such as 数学, or code), "
        "grade (one the subject is taught in), optional knowledge_points, solution, video (a file path, "
        "relative to FILE's folder or absolute), external_id (re-importing it updates instead of duplicating). "
        "The questions are then encoded in batches and their vectors stored, so matching workers and "
        "rebuild_index only read them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        created = updated = 0
        rejected: list[tuple[int, str]] = []
        quiet = options["verbosity"] == 0
        for number, line in enumerate(tqdm(lines, unit="row", disable=quiet), start=1):
            if not line.strip():
                continue
            try:
                was_created = self._row(line, file.parent)
            except (ServiceError, ValueError) as error:
                rejected.append((number, str(getattr(error, "message", error))))
                continue
            created, updated = created + was_created, updated + (not was_created)
        self.stdout.write(
            f"Imported {created + updated} rows: {created} new, {updated} updated, {len(rejected)} rejected."
        )
        for number, reason in rejected:
            self.stdout.write(f"  line {number}: {reason}")
        with tqdm(total=entries_to_encode().count(), desc="encoding", unit="question", disable=quiet) as bar:
            entry_vectors_fill(progress=bar.update)

    def _row(self, line: str, folder: Path) -> bool:
        row = json.loads(line)
        if not isinstance(row, dict):
            raise ValueError("a line must be a JSON object")
        unknown = set(row) - FIELDS
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        points = row.get("knowledge_points") or []
        if not isinstance(points, list):
            raise ValueError("knowledge_points must be a list")
        external_id = row.get("external_id")
        video_path = row.get("video")
        video = None
        if video_path:
            path = Path(video_path) if Path(video_path).is_absolute() else folder / video_path
            if not path.is_file():
                raise ValueError(f"video file not found: {video_path}")
            video = path.open("rb")
        try:
            _, created = entry_save(
                text=str(row.get("text") or ""),
                subject=str(row.get("subject") or ""),
                grade=row.get("grade"),
                knowledge_points=points,
                solution=str(row.get("solution") or ""),
                video=video,
                external_id=str(external_id) if external_id not in (None, "") else None,
            )
        finally:
            if video is not None:
                video.close()
        return created
