import calendar
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from tutoring.stipends import services


class Command(BaseCommand):
    help = "Build the workload ledger of a day or a month anew from the facts."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--day", help="YYYY-MM-DD")
        which.add_argument("--month", help="YYYY-MM")

    def handle(self, *args: Any, day: str | None, month: str | None, **options: Any) -> None:
        try:
            if day is not None:
                days = [date.fromisoformat(day)]
            else:
                assert month is not None
                first = date.fromisoformat(f"{month}-01")
                days = [first + timedelta(days=n) for n in range(calendar.monthrange(first.year, first.month)[1])]
        except ValueError as error:
            raise CommandError(_("Give the day as YYYY-MM-DD or the month as YYYY-MM.")) from error
        for each in days:
            lines = services.ledger_build(each)
            self.stdout.write(f"{each.isoformat()}: {lines}")
