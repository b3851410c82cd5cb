"""Exports of the teachers' monthly statements, read from the stored statements (never recomputed): a school's
month as a spreadsheet (XLSX or CSV) with a row per teacher and day, a summary row per teacher and the school's
totals; a city's month as one workbook; and the 公示 notice of a school's month or term as a PDF.

Every figure a school's month shows comes from ``export_figures``, and ``figures_hash`` is the SHA-256 of them,
so that a later report of the month can be checked against the notice that was published.

The figures are exact: money is integer fen shown as yuan with two decimals (``yuan``); minutes and class hours
are fractions of integer milliseconds rounded half up to two decimals once, where they are shown (a teacher's
month is its days added up exactly, then rounded, not the sum of its rounded days). A class hour is the day's own
rule version's (40 or 45 minutes). Students served are counted once a day, so a month adds up its days.
"""

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import weasyprint
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import ImageFile

from tutoring.core.errors import ServiceError
from tutoring.core.spreadsheets import Sheet, Workbook, csv_bytes
from tutoring.schools.models import City, School
from tutoring.stipends import selectors
from tutoring.stipends.pricing import MS_PER_MINUTE, rounded, yuan

# Importing WeasyPrint lets Pillow half-decode truncated images for the whole process; photo uploads must be
# refused when truncated (media.uploads), and the notices hold no image.
ImageFile.LOAD_TRUNCATED_IMAGES = False

COUNTS = ("sessions", "flagged", "students", "lectures", "audience", "videos", "helped", "ratings", "rating_sum")

# A school's sheet: (key in the rows of ``export_figures``, heading).
COLUMNS = (
    ("name", gettext_lazy("Teacher's name")),
    ("day", gettext_lazy("Date of work")),
    ("duty_minutes", gettext_lazy("Time on duty (minutes)")),
    ("session_minutes", gettext_lazy("Time in sessions (minutes)")),
    ("sessions", gettext_lazy("Sessions counted")),
    ("flagged", gettext_lazy("Sessions flagged, not counted")),
    ("students", gettext_lazy("Students served")),
    ("lectures", gettext_lazy("Lectures given")),
    ("audience", gettext_lazy("Lecture audience")),
    ("videos", gettext_lazy("Videos published")),
    ("helped", gettext_lazy("Students helped by videos")),
    ("ratings", gettext_lazy("Ratings received")),
    ("rating_sum", gettext_lazy("Sum of ratings (stars)")),
    ("workload_minutes", gettext_lazy("Workload (minutes)")),
    ("class_hours", gettext_lazy("Workload (class hours)")),
    ("time_yuan", gettext_lazy("For time (yuan)")),
    ("session_yuan", gettext_lazy("For sessions (yuan)")),
    ("lecture_yuan", gettext_lazy("For lectures (yuan)")),
    ("base_yuan", gettext_lazy("Before the quality factor (yuan)")),
    ("quality_permille", gettext_lazy("Quality factor (‰)")),
    ("amount_yuan", gettext_lazy("Amount payable (yuan)")),
    ("credit", gettext_lazy("Evaluation credit points")),
    ("rule", gettext_lazy("Rule version no.")),
)
# A city's sheets put each row's district and school first; its sheet of schools shows their totals.
PLACE_COLUMNS = (gettext_lazy("District or county"), gettext_lazy("School name"))
TOTAL_KEYS = tuple(key for key, _heading in COLUMNS if key not in ("name", "day", "quality_permille", "rule"))


def _minutes(ms: int) -> Decimal:
    return rounded(Fraction(ms, MS_PER_MINUTE))


