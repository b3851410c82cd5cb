from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tutoring.core.errors import ServiceError
from tutoring.stipends import services
from tutoring.stipends.management.commands.ledger_build import month_parse


class Command(BaseCommand):
    help = "Build the ledger and every teacher's statement of a month anew from the facts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")

    def handle(self, *args: Any, month: str, **options: Any) -> None:
        try:
            built = services.statements_build(month_parse(month))
        except ServiceError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(f"{month}: {built}")
