from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    CityFactory,
    DistrictFactory,
    LectureFactory,
    SchoolFactory,
    StaffFactory,
    StudentFactory,
    TeacherFactory,
    grade_band,
)
from tutoring.lectures.models import Lecture, LectureFact, LectureSignup

pytestmark = pytest.mark.django_db

LIST_URL = reverse("lectures:lecture-list")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def signup_url(lecture: Lecture) -> str:
    return reverse("lectures:signup", args=[lecture.pk])


def ids(response) -> list[int]:
    assert response.status_code == 200
    return [lecture["id"] for lecture in response.json()]


def signups() -> list[tuple[int, int]]:
    return list(LectureSignup.objects.order_by("id").values_list("lecture_id", "student_id"))


def facts() -> list[tuple[str, int, int | None]]:
    return list(LectureFact.objects.order_by("id").values_list("kind", "lecture_id", "user_id"))


@pytest.fixture
def place():
    """A school in a district of the city, and lectures of every scope and state around it."""
    school = SchoolFactory()
    district = school.district
    city = district.city
    now = timezone.now()
    lectures = {
        "city_later": LectureFactory(city=city, starts_at=now + timedelta(days=2)),
        "district_soon": LectureFactory(city=city, district=district, starts_at=now + timedelta(hours=1)),
        "school_live": LectureFactory(
            city=city, district=district, school=school, status=Lecture.Status.LIVE, starts_at=now - timedelta(hours=3)
        ),
        "late_start": LectureFactory(city=city, starts_at=now - timedelta(minutes=30)),
        "long_past": LectureFactory(city=city, starts_at=now - timedelta(hours=2)),
        "ended": LectureFactory(city=city, status=Lecture.Status.ENDED, starts_at=now - timedelta(minutes=10)),
        "cancelled": LectureFactory(city=city, status=Lecture.Status.CANCELLED),
        "other_grades": LectureFactory(city=city, grade_band=grade_band("junior-middle")),
        "other_district": LectureFactory(city=city, district=DistrictFactory(city=city)),
        "other_school": LectureFactory(city=city, district=district, school=SchoolFactory(district=district)),
        "other_city": LectureFactory(city=CityFactory(name="杭州市")),
    }
    return school, lectures


def test_a_student_lists_the_live_and_coming_lectures_of_their_grade_and_place_soonest_first(place):
    school, lectures = place
    student = StudentFactory(profile__school=school, profile__grade=4)
    LectureSignup.objects.create(lecture=lectures["district_soon"], student=student)

    response = logged_in(student).get(LIST_URL)

    expected = ["school_live", "late_start", "district_soon", "city_later"]
    assert ids(response) == [lectures[name].pk for name in expected]
    first = response.json()[2]
    assert first == {
        "id": lectures["district_soon"].pk,
        "title": lectures["district_soon"].title,
        "description": "",
        "status": "scheduled",
        "subject": "math",
        "subject_name": "数学",
        "grade_band_name": "小学中段",
        "lecturer_name": str(lectures["district_soon"].lecturer),
        "starts_at": first["starts_at"],
        "planned_minutes": 40,
        "started_at": None,
        "ended_at": None,
        "signed_up": True,
    }
    assert [lecture["signed_up"] for lecture in response.json()] == [False, False, True, False]


def test_a_student_of_other_grades_sees_none_of_them(place):
    school, _ = place
    student = StudentFactory(profile__school=school, profile__grade=6)

    assert ids(logged_in(student).get(LIST_URL)) == []


def test_a_teacher_lists_every_live_and_coming_lecture(place):
    _, lectures = place
    names = [
        "school_live",
        "late_start",
        "district_soon",
        "other_grades",
        "other_district",
        "other_school",
        "other_city",
        "city_later",
    ]

    found = ids(logged_in(TeacherFactory()).get(LIST_URL))

    assert sorted(found) == sorted(lectures[name].pk for name in names)
    assert found[:3] == [lectures[name].pk for name in names[:3]]


