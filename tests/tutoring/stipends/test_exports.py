import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pypdfium2
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.translation import gettext

from tests.factories import StipendRuleFactory, TeacherFactory, presence, session_held
from tutoring.core.errors import ServiceError
from tutoring.routing.models import RoutingFact
from tutoring.stipends import exports, services
from tutoring.stipends.models import StatementDay

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Asia/Shanghai")
OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)

HEADINGS = [
    "Teacher's name",
    "Date of work",
    "Time on duty (minutes)",
    "Time in sessions (minutes)",
    "Sessions counted",
    "Sessions flagged, not counted",
    "Students served",
    "Lectures given",
    "Lecture audience",
    "Videos published",
    "Students helped by videos",
    "Ratings received",
    "Sum of ratings (stars)",
    "Workload (minutes)",
    "Workload (class hours)",
    "For time (yuan)",
    "For sessions (yuan)",
    "For lectures (yuan)",
    "Before the quality factor (yuan)",
    "Quality factor (‰)",
    "Amount payable (yuan)",
    "Evaluation credit points",
    "Rule version no.",
]


def at(day: date, hour: int, minute: float = 0) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZONE) + timedelta(hours=hour, minutes=minute)


def on_duty(teacher, day: date, start: tuple[int, ...], end: tuple[int, ...]) -> None:
    presence(teacher, RoutingFact.Kind.PRESENCE_STARTED, at(day, *start))
    presence(teacher, RoutingFact.Kind.PRESENCE_ENDED, at(day, *end[:2]) + timedelta(seconds=sum(end[2:])))


def november_at_a_school():
    """Two teachers of a school and one of another school in the same city, priced by the city's version
    (StipendRuleFactory: 40-minute class hours, 60 / 70 / 80 yuan weekday / evening / weekend) in November.

    王老师: Monday the 2nd on duty 18:00-20:00 with a session 19:00-19:05 (teacher active to 19:03, rated 5):
    115 minutes of duty and 3 counted, all in the evening (20650 fen), and 500 fen for the session; Saturday the
    7th on duty 10:00-10:30 (6000 fen). 27150 fen at 1111 ‰ (a mean rating of 5 against 4.5): 30163 fen.
    李老师: Wednesday the 4th on duty 09:00:00-09:50:20 with a session 09:10-09:12 in which only the student
    wrote (flagged, counts nothing): 48 min 20 s of duty in the daytime (7250 fen, 1.2083 class hours).
    The other school's teacher: Tuesday the 3rd on duty 10:00-10:40 (6000 fen)."""
    wang = TeacherFactory(display_name="王老师")
    school = wang.teacher_profile.school
    li = TeacherFactory(display_name="李老师")
    li.teacher_profile.school = school
    li.teacher_profile.save(update_fields=["school"])
    other = TeacherFactory(display_name="张老师")
    rule = StipendRuleFactory(city=school.district.city)
    monday, wednesday = date(2026, 11, 2), date(2026, 11, 4)
    on_duty(wang, monday, (18, 0), (20, 0))
    session_held(wang, start=at(monday, 19), board=((1, "teacher"), (3, "teacher")), end=at(monday, 19, 5), rating=5)
    on_duty(wang, date(2026, 11, 7), (10, 0), (10, 30))
    on_duty(li, wednesday, (9, 0), (9, 50, 20))
    flagged, _ = session_held(li, start=at(wednesday, 9, 10), board=((1, "student"),), end=at(wednesday, 9, 12))
    on_duty(other, date(2026, 11, 3), (10, 0), (10, 40))
    return school, other.teacher_profile.school, rule, flagged.student


