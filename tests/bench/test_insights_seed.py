"""The insights bench's city: its rows are ones the real rollups handle, and the figures they give agree with
the seeded facts counted directly."""

from datetime import date

from django.db import connection
from django.db.models import Sum

from bench.insights.seed import City, hour_slots, questions_insert, reference_load
from tutoring.accounts.models import StudentProfile
from tutoring.insights.models import DayFigures, HourFigures, PointFigures
from tutoring.insights.rollups import rollup_day
from tutoring.library.models import Feedback
from tutoring.questions.models import Attachment, Question, QuestionKnowledgePoint
from tutoring.routing.models import Offer, Ticket
from tutoring.sessions.models import TutoringSession

DAYS = [date(2026, 11, 2), date(2026, 11, 7)]  # a Monday and a Saturday


def test_hour_slots_share_every_question_out_by_the_hour():
    slots = hour_slots(DAYS, 1_000)

    assert sum(count for _, count in slots) == 1_000
    assert {start.date() for start, _ in slots} == set(DAYS)
    busiest = max(slots, key=lambda slot: slot[1])[0]
    assert (busiest.date(), busiest.hour) == (date(2026, 11, 2), 20)


def test_seeded_questions_roll_up_to_their_facts(db):
    city = City(0.0002)
    connection.ensure_connection()
    raw = connection.connection
    reference_load(raw, city)

    last = questions_insert(raw, city, DAYS, 1, 2_000)
    for day in DAYS:
        rollup_day(day)

    assert last == 2_000
    totals = DayFigures.objects.aggregate(
        **{column: Sum(column) for column in ("asked", "by_photo", "by_voice", "by_text", "understood")},
        **{column: Sum(column) for column in ("solved_by_library", "sent_to_teacher", "accepted", "answered")},
        **{column: Sum(column) for column in ("cancelled", "sessions", "matched_same", "matched_similar")},
        rated=Sum("rating_1") + Sum("rating_2") + Sum("rating_3") + Sum("rating_4") + Sum("rating_5"),
    )
    photos = Attachment.objects.filter(kind=Attachment.Kind.PHOTO).count()
    voices = Attachment.objects.filter(kind=Attachment.Kind.VOICE).count()
    Status = Question.Status
    assert totals == {
        "asked": 2_000,
        "by_photo": photos,
        "by_voice": voices,
        "by_text": 2_000 - photos - voices,
        "understood": Question.objects.filter(understood_at__isnull=False).count(),
        "matched_same": Question.objects.filter(match_outcome="same").count(),
        "matched_similar": Question.objects.filter(match_outcome="similar").count(),
        "solved_by_library": Question.objects.filter(status=Status.RESOLVED).count(),
        "sent_to_teacher": Ticket.objects.count(),
        "accepted": Ticket.objects.filter(assigned_at__isnull=False).count(),
        "answered": TutoringSession.objects.count(),
        "cancelled": Ticket.objects.filter(status=Ticket.Status.CANCELLED).count(),
        "sessions": TutoringSession.objects.count(),
        "rated": TutoringSession.objects.filter(rating__isnull=False).count(),
    }
    assert 1_000 < photos < 1_400 and 100 < voices < 300 and 150 < TutoringSession.objects.count() < 260
    assert HourFigures.objects.aggregate(Sum("asked"))["asked__sum"] == 2_000
    assert PointFigures.objects.aggregate(Sum("asked"))["asked__sum"] == QuestionKnowledgePoint.objects.count()
    assert Offer.objects.filter(status=Offer.Status.ACCEPTED).count() == TutoringSession.objects.count()
    assert Feedback.objects.filter(choice=Feedback.Choice.RESOLVED).count() == totals["solved_by_library"]
    profiles = {profile.user_id: profile for profile in StudentProfile.objects.all()}
    for question in Question.objects.select_related("subject"):
        profile = profiles[question.student_id]
        assert question.grade == profile.grade
        assert question.subject.min_grade <= question.grade <= question.subject.max_grade
    for ticket in Ticket.objects.select_related("question"):
        assert ticket.school_id == profiles[ticket.question.student_id].school_id
