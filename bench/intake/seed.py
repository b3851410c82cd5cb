"""Create the bench's students in the database named by DATABASE_URL.

Run as ``python -m bench.intake.seed COUNT`` with the platform's environment.
"""

import sys

import django

PASSWORD = "bench-intake-password"


def student_username(number: int) -> str:
    return f"bench-student-{number}"


def students_create(count: int) -> None:
    from django.contrib.auth.hashers import make_password

    from tutoring.accounts.models import StudentProfile, User
    from tutoring.schools.models import City, District, School

    district = District.objects.create(city=City.objects.create(name="基准市"), name="基准区")
    school = School.objects.create(district=district, name="基准小学", stage=School.Stage.PRIMARY)
    password = make_password(PASSWORD)  # hashed once: the hash is deliberately slow
    users = User.objects.bulk_create(
        User(username=student_username(number), display_name=f"学生{number}", role=User.Role.STUDENT, password=password)
        for number in range(count)
    )
    StudentProfile.objects.bulk_create(StudentProfile(user=user, school=school, grade=3) for user in users)


if __name__ == "__main__":
    django.setup()
    students_create(int(sys.argv[1]))
