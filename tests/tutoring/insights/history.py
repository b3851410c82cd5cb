"""A seeded history with every case the figures define: a question solved by an answered question, one answered
after a wait and rated, one answered and never rated, one cancelled while offered, one never understood, one of a
small school, and one of the day before."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.factories import (
    AttachmentFactory,
    DistrictFactory,
    KnowledgePointFactory,
    QuestionFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
)
from tutoring.accounts.models import User
from tutoring.knowledge.models import KnowledgePoint, TagSource
from tutoring.library.models import Feedback
from tutoring.questions.models import Attachment, Question, QuestionKnowledgePoint
from tutoring.routing.models import Offer, Ticket
from tutoring.schools.models import District, School
from tutoring.sessions.models import TutoringSession

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 2)  # a Monday
DAY_BEFORE = date(2026, 11, 1)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ZONE)


@dataclass
class History:
    district: District
    school: School  # five students of grade 3
    small_school: School  # two students of grade 3, in another district
    students: list[User]
    point: KnowledgePoint
    other_point: KnowledgePoint
    questions: dict[str, Question]


def asked(student: User, when: datetime, status: str, *, understood: bool = True, outcome: str = "") -> Question:
    question = QuestionFactory(student=student, grade=3, status=status, text="题目" if understood else "")
    Question.objects.filter(pk=question.pk).update(
        created_at=when, understood_at=when + timedelta(seconds=2) if understood else None, match_outcome=outcome
    )
    question.refresh_from_db()
    return question


def queued(question: Question, teacher: User, waited: int | None, status: str, queued_at: datetime) -> Ticket:
    school = question.student.student_profile.school
    return Ticket.objects.create(
        question=question,
        subject=question.subject,
        grade=question.grade,
        city=school.district.city,
        district=school.district,
        school=school,
        status=status,
        queued_at=queued_at,
        teacher=teacher if waited is not None else None,
        assigned_at=queued_at + timedelta(seconds=waited) if waited is not None else None,
        finished_at=queued_at + timedelta(minutes=20),
    )


def held(ticket: Ticket, started: datetime, seconds: int, rating: int | None) -> TutoringSession:
    return TutoringSession.objects.create(
        ticket=ticket,
        question=ticket.question,
        teacher=ticket.teacher,
        student=ticket.question.student,
        status=TutoringSession.Status.ENDED,
        started_at=started,
        ended_at=started + timedelta(seconds=seconds),
        rating=rating,
        rated_at=started + timedelta(seconds=seconds + 30) if rating else None,
    )


def history() -> History:
    district = DistrictFactory()
    school = SchoolFactory(district=district)
    small_school = SchoolFactory()
    students = [StudentFactory(profile__school=school, profile__grade=3) for _ in range(5)]
    small = [StudentFactory(profile__school=small_school, profile__grade=3) for _ in range(2)]
    teacher = TeacherFactory()
    point = KnowledgePointFactory(name="减法")
    other_point = KnowledgePointFactory(name="应用题")
    Status = Question.Status
    questions = {
        "solved": asked(students[0], at(DAY, 20, 0), Status.RESOLVED, outcome="same"),
        "rated": asked(students[1], at(DAY, 20, 5), Status.ANSWERED, outcome="similar"),
        "unrated": asked(students[2], at(DAY, 20, 30), Status.ANSWERED, outcome="none"),
        "cancelled": asked(students[3], at(DAY, 21, 0), Status.CANCELLED, outcome="none"),
        "failed": asked(students[4], at(DAY, 21, 10), Status.FAILED, understood=False),
        "small": asked(small[0], at(DAY, 9, 0), Status.UNDERSTOOD, outcome="none"),
        "before": asked(students[0], at(DAY_BEFORE, 19, 0), Status.RESOLVED, outcome="similar"),
    }
    Feedback.objects.create(question=questions["solved"], choice=Feedback.Choice.RESOLVED)
    Feedback.objects.create(question=questions["before"], choice=Feedback.Choice.RESOLVED)
    AttachmentFactory(question=questions["rated"], kind=Attachment.Kind.PHOTO)
    AttachmentFactory(question=questions["rated"], kind=Attachment.Kind.VOICE)
    AttachmentFactory(question=questions["unrated"], kind=Attachment.Kind.VOICE, content_type="audio/webm")
    rated = queued(questions["rated"], teacher, 12, Ticket.Status.FINISHED, at(DAY, 20, 6))
    held(rated, at(DAY, 20, 6, 15), 600, 5)
    unrated = queued(questions["unrated"], teacher, 90, Ticket.Status.FINISHED, at(DAY, 20, 31))
    held(unrated, at(DAY, 20, 33), 300, None)
    cancelled = queued(questions["cancelled"], teacher, None, Ticket.Status.CANCELLED, at(DAY, 21, 1))
    Offer.objects.create(
        ticket=cancelled, teacher=teacher, policy=Offer.Policy.AUTO, status=Offer.Status.WITHDRAWN,
        expires_at=at(DAY, 21, 2),
    )  # fmt: skip
    QuestionKnowledgePoint.objects.create(question=questions["rated"], point=point, source=TagSource.TEACHER)
    QuestionKnowledgePoint.objects.create(question=questions["unrated"], point=point, source=TagSource.TAGGER, rank=0)
    QuestionKnowledgePoint.objects.create(
        question=questions["unrated"], point=other_point, source=TagSource.TAGGER, rank=1
    )
    return History(district, school, small_school, students, point, other_point, questions)
