from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from tutoring.stipends import services
from tutoring.stipends.management.commands.ledger_build import month_parse


class Command(BaseCommand):
    help = "Recompute a month's statements from the facts and compare them, figure by figure, with the stored ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")

    def handle(self, *args: Any, month: str, **options: Any) -> None:
        differences = services.statements_verify(month_parse(month))
        for difference in differences:
            self.stdout.write(difference)
        self.stdout.write(f"{month}: {len(differences)} differences")
        if differences:
            raise CommandError(_("The stored statements differ from the facts."))
