from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.factories import TeacherFactory, presence
from tests.tutoring.insights.engagement_history import QUIET_DAY, engagement_history
from tests.tutoring.insights.history import DAY, DAY_BEFORE, at
from tutoring.insights.engagement_rollups import peak_audience
from tutoring.insights.models import CoverageHour, LectureFigures, RatingComment, RollupMark, StudentDay
from tutoring.insights.rollups import MARK, insights_refresh
from tutoring.lectures.models import LectureFact
from tutoring.routing.models import Duty, RoutingFact
from tutoring.sessions.models import TutoringSession

pytestmark = pytest.mark.django_db

LATER = at(DAY + timedelta(days=3), 12)


def test_each_student_counts_once_a_day_and_subject_with_their_profiles_school_and_grade():
    built = engagement_history()

    insights_refresh(now=LATER)

    seeded = built.seeded
    rows = sorted(StudentDay.objects.values_list("day", "student_id", "school_id", "grade", "questions"))
    students = [student.pk for student in seeded.students]
    small = seeded.questions["small"].student_id
    assert rows == sorted(
        [
            (QUIET_DAY, StudentDay.objects.get(day=QUIET_DAY).student_id, built.quiet_school.pk, 3, 1),
            (DAY_BEFORE, students[0], seeded.school.pk, 3, 1),
            (DAY, students[0], seeded.school.pk, 3, 1),
            (DAY, students[1], seeded.school.pk, 3, 1),
            (DAY, students[2], seeded.school.pk, 3, 1),
            (DAY, students[3], seeded.school.pk, 3, 2),  # two questions, one row
            (DAY, students[4], seeded.school.pk, 3, 1),
            (DAY, built.older[0].pk, seeded.school.pk, 4, 1),
            (DAY, built.older[1].pk, seeded.school.pk, 4, 1),
            (DAY, small, seeded.small_school.pk, 3, 1),
        ]
    )


def test_only_comments_written_with_a_rating_of_a_first_session_are_kept_trimmed():
    built = engagement_history()

    insights_refresh(now=LATER)

    rated = TutoringSession.objects.get(question=built.seeded.questions["rated"])
    assert list(RatingComment.objects.values_list("day", "session_id", "school_id", "grade", "stars", "comment")) == [
        (DAY, rated.pk, built.seeded.school.pk, 3, 5, "讲得很清楚，谢谢老师")
    ]
    assert RatingComment.objects.get().rated_at == rated.rated_at


def test_duty_is_cut_at_hour_boundaries_and_midnight_by_the_shift_or_the_volunteers_school_city():
    built = engagement_history()

    insights_refresh(now=LATER)

    city = built.seeded.school.district.city_id
    rows = sorted(
        CoverageHour.objects.values_list(
            "day", "hour", "weekday", "city_id", "subject_id", "grade_band_id", "teacher_seconds"
        )
    )
    shift = built.shift  # next week's shift shares the duty shift's subject and band
    assert rows == [
        (DAY_BEFORE, 23, 7, city, None, None, 1800.0),
        (DAY, 0, 1, city, None, None, 2700.0),
        (DAY, 19, 1, city, shift.subject_id, shift.grade_band_id, 1800.0),
        (DAY, 20, 1, city, shift.subject_id, shift.grade_band_id, 3600.0),
        (DAY, 21, 1, city, shift.subject_id, shift.grade_band_id, 900.0),
    ]


def test_an_open_duty_counts_until_now_and_the_day_is_recomputed_while_it_lasts():
    built = engagement_history()
    insights_refresh(now=LATER)
    teacher = TeacherFactory()
    teacher.teacher_profile.school = built.seeded.school
    teacher.teacher_profile.save(update_fields=["school"])
    Duty.objects.create(teacher=teacher, available=True, on_duty=True)
    presence(teacher, RoutingFact.Kind.PRESENCE_STARTED, at(LATER.date(), 10, 30))

    days = insights_refresh(now=LATER)

    assert LATER.date() in days
    assert list(CoverageHour.objects.filter(day=LATER.date()).values_list("hour", "teacher_seconds")) == [
        (10, 1800.0),
        (11, 3600.0),
    ]


def test_lectures_are_counted_with_their_live_audience_peak_and_replays():
    built = engagement_history()

    insights_refresh(now=LATER)

    rows = {
        row.lecture_id: (
            row.day,
            row.minutes,
            row.signups,
            row.viewers,
            row.peak,
            row.replay_viewers,
            row.replay_seconds,
        )
        for row in LectureFigures.objects.all()
    }
    assert rows == {
        built.lecture.pk: (DAY, 45.0, 3, 6, 5, 2, 420.0),
        built.small_lecture.pk: (DAY, 30.0, 0, 2, 2, 0, 0.0),
    }


def test_a_replay_watched_later_recomputes_the_day_the_lecture_was_held():
    built = engagement_history()
    insights_refresh(now=timezone.now() + timedelta(minutes=10))  # everything so far is older than the overlap
    assert insights_refresh(now=timezone.now() + timedelta(minutes=20)) == []

    LectureFact.objects.create(
        kind=LectureFact.Kind.REPLAY_WATCHED,
        lecture=built.small_lecture,
        user=built.older[4],
        at=RollupMark.objects.get(name=MARK).at,
        data={"seconds": 90.0},
    )

    assert insights_refresh() == [DAY]
    row = LectureFigures.objects.get(lecture=built.small_lecture)
    assert (row.replay_viewers, row.replay_seconds) == (1, 90.0)


def test_the_peak_audience_ignores_a_second_join_and_a_leave_of_someone_not_watching():
    moment = datetime(2026, 11, 2, 19)

    assert peak_audience([(moment, True, 1), (moment, True, 1), (moment, False, 2), (moment, True, 2)]) == 2
    assert peak_audience([]) == 0
