from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from tutoring.stipends import ledger, services


def month_parse(text: str) -> date:
    """``YYYY-MM`` as the month's first day."""
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError as error:
        raise CommandError(_("Give the month as YYYY-MM.")) from error


class Command(BaseCommand):
    help = "Build the workload ledger of a day or a month anew from the facts."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--day", help="YYYY-MM-DD")
        which.add_argument("--month", help="YYYY-MM")

    def handle(self, *args: Any, day: str | None, month: str | None, **options: Any) -> None:
        if day is not None:
            try:
                days = [date.fromisoformat(day)]
            except ValueError as error:
                raise CommandError(_("Give the day as YYYY-MM-DD.")) from error
        else:
            assert month is not None
            days = services.month_days(month_parse(month))
        for each in days:
            lines = ledger.ledger_build(each)
            self.stdout.write(f"{each.isoformat()}: {lines}")
