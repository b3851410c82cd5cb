"""The live figures of a place, counted from the apps' current state: each figure, its edge cases (a cancelled
question, an ended session, an ended lecture, a teacher off duty), the places a viewer may see, and small
groups."""

import re

import pytest
from django.http import Http404

from tests.embedded import embedded_call
from tests.factories import (
    AdministratorFactory,
    CityFactory,
    DistrictFactory,
    LectureFactory,
    QuestionFactory,
    SchoolFactory,
    ShiftFactory,
    StaffFactory,
    StudentFactory,
    TeacherFactory,
    opened_session,
    school_administrator,
)
from tutoring.core.errors import ServiceError
from tutoring.insights.live import LIVE_FIGURES, live_figures, live_figures_read
from tutoring.insights.selectors import insights_filters
from tutoring.lectures import services as lectures
from tutoring.questions.models import Question
from tutoring.routing import services as routing
from tutoring.sessions.services import session_end, session_join

pytestmark = pytest.mark.django_db


def waiting(student):
    """The student's question waits in the live queue."""
    question = QuestionFactory(student=student, status=Question.Status.WAITING_TEACHER)
    routing.ticket_enqueue(question=question)
    return question


def in_room(student, *, ended: bool = False):
    """A teacher on duty for the city took the student's question; the student's socket is in the room."""
    session = opened_session(student=student)
    session_join(session=session, user=student, channel_name=f"room-{student.pk}")
    if ended:
        session_end(teacher=session.teacher, ticket_id=session.ticket_id)
    return session


def duty(available: bool = True, **shift):
    teacher = ShiftFactory(**shift).teacher
    routing.duty_connect(teacher=teacher, channel_name=f"console-{teacher.pk}")
    routing.duty_available_set(teacher=teacher, available=True)
    if not available:
        routing.duty_available_set(teacher=teacher, available=False)
    return teacher


