from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from tutoring.library.services import entries_to_tag, knowledge_points_backfill, questions_to_tag


class Command(BaseCommand):
    help = (
        "Tag the matched questions and active library entries that have no knowledge point (after a taxonomy is "
        "imported for the first time); --retag replaces every tagger's suggestion with what the tagger suggests "
        "now. A teacher's or an import's points are never changed. Run it where matching workers run: it loads "
        "the index and the encoder."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--retag", action="store_true", help="tag again what only the tagger tagged")

    def handle(self, *args: Any, retag: bool, **options: Any) -> None:
        total = questions_to_tag(retag=retag).count() + entries_to_tag(retag=retag).count()
        with tqdm(total=total, desc="tagging", unit="item", disable=options["verbosity"] == 0) as bar:
            questions, entries = knowledge_points_backfill(retag=retag, progress=bar.update)
        self.stdout.write(f"Tagged {questions} questions and {entries} answered questions.")
