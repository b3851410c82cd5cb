"""The insights' tables as files: CSV and XLSX of a breakdown, every figure a column (and in XLSX a second sheet of
the figures' definitions). The same rules as the pages: the viewer's scope, no figure for a small group."""

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from tutoring.core.spreadsheets import Sheet, Workbook, csv_bytes
from tutoring.insights.metrics import FIGURES

DIMENSIONS = {
    "day": _("Day"),
    "district": _("District"),
    "school": _("School"),
    "subject": _("Subject"),
    "grade": _("Grade"),
    "point": _("Knowledge point"),
    "hour": _("Hour"),
    "weekday": _("Weekday"),
}


def _headings(by: str) -> list[Any]:
    return [DIMENSIONS[by], *(figure.label for figure in FIGURES)]


def _cells(row: dict[str, Any]) -> list[Any]:
    return [row["label"], *(row["values"][figure.code] for figure in FIGURES)]


def breakdown_csv(by: str, rows: Sequence[dict[str, Any]]) -> bytes:
    return csv_bytes(_headings(by), (_cells(row) for row in rows))


def breakdown_xlsx(by: str, rows: Sequence[dict[str, Any]]) -> bytes:
    workbook = Workbook()
    table = Sheet(workbook, str(_("Figures")), _headings(by), names=1)
    for row in rows:
        table.append([round(value, 4) if isinstance(value, float) else value for value in _cells(row)])
    table.finish()
    definitions = Sheet(workbook, str(_("Definitions")), [_("Figure"), _("Definition")], names=1)
    for figure in FIGURES:
        definitions.append([figure.label, figure.definition])
    definitions.finish()
    return workbook.close()
