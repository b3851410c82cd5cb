from typing import Any

from django.core.management.base import BaseCommand

from tutoring.insights.rollups import insights_rebuild


class Command(BaseCommand):
    help = "Recompute every day's insights rollups from the facts (after their definitions changed)."

    def handle(self, *args: Any, **options: Any) -> None:
        days = insights_rebuild()
        self.stdout.write(f"Recomputed the rollups of {len(days)} days.")
