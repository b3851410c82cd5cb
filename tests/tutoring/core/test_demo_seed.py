from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.utils import timezone

from tutoring.accounts.models import StudentProfile, TeacherProfile, User
from tutoring.core.management.commands.demo_seed import DEMO_PASSWORD, LIBRARY
from tutoring.lectures.models import Lecture, LectureRecording
from tutoring.library.models import Answer, Entry
from tutoring.questions.models import Question
from tutoring.routing.models import Shift, Ticket
from tutoring.schools.models import City, District, GradeBand, School, Subject
from tutoring.sessions.models import Recording, TutoringSession

pytestmark = pytest.mark.django_db


def test_demo_seed_shows_every_role_every_state_and_real_answer_videos_and_is_idempotent(capsys):
    call_command("demo_seed")
    counts = [Question.objects.count(), Entry.objects.count(), Shift.objects.count(), Recording.objects.count()]
    counts += [Lecture.objects.count(), LectureRecording.objects.count()]
    call_command("demo_seed")

    assert [
        Question.objects.count(),
        Entry.objects.count(),
        Shift.objects.count(),
        Recording.objects.count(),
        Lecture.objects.count(),
        LectureRecording.objects.count(),
    ] == counts
    output = capsys.readouterr().out
    roles = dict(User.objects.exclude(username__startswith="duty-").values_list("username", "role"))
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
    assert User.objects.get(username="admin").is_superuser is True

    # Every subject in every grade band it is taught in has a teacher whose shift runs now and for weeks.
    now = timezone.now()
    running = Shift.objects.filter(starts_at__lte=now, ends_at__gte=now + timedelta(days=29))
    taught = {
        (subject.code, band.code)
        for subject in Subject.objects.all()
        for band in GradeBand.objects.all()
        if subject.min_grade <= band.max_grade and band.min_grade <= subject.max_grade
    }
    assert len(taught) == 24
    assert {(shift.subject.code, shift.grade_band.code) for shift in running} == taught
    assert running.count() == Shift.objects.count() == 24
    assert list(running.filter(teacher__username="teacher1").values_list("subject__code", "grade_band__code")) == [
        ("math", "primary-middle")
    ]

    # The students' questions, in every state a question rests in.
    statuses = dict(Question.objects.values_list("idempotency_key", "status"))
    assert statuses == {
        "demo-recorded-1": "answered",
        "demo-recorded-2": "answered",
        "demo-recorded-3": "answered",
        "demo-asked-resolved": "resolved",
        "demo-asked-waiting": "waiting_teacher",
        "demo-asked-understood": "understood",
        "demo-asked-cancelled": "cancelled",
        "demo-asked-failed": "failed",
        "demo-asked-with-teacher": "with_teacher",
    }
    photo_question = Question.objects.get(idempotency_key="demo-recorded-1")
    assert (photo_question.text_source, photo_question.text) == ("ocr", "一本故事书有96页，小华每天看8页，几天能看完？")
    assert Question.objects.get(idempotency_key="demo-asked-understood").match_outcome == "similar"
    assert Ticket.objects.get(question__idempotency_key="demo-asked-waiting").status == Ticket.Status.WAITING
    open_room = TutoringSession.objects.get(question__idempotency_key="demo-asked-with-teacher")
    assert (open_room.status, open_room.teacher.username) == ("open", "teacher2")

    # Worked solutions, and three answer videos recorded in session rooms, rendered and published.
    assert Entry.objects.filter(external_id__startswith="demo-").count() == len(LIBRARY)
    videos = Answer.objects.filter(kind=Answer.Kind.VIDEO, entry__external_id__startswith="session-")
    videos = videos.select_related("entry").order_by("entry__text")
    assert [(a.entry.text, a.entry.knowledge_points, a.status) for a in videos] == [
        ("一个物体的质量是2千克，它受到的重力是多少牛？（g取10牛/千克）", ["重力"], "ready"),
        ("一本故事书有96页，小华每天看8页，几天能看完？", ["除法"], "ready"),
        ("解方程：2x + 3 = 11", ["一元一次方程"], "ready"),
    ]
    for answer in videos:
        assert answer.video.storage.size(answer.video.name) > 20_000
        assert answer.poster.storage.exists(answer.poster.name)
        assert 10 < answer.duration_seconds < 30
    assert list(TutoringSession.objects.filter(status="ended").values_list("rating", flat=True)) == [5, 5, 5]

    # A lecture given, whose replay is published and answers the library question it covers, and one live now.
    assert list(Lecture.objects.order_by("starts_at").values_list("title", "status", "lecturer__username")) == [
        ("除法应用题：平均分", "ended", "teacher1"),
        ("两位数乘一位数", "live", "teacher1"),
    ]
    replay = LectureRecording.objects.get()
    assert (replay.status, [chapter["title"] for chapter in replay.chapters]) == ("published", ["第 2 页"])
    given = Lecture.objects.get(status="ended")
    covered = Entry.objects.get(external_id="demo-3")
    assert list(
        Answer.objects.filter(kind=Answer.Kind.VIDEO, entry__external_id__startswith="lecture-").values_list(
            "entry__external_id", "entry__text", "status"
        )
    ) == [(f"lecture-{given.pk}-entry-{covered.pk}", covered.text, "ready")]
    assert User.objects.get(username="teacher1").has_perm("lectures.give_lectures") is True
    # The live one has three slides, the first on the board's first page.
    live = Lecture.objects.get(status="live")
    assert list(live.slides.values_list("number", "width", "height")) == [(number, 1600, 900) for number in (1, 2, 3)]
    assert list(live.events.values_list("seq", "type", "data__attachment")) == [
        (1, "board.background", live.slides.get(number=1).pk)
    ]
