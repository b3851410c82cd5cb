import io
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone

from tutoring.accounts.models import AdministratorProfile, StudentProfile, TeacherProfile, User
from tutoring.core.management.commands.demo_seed import DEMO_PASSWORD, LIBRARY
from tutoring.core.management.demo_history import PREFIX as HISTORY
from tutoring.core.management.demo_stipends import (
    ANSWER_LOCKED,
    CORRECTED,
    CORRECTION,
    CORRECTION_FEN,
    KEY_PREFIX,
    OBJECTION_LOCKED,
    OBJECTION_OPEN,
    REVIEWER,
    Months,
    local_time,
)
from tutoring.insights.live import live_figures
from tutoring.insights.models import DayFigures
from tutoring.insights.selectors import insights_filters
from tutoring.knowledge.models import KnowledgePoint
from tutoring.lectures.models import Lecture, LectureRecording
from tutoring.library.models import Answer, Entry
from tutoring.questions.models import Question, QuestionKnowledgePoint
from tutoring.routing.models import RoutingFact, Shift, Ticket
from tutoring.schools.models import City, District, GradeBand, School, Subject
from tutoring.sessions.models import AudioChunk, Recording, SessionEvent, SessionFact, TutoringSession
from tutoring.stipends import exports
from tutoring.stipends import services as stipends
from tutoring.stipends.models import (
    Adjustment,
    AuditEntry,
    LedgerLine,
    Objection,
    Publication,
    SchoolMonth,
    Statement,
    StatementDay,
    StipendRule,
)
from tutoring.stipends.selectors import teacher_statements

pytestmark = pytest.mark.django_db


def _stipends_state() -> dict:
    """Every stipend row and fact the demo writes, as values: what a second run must leave as it is."""
    return {
        "statements": list(
            Statement.objects.order_by("month", "teacher_id").values_list(
                "pk", "teacher__username", "month", "school__name", "content_hash", "built_at"
            )
        ),
        "school_months": list(
            SchoolMonth.objects.order_by("month", "school_id").values_list(
                "school__name", "month", "status", "published_hash", "reported_hash", "publicity_ends_at"
            )
        ),
        "rows": [
            model.objects.count()
            for model in (
                StatementDay,
                LedgerLine,
                Adjustment,
                Objection,
                AuditEntry,
                StipendRule,
                AdministratorProfile,
            )
        ],
        "facts": [model.objects.count() for model in (RoutingFact, SessionFact, SessionEvent, AudioChunk)],
    }