def school_rows(rule_id: int) -> list[list]:
    """The rows of the school's sheet after its heading, as openpyxl reads them back: the teacher, the day and
    the counts; then the workload, the money, the credit points and the rule version."""
    total, school = gettext("Month total"), gettext("Whole school")
    counts = [
        ["李老师", datetime(2026, 11, 4), 48.33, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
        ["李老师", total, 48.33, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
        ["王老师", datetime(2026, 11, 2), 115, 3, 1, 0, 1, 0, 0, 0, 0, 1, 5],
        ["王老师", datetime(2026, 11, 7), 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ["王老师", total, 145, 3, 1, 0, 1, 0, 0, 0, 0, 1, 5],
        [school, None, 193.33, 3, 1, 1, 1, 0, 0, 0, 0, 1, 5],
    ]
    paid = [
        [48.33, 1.21, 72.5, 0, 0, 72.5, None, None, 0, rule_id],
        [48.33, 1.21, 72.5, 0, 0, 72.5, 1000, 72.5, 0, rule_id],
        [118, 2.95, 206.5, 5, 0, 211.5, None, None, 3, rule_id],
        [30, 0.75, 60, 0, 0, 60, None, None, 0, rule_id],
        [148, 3.7, 266.5, 5, 0, 271.5, 1111, 301.63, 3, rule_id],
        [196.33, 4.91, 339, 5, 0, 344, None, 374.13, 3, None],
    ]
    return joined(counts, paid)


def joined(counts: list[list], paid: list[list]) -> list[list]:
    return [[*first, *second] for first, second in zip(counts, paid, strict=True)]


def sheet_rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_a_schools_month_as_a_spreadsheet_a_row_per_teacher_and_day_a_summary_per_teacher_and_the_totals():
    school, _, rule, _ = november_at_a_school()
    services.statements_build(NOVEMBER)

    book = openpyxl.load_workbook(io.BytesIO(exports.school_month_xlsx(school, NOVEMBER)))

    assert book.sheetnames == ["2026-11"]
    sheet = book["2026-11"]
    rows = sheet_rows(sheet)
    assert rows[0] == [gettext(heading) for heading in HEADINGS]
    assert rows[1:] == school_rows(rule.pk)
    assert (sheet["B2"].number_format, sheet["C2"].number_format, sheet["P2"].number_format) == (
        "yyyy-mm-dd",
        "0.00",
        "0.00",
    )
    assert [sheet.cell(row=row, column=1).font.b for row in range(2, 8)] == [False, True, False, False, True, True]
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("C2", "A1:W7")


def test_a_schools_month_as_csv_has_the_same_rows_in_utf8_with_a_byte_order_mark():
    school, _, rule, _ = november_at_a_school()
    services.statements_build(NOVEMBER)

    content = exports.school_month_csv(school, NOVEMBER)

    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == [gettext(heading) for heading in HEADINGS]
    total, school_total = gettext("Month total"), gettext("Whole school")
    assert rows[1:] == [
        line.split(",")
        for line in f"""李老师,2026-11-04,48.33,0.00,0,1,0,0,0,0,0,0,0,48.33,1.21,72.50,0.00,0.00,72.50,,,0,{rule.pk}
李老师,{total},48.33,0.00,0,1,0,0,0,0,0,0,0,48.33,1.21,72.50,0.00,0.00,72.50,1000,72.50,0,{rule.pk}
王老师,2026-11-02,115.00,3.00,1,0,1,0,0,0,0,1,5,118.00,2.95,206.50,5.00,0.00,211.50,,,3,{rule.pk}
王老师,2026-11-07,30.00,0.00,0,0,0,0,0,0,0,0,0,30.00,0.75,60.00,0.00,0.00,60.00,,,0,{rule.pk}
王老师,{total},145.00,3.00,1,0,1,0,0,0,0,1,5,148.00,3.70,266.50,5.00,0.00,271.50,1111,301.63,3,{rule.pk}
{school_total},,193.33,3.00,1,1,1,0,0,0,0,1,5,196.33,4.91,339.00,5.00,0.00,344.00,,374.13,3,""".splitlines()
    ]


def test_a_citys_month_has_a_sheet_of_school_totals_and_one_of_every_schools_rows():
    school, other, rule, _ = november_at_a_school()
    services.statements_build(NOVEMBER)

    book = openpyxl.load_workbook(io.BytesIO(exports.city_month_xlsx(school.district.city, NOVEMBER)))

    assert book.sheetnames == [gettext("Totals by school"), gettext("Teachers' days")]
    totals, details = (sheet_rows(sheet) for sheet in book.worksheets)
    places = {school.pk: [school.district.name, school.name], other.pk: [other.district.name, other.name]}
    first, second = sorted([school, other], key=lambda each: (each.district.name, each.name))
    figures = {
        school.pk: [2, 193.33, 3, 1, 1, 1, 0, 0, 0, 0, 1, 5, 196.33, 4.91, 339, 5, 0, 344, 374.13, 3],
        other.pk: [1, 40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 1, 60, 0, 0, 60, 60, 0],
    }
    city_figures = [233.33, 3, 1, 1, 1, 0, 0, 0, 0, 1, 5, 236.33, 5.91, 399, 5, 0, 404]
    assert totals == [
        [gettext("District or county"), gettext("School name"), gettext("Teachers stated")]
        + [gettext(heading) for heading in HEADINGS[2:19] + HEADINGS[20:22]],
        places[first.pk] + figures[first.pk],
        places[second.pk] + figures[second.pk],
        [gettext("Whole city"), None, None, *city_figures, 434.13, 3],
    ]
    other_rows = joined(
        [
            ["张老师", datetime(2026, 11, 3), 40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ["张老师", gettext("Month total"), 40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            [gettext("Whole school"), None, 40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ],
        [
            [40, 1, 60, 0, 0, 60, None, None, 0, rule.pk],
            [40, 1, 60, 0, 0, 60, 1000, 60, 0, rule.pk],
            [40, 1, 60, 0, 0, 60, None, 60, 0, None],
        ],
    )
    rows = {school.pk: school_rows(rule.pk), other.pk: other_rows}
    assert details == [
        [gettext("District or county"), gettext("School name"), *(gettext(heading) for heading in HEADINGS)],
        *(places[first.pk] + row for row in rows[first.pk]),
        *(places[second.pk] + row for row in rows[second.pk]),
        [gettext("Whole city"), None, None, None, *city_figures, None, 434.13, 3, None],
    ]


def pdf_text(content: bytes) -> str:
    """The PDF's text, its whitespace (line and cell breaks) made single spaces."""
    document = pypdfium2.PdfDocument(content)
    return " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in document)


def test_the_month_notice_shows_each_teachers_workload_and_the_schools_totals_and_no_student():
    school, _, _, student = november_at_a_school()
    services.statements_build(NOVEMBER)

    text = pdf_text(exports.school_month_notice_pdf(school, NOVEMBER))

    title = gettext("%(school)s: the teachers' live tutoring workload, %(period)s") % {
        "school": school.name,
        "period": gettext("month %(month)d of %(year)d") % {"month": 11, "year": 2026},
    }
    assert "".join(text.split()).startswith("".join(title.split()))  # a wrapped title reads with a space
    # Row number, name, class hours, minutes, sessions counted, students served, lectures, credit points.
    assert "1 李老师 1.21 48.33 0 0 0 0 2 王老师 3.70 148.00 1 1 0 3" in text
    assert f"{gettext('Whole school')} 4.91 196.33 1 1 0 3" in text
    assert gettext("Intended pay (yuan)") not in text
    assert exports.figures_hash(school, NOVEMBER) in "".join(text.split())
    assert (student.display_name in text, student.username in text) == (False, False)


def test_the_term_notice_adds_up_the_months_with_each_teachers_intended_pay():
    school, *_ = november_at_a_school()
    teacher = school.teachers.get(user__display_name="王老师").user
    on_duty(teacher, date(2026, 10, 30), (19, 0), (19, 40))  # a Friday evening: 40 min at 70 yuan
    services.statements_build(OCTOBER)
    services.statements_build(NOVEMBER)

    text = pdf_text(exports.school_term_notice_pdf(school, [NOVEMBER, OCTOBER]))

    period = gettext("%(first)s to %(last)s") % {
        "first": gettext("month %(month)d of %(year)d") % {"month": 10, "year": 2026},
        "last": gettext("month %(month)d of %(year)d") % {"month": 11, "year": 2026},
    }
    title = gettext("%(school)s: the teachers' live tutoring workload and intended pay, %(period)s")
    # A long title wraps, and a wrap reads as a space: compared without whitespace.
    assert "".join(text.split()).startswith("".join((title % {"school": school.name, "period": period}).split()))
    assert "1 李老师 1.21 48.33 0 0 0 0 72.50 2 王老师 4.70 188.00 1 1 0 3 371.63" in text
    assert f"{gettext('Whole school')} 5.91 236.33 1 1 0 3 444.13" in text
    checksums = "".join(text.split())
    assert (
        exports.figures_hash(school, OCTOBER) in checksums,
        exports.figures_hash(school, NOVEMBER) in checksums,
    ) == (
        True,
        True,
    )


def test_the_figures_hash_is_the_same_when_the_month_is_built_again_and_changes_with_any_figure_shown():
    school, other, *_ = november_at_a_school()
    services.statements_build(NOVEMBER)
    published = exports.figures_hash(school, NOVEMBER)

    services.statements_build(NOVEMBER)

    assert len(published) == 64
    assert exports.figures_hash(school, NOVEMBER) == published
    StatementDay.objects.filter(statement__school=other).update(time_fen=6001)  # another school's figure
    assert exports.figures_hash(school, NOVEMBER) == published
    StatementDay.objects.filter(day=date(2026, 11, 4)).update(time_fen=7251)
    assert exports.figures_hash(school, NOVEMBER) != published


def test_a_month_without_statements_is_refused():
    school, *_ = november_at_a_school()
    services.statements_build(NOVEMBER)

    with pytest.raises(ServiceError) as refused:
        exports.school_month_csv(school, date(2026, 12, 1))

    assert (refused.value.code, refused.value.status) == ("no_statements", 404)


def export(*arguments: str) -> None:
    call_command("stipends_export", *arguments)


@pytest.mark.parametrize("file_format", ["xlsx", "csv", "pdf"])
def test_the_command_writes_a_schools_month(tmp_path, capsys, file_format):
    school, *_ = november_at_a_school()
    services.statements_build(NOVEMBER)
    out = tmp_path / f"2026-11.{file_format}"

    export("--school", str(school.pk), "--month", "2026-11", "--format", file_format, "--out", str(out))

    content = out.read_bytes()
    assert capsys.readouterr().out == f"{out}: {len(content)} bytes\n"
    if file_format == "xlsx":
        assert sheet_rows(openpyxl.load_workbook(io.BytesIO(content))["2026-11"])[-1][:3] == [
            gettext("Whole school"),
            None,
            193.33,
        ]
    elif file_format == "csv":
        assert content == exports.school_month_csv(school, NOVEMBER)
    else:
        assert "1 李老师 1.21 48.33 0 0 0 0 2 王老师 3.70 148.00 1 1 0 3" in pdf_text(content)


def test_the_command_writes_a_citys_month(tmp_path):
    school, *_ = november_at_a_school()
    services.statements_build(NOVEMBER)
    out = tmp_path / "city.xlsx"

    export("--city", str(school.district.city_id), "--month", "2026-11", "--format", "xlsx", "--out", str(out))

    assert openpyxl.load_workbook(out).sheetnames == [gettext("Totals by school"), gettext("Teachers' days")]


def test_the_command_refuses_an_unknown_place_a_month_without_statements_and_a_citys_pdf_and_writes_nothing(
    tmp_path,
):
    school, *_ = november_at_a_school()
    services.statements_build(NOVEMBER)
    city_id = school.district.city_id
    out = tmp_path / "export"
    refusals = [
        (
            ["--school", "0", "--month", "2026-11", "--format", "csv"],
            gettext("There is no school with the id %(id)d.") % {"id": 0},
        ),
        (
            ["--school", str(school.pk), "--month", "2026-12", "--format", "xlsx"],
            gettext("%(school)s has no monthly statements for %(period)s.")
            % {"school": school.name, "period": gettext("month %(month)d of %(year)d") % {"month": 12, "year": 2026}},
        ),
        (
            ["--city", str(city_id), "--month", "2026-12", "--format", "xlsx"],
            gettext("%(city)s has no monthly statements for %(period)s.")
            % {
                "city": school.district.city.name,
                "period": gettext("month %(month)d of %(year)d") % {"month": 12, "year": 2026},
            },
        ),
        (
            ["--city", str(city_id + 1), "--month", "2026-11", "--format", "xlsx"],
            gettext("There is no city with the id %(id)d.") % {"id": city_id + 1},
        ),
        (
            ["--city", str(city_id), "--month", "2026-11", "--format", "pdf"],
            gettext("A city's month is exported as XLSX only."),
        ),
        (["--school", str(school.pk), "--month", "11/2026", "--format", "csv"], gettext("Give the month as YYYY-MM.")),
    ]

    for arguments, message in refusals:
        with pytest.raises(CommandError) as refused:
            export(*arguments, "--out", str(out))
        assert (str(refused.value), out.exists()) == (message, False)
