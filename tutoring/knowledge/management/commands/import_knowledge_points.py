"""Import a subject's knowledge-point taxonomy: ChalkBase's primary maths, or a file for any subject."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tutoring.core.errors import ServiceError
from tutoring.knowledge.services import knowledge_point_import
from tutoring.knowledge.sources import FILE_COLUMNS, SourceError, chalkbase_records, records_from_file
from tutoring.schools.models import Subject


class Command(BaseCommand):
    help = (
        "Make a subject's knowledge-point taxonomy the one given: --chalkbase (primary maths, 北师大版 grades 1-6, "
        "from the chalkbase package) or --file (JSON lines or CSV with the columns "
        f"{', '.join(FILE_COLUMNS)}; aliases as a list, or in CSV separated by |). Points are matched by code: new "
        "ones are added, known ones updated, points no longer listed deactivated (what was tagged with them stays)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subject", default="math", help="the subject's code (default: math)")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--chalkbase", action="store_true", help="ChalkBase's primary-maths taxonomy")
        source.add_argument("--file", type=Path, help="a taxonomy file (.jsonl or .csv)")

    def handle(self, *args: Any, **options: Any) -> None:
        subject = Subject.objects.filter(code=options["subject"]).first()
        if subject is None:
            raise CommandError(f"unknown subject {options['subject']!r}")
        try:
            records = chalkbase_records() if options["chalkbase"] else records_from_file(options["file"])
            summary = knowledge_point_import(subject=subject, records=records)
        except (OSError, SourceError) as error:
            raise CommandError(str(error)) from error
        except ServiceError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(
            f"{subject.code}: {summary.created} created, {summary.updated} updated, {summary.deactivated} deactivated"
        )
