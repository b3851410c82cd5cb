from datetime import timedelta

import pytest
from django.utils import timezone

from tests.tutoring.insights.history import DAY, DAY_BEFORE, history
from tutoring.insights.models import DayFigures, DaySpread, HourFigures, PointFigures, RollupMark
from tutoring.insights.rollups import MARK, insights_rebuild, insights_refresh
from tutoring.sessions.models import TutoringSession

pytestmark = pytest.mark.django_db

COUNTED = [
    "asked", "by_text", "by_photo", "by_voice", "understood", "matched_same", "matched_similar", "matched_none",
    "solved_by_library", "sent_to_teacher", "answered", "cancelled", "accepted", "wait_seconds", "sessions",
    "session_seconds", "rating_1", "rating_2", "rating_3", "rating_4", "rating_5",
]  # fmt: skip


def counted(row) -> dict:
    return {column: getattr(row, column) for column in COUNTED if getattr(row, column)}


def test_each_day_is_counted_by_school_subject_and_grade_with_the_spreads_of_waits_and_sessions():
    seeded = history()

    days = insights_refresh()

    assert days == [DAY_BEFORE, DAY]
    rows = {(row.day, row.school_id): counted(row) for row in DayFigures.objects.all()}
    assert rows == {
        (DAY, seeded.school.pk): {
            "asked": 5, "by_text": 3, "by_photo": 1, "by_voice": 1, "understood": 4, "matched_same": 1,
            "matched_similar": 1, "matched_none": 2, "solved_by_library": 1, "sent_to_teacher": 3, "answered": 2,
            "cancelled": 1, "accepted": 2, "wait_seconds": 102.0, "sessions": 2, "session_seconds": 900.0,
            "rating_5": 1,
        },
        (DAY, seeded.small_school.pk): {"asked": 1, "by_text": 1, "understood": 1, "matched_none": 1},
        (DAY_BEFORE, seeded.school.pk): {
            "asked": 1, "by_text": 1, "understood": 1, "matched_similar": 1, "solved_by_library": 1,
        },
    }  # fmt: skip
    # Waits of 12 s and 90 s, sessions of 300 s and 600 s, each in the bucket of its upper bound.
    assert sorted(DaySpread.objects.values_list("measure", "bucket", "count")) == [
        ("session", 14, 1), ("session", 15, 1), ("wait", 6, 1), ("wait", 11, 1),
    ]  # fmt: skip
    hours = {(row.day, row.hour, row.weekday): row.asked for row in HourFigures.objects.all()}
    assert hours == {(DAY, 20, 1): 3, (DAY, 21, 1): 2, (DAY, 9, 1): 1, (DAY_BEFORE, 19, 7): 1}
    points = {(row.point_id, row.grade): counted(row) for row in PointFigures.objects.all()}
    assert points == {
        (seeded.point.pk, 3): {
            "asked": 2, "by_photo": 1, "by_voice": 1, "understood": 2, "matched_similar": 1, "matched_none": 1,
            "sent_to_teacher": 2, "answered": 2, "accepted": 2, "wait_seconds": 102.0, "sessions": 2,
            "session_seconds": 900.0, "rating_5": 1,
        },
        (seeded.other_point.pk, 3): {
            "asked": 1, "by_voice": 1, "understood": 1, "matched_none": 1, "sent_to_teacher": 1, "answered": 1,
            "accepted": 1, "wait_seconds": 90.0, "sessions": 1, "session_seconds": 300.0,
        },
    }  # fmt: skip


def test_a_refresh_recomputes_only_the_days_whose_questions_changed_since_the_last():
    seeded = history()
    insights_refresh(now=timezone.now() + timedelta(minutes=10))  # everything so far is older than the overlap
    assert insights_refresh(now=timezone.now() + timedelta(minutes=20)) == []

    rated_at = RollupMark.objects.get(name=MARK).at  # the student rates the unrated session now
    TutoringSession.objects.filter(question=seeded.questions["unrated"]).update(rating=2, rated_at=rated_at)

    assert insights_refresh() == [DAY]
    row = DayFigures.objects.get(day=DAY, school=seeded.school)
    assert (row.rating_2, row.rating_5, row.sessions) == (1, 1, 2)


def test_a_rebuild_recomputes_every_day_from_the_facts():
    history()
    insights_refresh()
    DayFigures.objects.update(asked=99)

    assert insights_rebuild() == [DAY_BEFORE, DAY]
    assert sorted(DayFigures.objects.values_list("asked", flat=True)) == [1, 1, 5]