def test_demo_seed_shows_every_role_every_state_real_answer_videos_and_stipends_and_is_idempotent(capsys):
    call_command("demo_seed")
    counts = [Question.objects.count(), Entry.objects.count(), Shift.objects.count(), Recording.objects.count()]
    counts += [Lecture.objects.count(), LectureRecording.objects.count()]
    stipends_state = _stipends_state()
    call_command("demo_seed")

    assert [
        Question.objects.count(),
        Entry.objects.count(),
        Shift.objects.count(),
        Recording.objects.count(),
        Lecture.objects.count(),
        LectureRecording.objects.count(),
    ] == counts
    assert _stipends_state() == stipends_state
    output = capsys.readouterr().out
    people = User.objects.exclude(username__startswith="duty-").exclude(username__startswith=HISTORY)
    roles = dict(people.values_list("username", "role"))
    assert roles == {
        "student1": "student",
        "student2": "student",
        "student3": "student",
        "teacher1": "teacher",
        "teacher2": "teacher",
        "teacher3": "teacher",
        "staff1": "staff",
        "admin": "administrator",
        "school-admin": "administrator",
        "school-principal": "administrator",
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
    statuses = dict(
        Question.objects.exclude(idempotency_key__startswith=KEY_PREFIX)
        .exclude(idempotency_key__startswith=HISTORY)
        .values_list("idempotency_key", "status")
    )
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
    assert [
        (a.entry.text, [(t.point.name, t.source) for t in a.entry.knowledge_point_tags.all()], a.status) for a in videos
    ] == [
        ("一个物体的质量是2千克，它受到的重力是多少牛？（g取10牛/千克）", [("重力", "teacher")], "ready"),
        ("一本故事书有96页，小华每天看8页，几天能看完？", [("整数除法", "teacher")], "ready"),
        ("解方程：2x + 3 = 11", [("一元一次方程", "teacher")], "ready"),
    ]
    # Taxonomies: ChalkBase's primary maths and the demo's own points; questions tagged when matched.
    counts = KnowledgePoint.objects.filter(is_active=True).values_list("subject__code").annotate(Count("pk"))
    assert sorted(counts) == [("chinese", 3), ("math", 539), ("physics", 4)]
    understood = Question.objects.get(idempotency_key="demo-asked-understood")
    tags = [(tag.point.name, tag.source, round(tag.confidence, 2)) for tag in understood.knowledge_point_tags.all()]
    assert tags == [("长方形和正方形的面积", "tagger", 0.45)]  # voted for by the demo's labelled answers

    # Months of history in every school, rolled up for the insights: each of the last 90 days, twelve students a
    # school, every way a question ends.
    history = Question.objects.filter(idempotency_key__startswith=HISTORY)
    today = timezone.localdate()
    asked_on = {timezone.localtime(moment).date() for moment in history.values_list("created_at", flat=True)}
    assert asked_on == {today - timedelta(days=offset) for offset in range(1, 91)}
    assert sorted(set(history.values_list("status", flat=True))) == ["answered", "cancelled", "resolved"]
    assert QuestionKnowledgePoint.objects.filter(question__in=history).count() == history.count()  # each tagged
    assert list(
        StudentProfile.objects.filter(user__username__startswith=HISTORY)
        .values_list("school__name")
        .annotate(Count("pk"))
        .order_by("school__name")
    ) == sorted((school.name, 12) for school in School.objects.all())
    assert DayFigures.objects.aggregate(total=Sum("asked"))["total"] == Question.objects.count()
    for answer in videos:
        assert answer.video.storage.size(answer.video.name) > 20_000
        assert answer.poster.storage.exists(answer.poster.name)
        assert 10 < answer.duration_seconds < 30
    recorded = TutoringSession.objects.filter(question__idempotency_key__startswith="demo-recorded-")
    assert list(recorded.values_list("status", "rating")) == [("ended", 5)] * 3

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

    # A few weeks of the teachers' work, and their statements in every state (after the second run).
    _stipends_stated()


def _stipends_stated() -> None:
    """Weeks of work stated, and a school's months in every state of the way to the report."""
    months = Months.of(timezone.localdate())
    users = dict(User.objects.values_list("username", "pk"))
    # The rule versions in force: the city's from the month before last and from this month, the school's own
    # from last month, each put in force by the administrator ten days before it starts.
    assert list(
        StipendRule.objects.order_by("effective_from").values_list(
            "school__name", "effective_from", "status", "evening_fen", "weekend_fen", "session_fen", "created_by"
        )
    ) == [
        (None, months.before_last, "active", 7000, 8000, 500, users["admin"]),
        ("瓦市小学", months.last, "active", 7500, 8500, 500, users["admin"]),
        (None, months.this, "active", 7000, 8000, 600, users["admin"]),
    ]
    assert [rule.activated_at for rule in StipendRule.objects.order_by("effective_from")] == [
        local_time(month - timedelta(days=10), 10) for month in (months.before_last, months.last, months.this)
    ]
    assert list(
        AdministratorProfile.objects.order_by("user__username").values_list(
            "user__username", "school__name", "principal"
        )
    ) == [("school-admin", "瓦市小学", False), ("school-principal", "瓦市小学", True)]

    # A few weeks of work of four teachers, duty and sessions, from three weeks before last month: every session
    # answers a question of a demo student's, answered and ended, most of them rated, one in eight too short.
    seeded = TutoringSession.objects.filter(question__idempotency_key__startswith=KEY_PREFIX)
    first = local_time(months.last - timedelta(weeks=3), 0)
    assert seeded.count() >= 4 * 3 + 4 * 4  # three weeks before last month, and at least four in it
    assert set(seeded.values_list("teacher__username", "student__username", "question__status", "status")) == {
        ("teacher1", "student1", "answered", "ended"),
        ("duty-english-primary-middle", "student1", "answered", "ended"),
        ("teacher2", "student3", "answered", "ended"),
        ("teacher3", "student2", "answered", "ended"),
    }
    assert all(first < session.started_at < session.ended_at < timezone.now() for session in seeded)
    assert {rating for rating in seeded.values_list("rating", flat=True)} == {None, 3, 4, 5}
    flagged = LedgerLine.objects.filter(
        kind="session", source__in=[f"session:{pk}" for pk in seeded.values_list("pk", flat=True)]
    )
    assert {line.flag for line in flagged} == {"", "short"}
    assert SessionEvent.objects.filter(session__in=seeded).count() > seeded.count() * 3
    assert AudioChunk.objects.filter(session__in=seeded).exists()

    # 瓦市小学: the month before last locked and reported with exactly the figures published, corrected once, with an
    # objection answered; last month in publicity (公示) with teacher1's objection open; this month a draft.
    school_months = {sm.month: sm for sm in SchoolMonth.objects.filter(school__name="瓦市小学")}
    assert {month: sm.status for month, sm in school_months.items()} == {
        months.before_last: "locked",
        months.last: "publicized",
        months.this: "draft",
    }
    locked, publicized = school_months[months.before_last], school_months[months.last]
    assert locked.reported_hash == locked.published_hash == exports.figures_hash(locked.school, locked.month)
    assert locked.approved_by_id == users["school-principal"]
    published = Publication.objects.filter(school_month=locked, kind="publicity").get().figures
    assert sorted(teacher["teacher"] for teacher in published["teachers"]) == sorted(
        users[name] for name in ("teacher1", CORRECTED)
    )
    assert publicized.published_hash == exports.figures_hash(publicized.school, publicized.month)
    assert publicized.publicity_ends_at > timezone.now() + timedelta(days=6)
    assert list(
        Adjustment.objects.values_list(
            "month", "teacher__username", "amount_fen", "credit", "reason", "author__username"
        )
    ) == [(months.before_last, CORRECTED, CORRECTION_FEN, 0, CORRECTION, "school-admin")]
    assert list(
        Objection.objects.order_by("id").values_list("school_month__month", "teacher__username", "reason", "answer")
    ) == [
        (months.before_last, "teacher1", OBJECTION_LOCKED, ANSWER_LOCKED),
        (months.last, "teacher1", OBJECTION_OPEN, ""),
    ]
    assert publicized.objections.filter(answered_at__isnull=True).count() == 1

    # Each step on its own day, after the month: the publicity over (five days) before the principal approved.
    def on(day: int, hour: int) -> datetime:
        return local_time(months.last + timedelta(days=day - 1), hour)

    trail = AuditEntry.objects.filter(target=f"school_month:{locked.pk}").order_by("id")
    assert list(trail.values_list("action", "actor__username", "at")) == [
        ("review_started", "school-admin", on(2, 9)),
        ("adjustment_added", "school-admin", on(2, 10)),
        ("publicized", "school-admin", on(3, 10)),
        ("approved", "school-principal", on(9, 10)),
        ("reported", "school-admin", on(10, 9)),
    ]
    assert locked.publicity_ends_at == on(8, 10)

    # The other schools' months are drafts; teacher1 sees a statement in each state.
    assert set(SchoolMonth.objects.exclude(school__name="瓦市小学").values_list("status", flat=True)) == {"draft"}
    teacher1 = User.objects.get(username="teacher1")
    assert [(row["statement"].month, row["status"]) for row in teacher_statements(teacher1)] == [
        (months.this, "draft"),
        (months.last, "publicized"),
        (months.before_last, "locked"),
    ]
    assert all(row["statement"].amount_fen > 0 for row in teacher_statements(teacher1))
    # Every month stated is what its facts give, figure by figure.
    for month in (months.before_last, months.last, months.this):
        assert stipends.statements_verify(month) == []


def test_the_demo_shows_its_live_state_in_the_administrators_live_view():
    call_command("demo_seed", stdout=io.StringIO())

    school = live_figures(insights_filters(user=User.objects.get(username=REVIEWER), query={}))
    city = live_figures(insights_filters(user=User.objects.get(username="staff1"), query={}))

    # student1 of the school waits for a teacher; student3 (another school) has a room open, with no socket in it
    # (so not online); a lecture is live for the city; no teacher is on duty until one opens the duty console
    live = {"questions_waiting": 1, "students_online": 1, "teachers_on_duty": 0, "lectures_live": 1}
    assert school["values"] == live | {"sessions_running": 0, "lecture_audience": 0}
    assert city["values"] == live | {"sessions_running": 1, "lecture_audience": 0}
    assert [(lecture["title"], lecture["audience"]) for lecture in school["lectures"]] == [("两位数乘一位数", 0)]