@dataclass
class Tally:
    """Statement days added up exactly: their integer figures, and their class hours as a fraction."""

    added: Counter[str] = field(default_factory=Counter)
    class_hours: Fraction = Fraction(0)

    @classmethod
    def of(cls, days: Iterable[Mapping[str, Any]]) -> "Tally":
        tally = cls()
        for day in days:
            tally.add(day)
        return tally

    def add(self, day: Mapping[str, Any]) -> None:
        """One day of ``selectors.statement_day_list``."""
        self.added.update({key: day[key] for key in selectors.STATEMENT_DAY_FIGURES})
        workload_ms = day["duty_ms"] + day["session_ms"]
        self.class_hours += Fraction(workload_ms, day["class_hour_minutes"] * MS_PER_MINUTE)

    def merge(self, other: "Tally") -> None:
        self.added.update(other.added)
        self.class_hours += other.class_hours

    def shown(self) -> dict[str, Any]:
        """The figures as shown: counts, minutes and class hours (two decimals), yuan and credit points."""
        added = self.added
        return {
            "duty_minutes": _minutes(added["duty_ms"]),
            "session_minutes": _minutes(added["session_ms"]),
            **{key: added[key] for key in COUNTS},
            "workload_minutes": _minutes(added["duty_ms"] + added["session_ms"]),
            "class_hours": rounded(self.class_hours),
            "time_yuan": yuan(added["time_fen"]),
            "session_yuan": yuan(added["session_fen"]),
            "lecture_yuan": yuan(added["lecture_fen"]),
            "base_yuan": yuan(added["time_fen"] + added["session_fen"] + added["lecture_fen"]),
            "credit": added["credit"],
        }


@dataclass
class _Teacher:
    id: int
    name: str
    tally: Tally = field(default_factory=Tally)
    amount_fen: int = 0  # payable: the statement's amount with its corrections
    credit_corrected: int = 0  # the corrections' credit points


@dataclass
class _SchoolMonth:
    figures: dict[str, Any]
    teachers: list[_Teacher]
    tally: Tally
    amount_fen: int
    credit_corrected: int


def month_name(month: date) -> str:
    return _("month %(month)d of %(year)d") % {"month": month.month, "year": month.year}


def _school_month(school: School, month: date) -> _SchoolMonth:
    """A school's stored statements of a month, read once: the figures shown and the exact tallies behind them.
    A month without statements for the school is refused."""
    month = month.replace(day=1)
    statements = selectors.statement_list(school=school, month=month)
    if not statements:
        raise ServiceError(
            "no_statements",
            _("%(school)s has no monthly statements for %(period)s.") % {"school": school, "period": month_name(month)},
            status=404,
        )
    days_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for day in selectors.statement_day_list(school=school, month=month):
        days_of[day["statement_id"]].append(day)
    statements.sort(key=lambda statement: (str(statement.teacher), statement.teacher_id))
    corrections = selectors.adjustment_totals(school=school, month=month)
    teachers: list[_Teacher] = []
    shown: list[dict[str, Any]] = []
    school_tally = Tally()
    for statement in statements:
        corrected_fen, corrected_credit = corrections.get(statement.teacher_id, (0, 0))
        teacher = _Teacher(
            id=statement.teacher_id,
            name=str(statement.teacher),
            amount_fen=statement.amount_fen + corrected_fen,
            credit_corrected=corrected_credit,
        )
        by_rule: dict[int, Tally] = defaultdict(Tally)
        rows = []
        for day in days_of[statement.pk]:
            rows.append({"day": day["day"], "rule": day["rule_id"], **Tally.of([day]).shown()})
            by_rule[day["rule_id"]].add(day)
            teacher.tally.add(day)
        totals = [
            {
                "rule": int(rule_id),
                **by_rule[int(rule_id)].shown(),
                "quality_permille": version["permille"],
                "amount_yuan": yuan(version["amount_fen"]),
            }
            for rule_id, version in sorted(statement.quality.items(), key=lambda item: int(item[0]))
        ]
        if corrected_fen or corrected_credit:
            totals.append({"corrections": True, "amount_yuan": yuan(corrected_fen), "credit": corrected_credit})
        school_tally.merge(teacher.tally)
        teachers.append(teacher)
        shown.append({"teacher": teacher.id, "name": teacher.name, "days": rows, "totals": totals})
    amount_fen = sum(teacher.amount_fen for teacher in teachers)
    credit_corrected = sum(teacher.credit_corrected for teacher in teachers)
    total = school_tally.shown()
    figures = {
        "school": school.pk,
        "school_name": school.name,
        "month": month,
        "teachers": shown,
        "total": {**total, "amount_yuan": yuan(amount_fen), "credit": total["credit"] + credit_corrected},
    }
    return _SchoolMonth(
        figures=figures,
        teachers=teachers,
        tally=school_tally,
        amount_fen=amount_fen,
        credit_corrected=credit_corrected,
    )


