from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from tutoring.library.index import entries_to_encode, entry_vectors_fill, index_rebuild, searchable_entries


class Command(BaseCommand):
    help = (
        "Rebuild the similar-question index from the database and save it for the matching workers. Questions "
        "without a stored vector from the current model are encoded first; --reencode encodes every question again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reencode", action="store_true", help="encode every question again (the model's files changed)"
        )

    def handle(self, *args: Any, reencode: bool, **options: Any) -> None:
        quiet = options["verbosity"] == 0
        with tqdm(
            total=entries_to_encode(reencode=reencode).count(), desc="encoding", unit="question", disable=quiet
        ) as bar:
            encoded = entry_vectors_fill(reencode=reencode, progress=bar.update)
        with tqdm(total=searchable_entries().count(), desc="indexing", unit="question", disable=quiet) as bar:
            size = index_rebuild(progress=bar.update)
        self.stdout.write(f"Encoded {encoded} and indexed {size} answered questions.")
