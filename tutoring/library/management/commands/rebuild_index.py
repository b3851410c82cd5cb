from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from tutoring.library.index import index_rebuild, searchable_entries


class Command(BaseCommand):
    help = "Rebuild the similar-question index from the database and save it for the matching workers."

    def handle(self, *args: Any, **options: Any) -> None:
        with tqdm(total=searchable_entries().count(), unit="question", disable=options["verbosity"] == 0) as bar:
            size = index_rebuild(progress=bar.update)
        self.stdout.write(f"Indexed {size} answered questions.")