def export_figures(school: School, month: date) -> dict[str, Any]:
    """Every figure a school's month shows, from its stored statements: the school, the month, each teacher (by
    name, then account) with their days (each with its rule version) and a summary per rule version of their
    month (with its quality factor and the amount after it), and the school's totals."""
    return _school_month(school, month).figures


def canonical(figures: Mapping[str, Any]) -> str:
    """Figures in canonical JSON: sorted keys, no spaces, days as ISO dates, decimals as text."""
    return json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(figures: Mapping[str, Any]) -> str:
    """SHA-256 of ``canonical`` figures."""
    return hashlib.sha256(canonical(figures).encode()).hexdigest()


def figures_hash(school: School, month: date) -> str:
    """SHA-256 of a school's month as its exports show it (``export_figures``): what its 公示 publishes and
    its report must equal."""
    return digest(export_figures(school, month))


def _rows(figures: Mapping[str, Any]) -> Iterator[tuple[bool, list[Any]]]:
    """A school's sheet row by row, in ``COLUMNS`` order (None where a row has no such figure), each with
    whether it is a summary (a teacher's month or the school's)."""
    for teacher in figures["teachers"]:
        for day in teacher["days"]:
            yield False, _cells({"name": teacher["name"], **day})
        for total in teacher["totals"]:
            label = _("Corrections") if total.get("corrections") else _("Month total")
            yield True, _cells({"name": teacher["name"], "day": label, **total})
    yield True, _cells({"name": _("Whole school"), **figures["total"]})


def _cells(row: Mapping[str, Any]) -> list[Any]:
    return [row.get(key) for key, _heading in COLUMNS]


# --- Spreadsheets -------------------------------------------------------------------------------


def school_month_xlsx(school: School, month: date) -> bytes:
    """A school's month as one sheet (``COLUMNS``): a row per teacher and day, a summary row per teacher and the
    school's totals."""
    figures = export_figures(school, month)
    workbook = Workbook()
    sheet = Sheet(workbook, f"{figures['month']:%Y-%m}", [heading for _key, heading in COLUMNS], names=2)
    for summary, cells in _rows(figures):
        sheet.append(cells, bold=summary)
    sheet.finish()
    return workbook.close()


def city_month_xlsx(city: City, month: date) -> bytes:
    """A city's month: a sheet of its schools' totals (one row a school, by district, and the city's), then one
    sheet of every school's rows as in ``school_month_xlsx``, each after its district and school, so that an
    administrator filters it by district, school or teacher. Written school by school, in constant memory."""
    month = month.replace(day=1)
    schools = selectors.stated_school_list(city=city, month=month)
    if not schools:
        raise ServiceError(
            "no_statements",
            _("%(city)s has no monthly statements for %(period)s.") % {"city": city, "period": month_name(month)},
            status=404,
        )
    workbook = Workbook()
    totals = Sheet(
        workbook,
        _("Totals by school"),
        [*PLACE_COLUMNS, _("Teachers stated"), *(heading for key, heading in COLUMNS if key in TOTAL_KEYS)],
        names=2,
    )
    details = Sheet(workbook, _("Teachers' days"), [*PLACE_COLUMNS, *(heading for _key, heading in COLUMNS)], names=4)
    city_tally = Tally()
    city_fen = 0
    for school in schools:
        stated = _school_month(school, month)
        place = [school.district.name, school.name]
        total = stated.figures["total"]
        totals.append([*place, len(stated.teachers), *(total[key] for key in TOTAL_KEYS)])
        for summary, cells in _rows(stated.figures):
            details.append([*place, *cells], bold=summary)
        city_tally.merge(stated.tally)
        city_fen += stated.amount_fen
    city_total = {**city_tally.shown(), "amount_yuan": yuan(city_fen)}
    totals.append([_("Whole city"), None, None, *(city_total[key] for key in TOTAL_KEYS)], bold=True)
    details.append([_("Whole city"), None, *_cells(city_total)], bold=True)
    totals.finish()
    details.finish()
    return workbook.close()


