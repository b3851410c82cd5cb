from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tutoring.insights.clusters import clusters_build, week_of
from tutoring.schools.models import City


class Command(BaseCommand):
    help = (
        "Cluster the recurring questions of a week (by default the current one) in every city, replacing its clusters."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--week", help="any day of the week, YYYY-MM-DD")
        parser.add_argument("--weeks", type=int, default=1, help="this many weeks, ending with that one")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            last = date.fromisoformat(options["week"]) if options["week"] else timezone.localdate()
        except ValueError:
            raise CommandError(f"Not a date: {options['week']}") from None
        if options["weeks"] < 1:
            raise CommandError("--weeks must be at least 1")
        for back in range(options["weeks"] - 1, -1, -1):
            week = week_of(last) - timedelta(days=7 * back)
            for city in City.objects.order_by("pk"):
                built = clusters_build(city=city, week=week)
                self.stdout.write(f"{city.name} {week}: {len(built)} clusters")
