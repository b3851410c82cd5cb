from datetime import date
from fractions import Fraction

import pytest

from tutoring.stipends.models import LedgerLine, StipendRule
from tutoring.stipends.pricing import (
    class_hours,
    day_kind,
    day_totals,
    lecture_fen,
    quality_permille,
    rounded,
    time_fen,
    yuan,
)

MINUTE = 60_000


def rule(**fields) -> StipendRule:
    defaults = {
        "class_hour_minutes": 40,
        "evening_from_hour": 17,
        "weekday_fen": 6000,
        "evening_fen": 7000,
        "weekend_fen": 8000,
        "holiday_fen": 9000,
        "holidays": ["2026-10-01"],
        "lecture_bands": [[0, 5000], [100, 10000], [500, 20000]],
    }
    return StipendRule(**(defaults | fields))


def test_days_are_weekdays_weekends_or_the_rules_holidays():
    assert [day_kind(date(2026, 10, day), rule()) for day in (1, 2, 3, 5)] == [
        "holiday",
        "weekday",
        "weekend",
        "weekday",
    ]


def test_time_is_priced_per_slot_by_the_class_hour_and_floored():
    by_hour = {"16": 30 * MINUTE, "17": 60 * MINUTE, "18": 15 * MINUTE + 7}

    # 30 min at 6000 / 40 min = 4500; 75 min (and 7 ms) at 7000 / 40 min = 13125.02 → 13125
    assert time_fen(date(2026, 10, 5), by_hour, rule()) == 4500 + 13125
    assert time_fen(date(2026, 10, 5), by_hour, rule(class_hour_minutes=45)) == 4000 + 11666
    assert time_fen(date(2026, 10, 3), by_hour, rule()) == 21000  # a Saturday: 105 min at 8000 / 40 min
    assert time_fen(date(2026, 10, 1), by_hour, rule()) == 23625  # a holiday: 105 min at 9000 / 40 min


@pytest.mark.parametrize(("audience", "fen"), [(0, 5000), (99, 5000), (100, 10000), (800, 20000)])
def test_a_lecture_is_paid_the_fee_of_the_largest_band_it_reaches(audience, fen):
    assert lecture_fen(audience, rule()) == fen


def test_a_lecture_below_every_band_is_paid_nothing():
    assert lecture_fen(20, rule(lecture_bands=[[50, 3000]])) == 0


@pytest.mark.parametrize(
    ("rating_sum", "ratings", "permille"),
    [
        (0, 0, 1000),  # no rating: the full rate
        (9, 2, 1000),  # a mean of 4.5, the reference
        (10, 2, 1111),  # 5.0 / 4.5, floored
        (2, 2, 800),  # 1.0 / 4.5 = 222 ‰, held at the floor
    ],
)
def test_the_quality_factor_is_the_mean_rating_against_the_reference_within_floor_and_cap(
    rating_sum, ratings, permille
):
    assert quality_permille(rating_sum, ratings, rule(quality_reference_tenths=45)) == permille


def test_the_quality_factor_stops_at_the_cap():
    assert quality_permille(10, 2, rule(quality_reference_tenths=40, quality_cap_permille=1200)) == 1200


def test_day_totals_count_flagged_sessions_apart_and_each_student_once():
    def line(kind, **fields):
        return {"kind": kind, "counted_ms": 0, "students": 0, "rating": None, "flag": "", "details": {}} | fields

    lines = [
        line(LedgerLine.Kind.DUTY, counted_ms=10 * MINUTE, details={"by_hour": {"19": 10 * MINUTE}}),
        line("session", counted_ms=3 * MINUTE, rating=5, details={"student": 7, "by_hour": {"19": 3 * MINUTE}}),
        line("session", counted_ms=2 * MINUTE, rating=3, details={"student": 7, "by_hour": {"20": 2 * MINUTE}}),
        line("session", flag="short", rating=4, details={"student": 8, "by_hour": {}}),
        line("lecture", counted_ms=40 * MINUTE, students=120),
        line("video"),
        line("helped", students=1),
    ]

    assert day_totals(lines) == {
        "duty_ms": 10 * MINUTE,
        "session_ms": 5 * MINUTE,
        "sessions": 2,
        "flagged": 1,
        "lectures": 1,
        "audience": 120,
        "videos": 1,
        "helped": 1,
        "ratings": 3,
        "rating_sum": 12,
        "good_ratings": 2,
        "students": 1,
        "by_hour": {"19": 13 * MINUTE, "20": 2 * MINUTE},
        "audiences": [120],
    }


@pytest.mark.parametrize(("fen", "text"), [(12345, "123.45"), (5, "0.05"), (-5, "-0.05"), (0, "0.00"), (-100, "-1.00")])
def test_fen_are_yuan_with_two_decimals_exactly(fen, text):
    assert str(yuan(fen)) == text


def test_class_hours_sum_days_of_40_and_45_minute_hours_exactly_and_round_half_up_once():
    # 60 min of 40-minute hours (1.5) and 60 min of 45-minute hours (1.333…): 2.8333… → 2.83
    assert class_hours([(60 * MINUTE, 40), (60 * MINUTE, 45)]) == Fraction(17, 6)
    assert str(rounded(Fraction(17, 6))) == "2.83"
    assert str(rounded(Fraction(29, 24))) == "1.21"  # 1.2083…
    assert str(rounded(Fraction(1, 200))) == "0.01"  # half up