def school_month_csv(school: School, month: date) -> bytes:
    """The rows of ``school_month_xlsx`` as CSV: UTF-8 with a byte order mark (so that Excel reads the Chinese),
    days as ISO dates, decimals as text with two decimals."""
    return csv_bytes(
        [heading for _key, heading in COLUMNS], (cells for _summary, cells in _rows(export_figures(school, month)))
    )


# --- The 公示 notice ----------------------------------------------------------------------------


def school_month_notice_pdf(school: School, month: date) -> bytes:
    """The notice of a school's month: each teacher's workload (class hours and minutes), sessions counted,
    students served, lectures and credit points, with the school's totals and the month's figures hash."""
    return _notice_pdf(school, [month], pay=False)


def school_term_notice_pdf(school: School, months: Sequence[date]) -> bytes:
    """The notice of a school's term (the months given, one or more, each with statements), as the month's notice with
    each teacher's intended pay (the amounts of their statements), and each month's figures hash."""
    return _notice_pdf(school, months, pay=True)


def _notice_pdf(school: School, months: Sequence[date], *, pay: bool) -> bytes:
    months = sorted({month.replace(day=1) for month in months})
    teachers: dict[int, _Teacher] = {}
    school_tally = Tally()
    school_fen = school_credit = 0
    checksums = []
    for month in months:
        stated = _school_month(school, month)
        checksums.append(
            _("Checksum of the figures of %(period)s (SHA-256): %(checksum)s")
            % {"period": month_name(month), "checksum": digest(stated.figures)}
        )
        for each in stated.teachers:
            teacher = teachers.setdefault(each.id, _Teacher(id=each.id, name=each.name))
            teacher.tally.merge(each.tally)
            teacher.amount_fen += each.amount_fen
            teacher.credit_corrected += each.credit_corrected
        school_tally.merge(stated.tally)
        school_fen += stated.amount_fen
        school_credit += stated.credit_corrected
    period = month_name(months[0])
    if len(months) > 1:
        period = _("%(first)s to %(last)s") % {"first": period, "last": month_name(months[-1])}
    title = (
        _("%(school)s: the teachers' live tutoring workload and intended pay, %(period)s")
        if pay
        else _("%(school)s: the teachers' live tutoring workload, %(period)s")
    ) % {"school": school.name, "period": period}
    rows = [
        {
            "name": teacher.name,
            **teacher.tally.shown(),
            "credit": teacher.tally.shown()["credit"] + teacher.credit_corrected,
            "pay_yuan": yuan(teacher.amount_fen),
        }
        for teacher in sorted(teachers.values(), key=lambda teacher: (teacher.name, teacher.id))
    ]
    school_total = school_tally.shown()
    html = render_to_string(
        "stipends/notice.html",
        {
            "title": title,
            "rows": rows,
            "total": {**school_total, "credit": school_total["credit"] + school_credit, "pay_yuan": yuan(school_fen)},
            "pay": pay,
            "checksums": checksums,
        },
    )
    return weasyprint.HTML(string=html).write_pdf()


# What a school's month is exported as: (function of the school and the month, content type, file extension).
SCHOOL_EXPORTS: dict[str, tuple[Callable[[School, date], bytes], str, str]] = {
    "xlsx": (school_month_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "csv": (school_month_csv, "text/csv; charset=utf-8", "csv"),
    "pdf": (school_month_notice_pdf, "application/pdf", "pdf"),
}
