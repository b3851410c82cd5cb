"""The insights' tables as files: CSV and XLSX of a breakdown, every figure a column (and in XLSX a second sheet of
the figures' definitions). The same rules as the pages: the viewer's scope, no figure for a small group."""

from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from tutoring.core.spreadsheets import Sheet, Workbook, csv_bytes
from tutoring.insights.metrics import FIGURES, Column
from tutoring.insights.models import HotCluster

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
    definitions = [(figure.label, figure.definition) for figure in FIGURES]
    return _xlsx(_headings(by), (_cells(row) for row in rows), _("Figure"), definitions)


def _xlsx(headings: Sequence[Any], rows: Iterable[Sequence[Any]], named: Any, definitions: Sequence[tuple]) -> bytes:
    """A sheet of the rows (decimals to four places) and a sheet of the definitions of what ``named`` names."""
    workbook = Workbook()
    table = Sheet(workbook, str(_("Figures")), headings, names=1)
    for cells in rows:
        table.append([round(value, 4) if isinstance(value, float) else value for value in cells])
    table.finish()
    sheet = Sheet(workbook, str(_("Definitions")), [named, _("Definition")], names=1)
    for label, definition in definitions:
        sheet.append([label, definition])
    sheet.finish()
    return workbook.close()


CLUSTER_HEADINGS = (
    _("Week"),
    _("Subject"),
    _("Grade band"),
    _("Representative question"),
    _("Words"),
    _("Knowledge points"),
    _("Questions"),
    _("Students"),
    _("Questions the week before"),
    _("Solved by an answered question"),
    _("Sent to a teacher"),
    _("Answered by a teacher"),
    _("Best answered question"),
)


def _cluster_cells(cluster: HotCluster) -> list[Any]:
    return [
        cluster.week,
        cluster.subject.name,
        cluster.grade_band.name,
        cluster.representative.text,
        " ".join(cluster.terms),
        "、".join(point.name for point in cluster.knowledge_points.all()),
        cluster.size,
        cluster.students,
        cluster.previous_size if cluster.previous_id else None,
        cluster.solved_by_video,
        cluster.sent_to_teacher,
        cluster.answered,
        cluster.best_entry.text if cluster.best_entry else None,
    ]


def clusters_csv(clusters: Sequence[HotCluster]) -> bytes:
    return csv_bytes(CLUSTER_HEADINGS, (_cluster_cells(cluster) for cluster in clusters))


def clusters_xlsx(clusters: Sequence[HotCluster]) -> bytes:
    workbook = Workbook()
    table = Sheet(workbook, str(_("Hot clusters")), CLUSTER_HEADINGS, names=4)
    for cluster in clusters:
        table.append(_cluster_cells(cluster))
    table.finish()
    return workbook.close()


def _table_cells(columns: Sequence[Column], row: dict[str, Any]) -> list[Any]:
    return [row["cells"][column.code] for column in columns]


def table_csv(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> bytes:
    """A table of the engagement page (``engagement.Table``) as CSV: a suppressed row shows only its names."""
    return csv_bytes([column.label for column in columns], (_table_cells(columns, row) for row in rows))


def table_xlsx(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> bytes:
    """The same as XLSX, with a second sheet of the columns' definitions."""
    definitions = [(column.label, column.definition) for column in columns]
    cells = (_table_cells(columns, row) for row in rows)
    return _xlsx([column.label for column in columns], cells, _("Column"), definitions)