def live_lecture(*watchers, ended: bool = False, **scope):
    lecture = LectureFactory(**scope)
    lectures.lecture_start(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    for student in watchers:
        lectures.lecture_join(lecture=lecture, user=student, channel_name=f"lecture-{lecture.pk}-{student.pk}")
    if ended:
        lectures.lecture_end(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    return lecture


def city():
    """Two districts: schools A and B (five students each) in the first, school C (two students) in the second;
    the students of A are each live in a different way."""
    first, second = DistrictFactory(), DistrictFactory()
    a, b, c = SchoolFactory(district=first), SchoolFactory(district=first), SchoolFactory(district=second)
    at_a = [StudentFactory(profile__school=a) for _ in range(5)]
    at_b = [StudentFactory(profile__school=b) for _ in range(5)]
    at_c = [StudentFactory(profile__school=c) for _ in range(2)]
    in_room(at_a[2])  # a teacher for the city in a session with this student
    in_room(at_a[3], ended=True)  # and another, whose session ended
    duty(district=second)  # on duty for the second district only
    duty(available=False)  # went on duty, then off
    waiting(at_a[0])
    routing.ticket_cancel(question=waiting(at_a[1]))  # stopped waiting
    waiting(at_b[0])
    waiting(at_c[0])
    shown = live_lecture(at_a[0], at_a[4], title="两位数乘一位数")  # the whole city may watch
    live_lecture(district=second)
    live_lecture(at_a[4], ended=True)
    return {"first": first, "second": second, "a": a, "b": b, "c": c, "lecture": shown}


def figures(user, **place):
    return live_figures(insights_filters(user=user, query={key: str(value.pk) for key, value in place.items()}))


def test_a_school_administrator_sees_what_happens_at_their_school_now():
    places = city()

    seen = figures(school_administrator(places["a"]))

    assert seen == {
        "suppressed": False,
        "values": {
            "students_online": 3,  # waiting and watching (once), in a room, watching; not ended nor cancelled
            "questions_waiting": 1,
            "teachers_on_duty": 2,  # the two for the city; not the second district's, not the one gone off
            "sessions_running": 1,
            "lectures_live": 1,
            "lecture_audience": 2,
        },
        "lectures": [{"id": places["lecture"].pk, "title": "两位数乘一位数", "subject": "数学", "audience": 2}],
    }


def city_seen_by_staff() -> dict:
    """What staff of the city see of it as a whole."""
    city()
    return figures(StaffFactory())["values"]


CITY_SEEN_BY_STAFF = {
    "students_online": 5,
    "questions_waiting": 3,
    "teachers_on_duty": 3,
    "sessions_running": 1,
    "lectures_live": 2,
    "lecture_audience": 2,
}


def test_staff_see_the_city_and_choose_a_district_or_a_school_in_it():
    places = city()
    staff = StaffFactory()

    whole, district, school = (
        figures(staff),
        figures(staff, district=places["first"]),
        figures(staff, school=places["b"]),
    )

    assert whole["values"] == CITY_SEEN_BY_STAFF
    assert district["values"] == {
        "students_online": 4,
        "questions_waiting": 2,
        "teachers_on_duty": 2,
        "sessions_running": 1,
        "lectures_live": 1,
        "lecture_audience": 2,
    }
    assert school["values"] == {
        "students_online": 1,
        "questions_waiting": 1,
        "teachers_on_duty": 2,
        "sessions_running": 0,
        "lectures_live": 1,
        "lecture_audience": 0,
    }
    assert [lecture["audience"] for lecture in school["lectures"]] == [0]


def test_the_city_is_counted_the_same_on_the_embedded_database(tmp_path):
    """The demo runs on SQLite, with eager tasks (the queue is offered to free teachers at once)."""
    assert embedded_call("tests.tutoring.insights.test_live", "city_seen_by_staff", tmp_path) == CITY_SEEN_BY_STAFF


def test_a_school_of_fewer_than_five_students_shows_no_figure_about_its_students():
    places = city()

    seen = figures(StaffFactory(), school=places["c"])

    assert seen["suppressed"] is True
    assert seen["values"] == {
        "students_online": None,
        "questions_waiting": None,
        "teachers_on_duty": 3,
        "sessions_running": None,
        "lectures_live": 2,
        "lecture_audience": None,
    }
    assert [lecture["audience"] for lecture in seen["lectures"]] == [None, None]


def test_a_superuser_sees_every_city():
    city()
    elsewhere = SchoolFactory(district=DistrictFactory(city=CityFactory(name="杭州市")))
    waiting(StudentFactory(profile__school=elsewhere))

    seen = figures(AdministratorFactory())

    assert seen["values"] == {
        "students_online": 6,
        "questions_waiting": 4,
        "teachers_on_duty": 3,
        "sessions_running": 1,
        "lectures_live": 2,
        "lecture_audience": 2,
    }


def test_no_place_outside_the_viewers_scope_nor_any_figure_for_students_and_teachers():
    places = city()
    administrator = school_administrator(places["a"])
    district_staff = StaffFactory(scope=places["first"])

    with pytest.raises(ServiceError) as other_school:
        figures(administrator, school=places["b"])
    with pytest.raises(ServiceError) as other_district:
        figures(district_staff, district=places["second"])
    for outsider in (StudentFactory(), TeacherFactory()):
        with pytest.raises(Http404):
            figures(outsider)

    assert (other_school.value.code, other_district.value.code) == ("unknown_place", "unknown_place")


def test_every_figure_has_a_label_and_a_definition_in_chinese():
    assert [(figure.code, str(figure.label)) for figure in LIVE_FIGURES] == [
        ("students_online", "当前在线学生"),
        ("questions_waiting", "等待中的问题"),
        ("teachers_on_duty", "在岗老师"),
        ("sessions_running", "进行中的答疑"),
        ("lectures_live", "直播中的讲座"),
        ("lecture_audience", "观看讲座的学生"),
    ]
    assert str(LIVE_FIGURES[1].definition) == "本地学生此刻在实时队列中的问题：正在等待老师，或已推送给老师待接单。"
    assert [figure.code for figure in LIVE_FIGURES if re.search("[A-Za-z]{3}", str(figure.definition))] == []


def test_a_place_is_counted_again_only_once_its_reading_is_older_than_the_interval(settings):
    places = city()
    filters = insights_filters(user=school_administrator(places["a"]), query={})
    settings.XUEWEN = {**settings.XUEWEN, "INSIGHTS_LIVE_SECONDS": 60}
    first = live_figures_read(filters)
    waiting(StudentFactory(profile__school=places["a"]))

    cached = live_figures_read(filters)
    settings.XUEWEN = {**settings.XUEWEN, "INSIGHTS_LIVE_SECONDS": 0}
    counted = live_figures_read(filters)

    assert cached == first
    assert (first["values"]["questions_waiting"], counted["values"]["questions_waiting"]) == (1, 2)
    assert counted["at"] > first["at"]
