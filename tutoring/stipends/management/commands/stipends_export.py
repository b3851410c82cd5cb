from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from tutoring.core.errors import ServiceError
from tutoring.schools.models import City, School
from tutoring.stipends import exports
from tutoring.stipends.management.commands.ledger_build import month_parse


class Command(BaseCommand):
    help = (
        "Export a school's month of stipend statements as XLSX or CSV, or its notice (公示) as PDF; or a city's "
        "month as XLSX."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--school", type=int, help="the school's id")
        which.add_argument("--city", type=int, help="the city's id (XLSX only)")
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--format", dest="file_format", required=True, choices=sorted(exports.SCHOOL_EXPORTS))
        parser.add_argument("--out", required=True, type=Path, help="the file to write")

    def handle(
        self, *args: Any, school: int | None, city: int | None, month: str, file_format: str, out: Path, **options: Any
    ) -> None:
        first = month_parse(month)
        try:
            if city is not None:
                content = exports.city_month_xlsx(self.city_get(city, file_format), first)
            else:
                assert school is not None
                content = exports.SCHOOL_EXPORTS[file_format][0](self.school_get(school), first)
        except ServiceError as error:
            raise CommandError(str(error.message)) from error
        out.write_bytes(content)
        self.stdout.write(f"{out}: {len(content)} bytes")

    def school_get(self, school_id: int) -> School:
        school = School.objects.filter(pk=school_id).first()
        if school is None:
            raise CommandError(_("There is no school with the id %(id)d.") % {"id": school_id})
        return school

    def city_get(self, city_id: int, file_format: str) -> City:
        if file_format != "xlsx":
            raise CommandError(_("A city's month is exported as XLSX only."))
        city = City.objects.filter(pk=city_id).first()
        if city is None:
            raise CommandError(_("There is no city with the id %(id)d.") % {"id": city_id})
        return city
