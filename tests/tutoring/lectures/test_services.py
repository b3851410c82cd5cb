from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from tests.factories import (
    CityFactory,
    DistrictFactory,
    LecturerFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    grade_band,
    subject,
)
from tutoring.core.errors import ServiceError
from tutoring.lectures import selectors, services
from tutoring.lectures.models import Lecture, LectureConnection, LectureEvent, LectureFact, LectureSignup

pytestmark = pytest.mark.django_db


def scheduled(**fields) -> Lecture:
    values = {
        "title": "分数的意义",
        "lecturer": LecturerFactory(),
        "subject": subject("math"),
        "grade_band": grade_band("primary-middle"),
        "city": CityFactory(),
        "starts_at": timezone.now() + timedelta(hours=1),
        "planned_minutes": 40,
    }
    return services.lecture_save(lecture=Lecture(**(values | fields)))


def stroke(number: int) -> dict:
    return {
        "v": 1,
        "type": "board.stroke",
        "stroke": f"t{number}",
        "page": 0,
        "tool": "pen",
        "color": "#1a1a1a",
        "width": 4,
        "points": [[10, 10, 0], [20, 20, 16]],
        "end": True,
    }


def facts(lecture: Lecture) -> list[tuple[str, int | None]]:
    return list(LectureFact.objects.filter(lecture=lecture).order_by("id").values_list("kind", "user_id"))


def test_a_lecture_is_scheduled_with_a_fact():
    lecture = scheduled()

    assert (lecture.status, lecture.last_seq) == ("scheduled", 0)
    assert facts(lecture) == [("scheduled", None)]


def test_only_a_teacher_with_the_lecturer_permission_lectures():
    with pytest.raises(ServiceError) as refused:
        scheduled(lecturer=TeacherFactory())

    assert refused.value.code == "not_a_lecturer"
    assert (Lecture.objects.count(), LectureFact.objects.count()) == (0, 0)


def test_a_subject_is_lectured_only_in_grades_it_is_taught():
    with pytest.raises(ServiceError) as refused:
        scheduled(subject=subject("physics"), grade_band=grade_band("primary-lower"))

    assert (refused.value.code, Lecture.objects.count()) == ("unknown_grade", 0)


def test_students_see_the_lectures_of_their_grade_and_place_only():
    school = SchoolFactory()
    district, city = school.district, school.district.city
    student = StudentFactory(profile__school=school, profile__grade=3)
    for_city = scheduled(city=city)
    for_district = scheduled(city=city, district=district)
    for_school = scheduled(city=city, district=district, school=school)
    scheduled(city=city, district=DistrictFactory(city=city))  # another district
    scheduled(city=city, grade_band=grade_band("primary-upper"))  # other grades
    scheduled(city=CityFactory(name="杭州市"))  # another city

    shown = selectors.lecture_list_for_student(student=student)

    assert [lecture.pk for lecture in shown] == [for_city.pk, for_district.pk, for_school.pk]


def test_signing_up_twice_is_one_sign_up_and_moving_tells_those_who_did(django_capture_on_commit_callbacks):
    lecture = scheduled()
    student = StudentFactory()
    services.lecture_signup(lecture=lecture, student=student)
    services.lecture_signup(lecture=lecture, student=student)
    lecture.starts_at += timedelta(minutes=30)

    with django_capture_on_commit_callbacks() as callbacks:
        services.lecture_save(lecture=lecture)

    assert LectureSignup.objects.filter(lecture=lecture).count() == 1
    assert facts(lecture) == [("scheduled", None), ("signed_up", student.pk), ("moved", None)]
    assert len(callbacks) == 1


def test_a_cancelled_lecture_can_no_longer_be_started_or_signed_up_for():
    lecture = scheduled()
    services.lecture_cancel(lecture_id=lecture.pk, by=lecture.lecturer)

    with pytest.raises(ServiceError) as start:
        services.lecture_start(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    with pytest.raises(ServiceError) as signup:
        services.lecture_signup(lecture=Lecture.objects.get(pk=lecture.pk), student=StudentFactory())

    assert (start.value.code, signup.value.code) == ("not_scheduled", "lecture_over")
    assert Lecture.objects.get(pk=lecture.pk).status == "cancelled"
    assert LectureSignup.objects.count() == 0


def test_the_studio_writes_numbered_board_events_only_while_live():
    lecture = scheduled()
    with pytest.raises(ServiceError):
        services.lecture_end(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    before = services.lecture_events_append(lecture_id=lecture.pk, contents=[stroke(1)])
    services.lecture_start(lecturer=lecture.lecturer, lecture_id=lecture.pk)

    outcomes = services.lecture_events_append(
        lecture_id=lecture.pk, contents=[stroke(1), {"v": 1, "type": "chat.message", "text": "hi"}, stroke(2)]
    )

    assert isinstance(before[0], ServiceError) and before[0].code == "not_live"
    assert [outcome["seq"] if isinstance(outcome, dict) else outcome.code for outcome in outcomes] == [
        1,
        "not_allowed",
        2,
    ]
    assert list(LectureEvent.objects.filter(lecture=lecture).values_list("seq", "type")) == [
        (1, "board.stroke"),
        (2, "board.stroke"),
    ]
    assert Lecture.objects.get(pk=lecture.pk).last_seq == 2


def test_joining_and_leaving_are_facts_with_the_seconds_watched():
    lecture = scheduled()
    student = StudentFactory()
    services.lecture_join(lecture=lecture, user=student, channel_name="a")
    services.lecture_join(lecture=lecture, user=student, channel_name="b")  # a second tab
    services.lecture_leave(channel_name="a", at=timezone.now() + timedelta(minutes=5))
    joined = LectureFact.objects.get(kind="joined")

    services.lecture_leave(channel_name="b", at=joined.at + timedelta(minutes=12))

    assert facts(lecture)[1:] == [("joined", student.pk), ("left", student.pk)]
    assert LectureFact.objects.get(kind="left").data == {"role": "viewer", "seconds": 720.0}
    assert LectureConnection.objects.filter(left_at__isnull=True).count() == 0
    assert selectors.lecture_audience(lecture.pk) == 0


def test_the_log_and_the_facts_are_append_only():
    lecture = scheduled()
    services.lecture_start(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    services.lecture_events_append(lecture_id=lecture.pk, contents=[stroke(1)])

    changes = ((LectureEvent.objects.all(), {"at_ms": 5}), (LectureFact.objects.all(), {"at": timezone.now()}))
    for rows, change in changes:
        with pytest.raises(DatabaseError), transaction.atomic():
            rows.update(**change)
        with pytest.raises(DatabaseError), transaction.atomic():
            rows.delete()
    assert (LectureEvent.objects.count(), LectureFact.objects.count()) == (1, 2)
