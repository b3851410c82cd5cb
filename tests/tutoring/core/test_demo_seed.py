import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from tutoring.accounts.models import StudentProfile, TeacherProfile, User
from tutoring.core.management.commands.demo_seed import DEMO_PASSWORD, LIBRARY
from tutoring.library.models import Entry
from tutoring.schools.models import City, District, School

pytestmark = pytest.mark.django_db


def test_demo_seed_creates_every_role_with_working_logins_and_is_idempotent(capsys):
    call_command("demo_seed")
    call_command("demo_seed")

    output = capsys.readouterr().out
    roles = dict(User.objects.values_list("username", "role"))
    assert roles == {
        "student1": "student",
        "student2": "student",
        "student3": "student",
        "teacher1": "teacher",
        "teacher2": "teacher",
        "teacher3": "teacher",
        "staff1": "staff",
        "admin": "administrator",
    }
    assert (City.objects.count(), District.objects.count(), School.objects.count()) == (1, 3, 5)
    assert StudentProfile.objects.get(user__username="student1").grade == 3
    assert sorted(TeacherProfile.objects.get(user__username="teacher2").subjects.values_list("code", flat=True)) == [
        "math",
        "physics",
    ]
    assert all(authenticate(username=name, password=DEMO_PASSWORD) for name in roles)
    assert output.count("student1") == 2
    assert Entry.objects.filter(external_id__startswith="demo-").count() == len(LIBRARY)
    assert User.objects.get(username="admin").is_superuser is True
