"""Spreadsheets as the platform exports them: XLSX in constant memory, a frozen and filterable heading row, and
CSV that Excel opens in Chinese."""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import xlsxwriter


class Workbook:
    """An XLSX workbook written in XlsxWriter's constant-memory mode: each sheet keeps one row in memory, so
    its rows are written in order, once."""

    def __init__(self) -> None:
        self.output = io.BytesIO()
        self.book = xlsxwriter.Workbook(self.output, {"constant_memory": True})
        self.formats = {
            (kind, bold): self.book.add_format({"bold": bold, **spec})
            for kind, spec in (
                ("text", {}),
                ("heading", {"text_wrap": True, "valign": "top"}),
                ("date", {"num_format": "yyyy-mm-dd"}),
                ("decimal", {"num_format": "0.00"}),
            )
            for bold in (False, True)
        }

    def close(self) -> bytes:
        self.book.close()
        return self.output.getvalue()


class Sheet:
    """A worksheet: a frozen heading row, then rows of figures (summaries in bold), filterable."""

    def __init__(self, workbook: Workbook, name: str, headings: Sequence[Any], *, names: int) -> None:
        self.sheet = workbook.book.add_worksheet(name)
        self.formats = workbook.formats
        self.columns = len(headings)
        self.sheet.set_column(0, names - 1, 16)  # the columns of names
        self.sheet.set_column(names, self.columns - 1, 11)
        self.sheet.freeze_panes(1, names)
        self.sheet.set_landscape()
        self.sheet.repeat_rows(0)
        self.sheet.fit_to_pages(1, 0)
        for column, heading in enumerate(headings):
            self.sheet.write_string(0, column, str(heading), self.formats["heading", True])
        self.row = 1

    def append(self, cells: Sequence[Any], *, bold: bool = False) -> None:
        # Excel keeps numbers as doubles: a two-decimal Decimal becomes the nearest one, which Excel shows back
        # as the same two decimals (format 0.00); the figures themselves are computed in integers.
        for column, value in enumerate(cells):
            if value is None:
                continue
            if isinstance(value, date):
                self.sheet.write_datetime(self.row, column, value, self.formats["date", bold])
            elif isinstance(value, Decimal):
                self.sheet.write_number(self.row, column, float(value), self.formats["decimal", bold])
            elif isinstance(value, int | float):
                self.sheet.write_number(self.row, column, value, self.formats["text", bold])
            else:
                self.sheet.write_string(self.row, column, str(value), self.formats["text", bold])
        self.row += 1

    def finish(self) -> None:
        self.sheet.autofilter(0, 0, self.row - 1, self.columns - 1)


def csv_bytes(headings: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as CSV: UTF-8 with a byte order mark (so that Excel reads the Chinese), an empty cell for None."""
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow([str(heading) for heading in headings])
    for row in rows:
        writer.writerow(["" if value is None else str(value) for value in row])
    return output.getvalue().encode("utf-8-sig")
