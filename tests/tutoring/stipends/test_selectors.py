from datetime import date
from decimal import Decimal

import pytest

from tests.factories import (
    NOVEMBER_2026,
    SchoolFactory,
    StipendRuleFactory,
    StudentFactory,
    TeacherFactory,
    local_time,
    month_of_work,
    on_duty,
    presence,
    school_administrator,
    session_held,
)
from tutoring.routing.models import RoutingFact
from tutoring.stipends import services
from tutoring.stipends.models import Adjustment, SchoolMonth
from tutoring.stipends.selectors import school_month_flags, teacher_statements, teacher_term, term_months

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 11, 2)


def sessions(teacher, count: int, *, student=None, board=((1, "teacher"), (3, "teacher")), rating=None) -> None:
    for number in range(count):
        start = local_time(MONDAY, 8 + number)
        session_held(
            teacher, start=start, board=board, end=local_time(MONDAY, 8 + number, 5), rating=rating, student=student
        )


def test_reviewers_see_each_flag_with_its_count_and_quiet_teachers_none():
    suspect, quiet = TeacherFactory(), TeacherFactory()
    school = suspect.teacher_profile.school
    quiet.teacher_profile.school = school
    quiet.teacher_profile.save()
    StipendRuleFactory(city=school.district.city)
    regular = StudentFactory()
    sessions(suspect, 1, board=((1, "student"),))  # the teacher never wrote or spoke
    sessions(suspect, 3, student=regular, board=((0.1, "teacher"),))  # 6 seconds each, the same student
    sessions(suspect, 3, student=regular, rating=5)
    sessions(suspect, 1, rating=4)
    for minute in range(5):
        presence(suspect, RoutingFact.Kind.EXPIRED, local_time(MONDAY, 20, minute))
    for peer in [quiet, *TeacherFactory.create_batch(4)]:
        on_duty(peer, MONDAY, (19, 0), (19, 30))
    on_duty(suspect, date(2026, 11, 3), (8, 0), (20, 0))
    services.statements_build(NOVEMBER_2026)

    flags = school_month_flags(SchoolMonth.objects.get(school=school))

    assert flags == {
        suspect.pk: [
            {"code": "no_activity", "count": 1},
            {"code": "short_repeated", "count": 3},
            {"code": "offers_expired", "count": 5},
            {"code": "ratings_one_student", "count": 3},
            {"code": "far_above_peers", "count": 24},
        ],
        quiet.pk: [],
    }


@pytest.mark.parametrize(
    ("month", "first", "last"),
    [
        (date(2026, 11, 1), date(2026, 9, 1), date(2027, 1, 1)),
        (date(2027, 1, 1), date(2026, 9, 1), date(2027, 1, 1)),
        (date(2027, 3, 1), date(2027, 2, 1), date(2027, 8, 1)),
    ],
)
def test_terms_run_from_september_to_january_and_february_to_august(month, first, last):
    months = term_months(month)

    assert (months[0], months[-1], len(months)) == (first, last, 5 if first.month == 9 else 7)


def test_a_teachers_term_adds_up_its_months_and_adjustments():
    teacher, school, *_ = month_of_work()
    services.statements_build(date(2026, 10, 1))
    services.statements_build(NOVEMBER_2026)
    Adjustment.objects.create(
        teacher=teacher, school=school, month=NOVEMBER_2026, amount_fen=-2, credit=1, reason="复核"
    )

    assert teacher_term(teacher, NOVEMBER_2026) == {
        "first": date(2026, 9, 1),
        "last": date(2027, 1, 1),
        "months": 2,
        "workload_ms": (40 + 148) * 60_000,
        "class_hours": Decimal("4.70"),
        "total_fen": 7000 + 31802 - 2,
        "credit": 0 + 3 + 1,
    }


def test_a_teacher_who_changed_schools_sees_each_months_status_and_corrections_of_its_school():
    teacher, october_school, *_ = month_of_work()
    november_school = SchoolFactory(district=october_school.district)
    StipendRuleFactory(
        city=november_school.district.city, school=november_school, effective_from=NOVEMBER_2026, evening_fen=7500
    )
    colleague = TeacherFactory()  # at the school the teacher moves to, with an October of their own
    colleague.teacher_profile.school = november_school
    colleague.teacher_profile.save()
    on_duty(colleague, date(2026, 10, 30), (19, 0), (19, 30))
    services.statements_build(date(2026, 10, 1))
    services.review_start(
        school_month_id=SchoolMonth.objects.get(school=october_school).pk, user=school_administrator(october_school)
    )
    teacher.teacher_profile.school = november_school
    teacher.teacher_profile.save()
    services.statements_build(NOVEMBER_2026)
    Adjustment.objects.create(
        teacher=teacher, school=november_school, month=NOVEMBER_2026, amount_fen=-2, credit=1, reason="复核"
    )

    rows = teacher_statements(teacher)

    assert [
        (row["statement"].month, row["statement"].school_id, row["status"], row["total_fen"], row["credit"])
        for row in rows
    ] == [
        (NOVEMBER_2026, november_school.pk, SchoolMonth.Status.DRAFT, 31802 - 2, 3 + 1),
        (date(2026, 10, 1), october_school.pk, SchoolMonth.Status.REVIEW, 7000, 0),
    ]