def test_staff_of_another_city_list_none_and_staff_of_the_district_theirs(place):
    school, lectures = place
    elsewhere = StaffFactory(scope=DistrictFactory(city=CityFactory(name="宁波市")))
    district_staff = StaffFactory(scope=school.district)

    assert ids(logged_in(elsewhere).get(LIST_URL)) == []
    found = ids(logged_in(district_staff).get(LIST_URL))
    names = ["school_live", "late_start", "district_soon", "other_grades", "other_school", "city_later"]
    assert sorted(found) == sorted(lectures[name].pk for name in names)


def test_one_lecture_is_read_by_those_who_may_see_it_only(place):
    school, lectures = place
    student = StudentFactory(profile__school=school, profile__grade=3)

    response = logged_in(student).get(reverse("lectures:lecture-detail", args=[lectures["school_live"].pk]))

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["status"]) == (lectures["school_live"].pk, "live")
    hidden = reverse("lectures:lecture-detail", args=[lectures["other_school"].pk])
    assert logged_in(student).get(hidden).status_code == 404


def test_signing_up_twice_makes_one_sign_up_and_one_fact():
    student = StudentFactory()
    lecture = LectureFactory(city=student.student_profile.school.district.city)
    client = logged_in(student)

    first = client.post(signup_url(lecture))
    second = client.post(signup_url(lecture))

    assert (first.status_code, first.json()["signed_up"]) == (200, True)
    assert (second.status_code, second.json()["signed_up"]) == (200, True)
    assert signups() == [(lecture.pk, student.pk)]
    assert facts() == [("signed_up", lecture.pk, student.pk)]


def test_withdrawing_removes_the_sign_up_with_a_fact():
    student = StudentFactory()
    lecture = LectureFactory(city=student.student_profile.school.district.city)
    client = logged_in(student)
    client.post(signup_url(lecture))

    response = client.delete(signup_url(lecture))

    assert (response.status_code, response.json()["signed_up"]) == (200, False)
    assert signups() == []
    assert facts() == [("signed_up", lecture.pk, student.pk), ("signup_withdrawn", lecture.pk, student.pk)]
    assert client.delete(signup_url(lecture)).status_code == 200
    assert len(facts()) == 2


def test_a_student_outside_the_scope_cannot_sign_up_or_withdraw():
    student = StudentFactory()
    lecture = LectureFactory(city=CityFactory(name="杭州市"))

    for method in ("post", "delete"):
        response = getattr(logged_in(student), method)(signup_url(lecture))
        assert response.status_code == 404
    assert (signups(), facts()) == ([], [])


def test_a_teacher_cannot_sign_up_and_is_told_in_chinese():
    lecture = LectureFactory()

    for method in ("post", "delete"):
        response = getattr(logged_in(TeacherFactory()), method)(signup_url(lecture))
        assert response.status_code == 403
        assert response.json() == {
            "error": {"code": "not_a_student", "message": "只有学生可以预约讲座。", "field": None}
        }
    assert (signups(), facts()) == ([], [])


@pytest.mark.parametrize("status", [Lecture.Status.ENDED, Lecture.Status.CANCELLED])
def test_an_ended_or_cancelled_lecture_takes_no_sign_up(status):
    student = StudentFactory()
    lecture = LectureFactory(city=student.student_profile.school.district.city, status=status)

    response = logged_in(student).post(signup_url(lecture))

    assert response.status_code == 409
    assert response.json() == {"error": {"code": "lecture_over", "message": "这场讲座已结束。", "field": None}}
    assert (signups(), facts()) == ([], [])


def test_anonymous_users_are_refused():
    lecture = LectureFactory()

    assert Client().get(LIST_URL).status_code == 403
    assert Client().post(signup_url(lecture)).status_code == 403
    assert signups() == []
