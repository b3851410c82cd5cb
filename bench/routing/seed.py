"""Create the routing bench's people in the database named by DATABASE_URL and write their sessions as JSON.

Run as ``python -m bench.routing.seed STUDENTS TEACHERS CAPACITY OUT.json`` with the platform's environment:
teachers of maths for grades 3-4 inside a three-hour shift, students of grade 3 each with an understood maths
question whose answered matches did not help yet (so 还是不会 sends it to the live queue).
"""

import json
import sys
from datetime import timedelta
from pathlib import Path

import django


def people_create(students: int, teachers: int, capacity: int) -> dict:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from tutoring.accounts.models import StudentProfile, TeacherProfile, User
    from tutoring.questions.models import Question
    from tutoring.routing.models import Shift
    from tutoring.schools.models import City, District, GradeBand, School, Subject

    city = City.objects.create(name="基准市")
    district = District.objects.create(city=city, name="基准区")
    school = School.objects.create(district=district, name="基准小学", stage=School.Stage.PRIMARY)
    math, band = Subject.objects.get(code="math"), GradeBand.objects.get(code="primary-middle")

    def cookie(user: User) -> str:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"

    teacher_users = User.objects.bulk_create(
        User(username=f"bench-teacher-{n}", display_name=f"老师{n}", role=User.Role.TEACHER) for n in range(teachers)
    )
    now = timezone.now()
    for user in teacher_users:
        profile = TeacherProfile.objects.create(user=user, school=school)
        profile.subjects.add(math)
        profile.grade_bands.add(band)
    Shift.objects.bulk_create(
        Shift(
            teacher=user,
            subject=math,
            grade_band=band,
            city=city,
            capacity=capacity,
            starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(hours=3),
        )
        for user in teacher_users
    )
    student_users = User.objects.bulk_create(
        User(username=f"bench-student-{n}", display_name=f"学生{n}", role=User.Role.STUDENT) for n in range(students)
    )
    StudentProfile.objects.bulk_create(StudentProfile(user=user, school=school, grade=3) for user in student_users)
    questions = Question.objects.bulk_create(
        Question(
            student=user,
            subject=math,
            grade=3,
            idempotency_key=f"bench-{user.pk}",
            typed_text=f"一个数的3倍加{n % 50}等于{n % 50 + 30}，这个数是多少？",
            text=f"一个数的3倍加{n % 50}等于{n % 50 + 30}，这个数是多少？",
            text_source=Question.TextSource.TYPED,
            status=Question.Status.UNDERSTOOD,
            understood_at=now,
            match_outcome=Question.MatchOutcome.SIMILAR,
            matched_at=now,
        )
        for n, user in enumerate(student_users)
    )
    return {
        "teachers": [{"id": user.pk, "cookie": cookie(user)} for user in teacher_users],
        "students": [
            {"id": user.pk, "question": question.pk, "cookie": cookie(user)}
            for user, question in zip(student_users, questions, strict=True)
        ],
    }


if __name__ == "__main__":
    django.setup()
    students, teachers, capacity = (int(value) for value in sys.argv[1:4])
    Path(sys.argv[4]).write_text(json.dumps(people_create(students, teachers, capacity)))
