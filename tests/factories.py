"""factory_boy factories for every model the tests create."""

import uuid
from datetime import date, datetime, time, timedelta

import factory
from django.contrib.auth.models import Permission
from django.db.models import F
from django.utils import timezone
from factory.django import DjangoModelFactory

from tutoring.accounts.models import AdministratorProfile, StaffProfile, StudentProfile, TeacherProfile, User
from tutoring.core.errors import ServiceError
from tutoring.knowledge.models import KnowledgePoint, TagSource
from tutoring.lectures import services as lectures
from tutoring.lectures.models import Lecture, LectureRecording, LectureSlide
from tutoring.library.models import Answer, Entry, EntryKnowledgePoint, Feedback, Match
from tutoring.questions.models import Attachment, Question
from tutoring.routing import services as routing
from tutoring.routing.models import Offer, RoutingFact, Shift
from tutoring.schools.models import City, District, GradeBand, School, Subject
from tutoring.sessions.models import AudioChunk, SessionEvent, SessionFact, TutoringSession
from tutoring.sessions.services import Message, session_messages_append, session_start
from tutoring.stipends.models import StipendRule

PASSWORD = "correct-horse-battery"


class CityFactory(DjangoModelFactory):
    class Meta:
        model = City
        django_get_or_create = ["name"]

    name = "温州市"


class DistrictFactory(DjangoModelFactory):
    class Meta:
        model = District

    city = factory.SubFactory(CityFactory)
    name = factory.Sequence(lambda n: f"第{n}区")


class SchoolFactory(DjangoModelFactory):
    class Meta:
        model = School

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"第{n}小学")
    stage = School.Stage.PRIMARY


def subject(code: str = "math") -> Subject:
    """Subjects are reference data created by a migration."""
    return Subject.objects.get(code=code)


class KnowledgePointFactory(DjangoModelFactory):
    """A knowledge point of maths, its code made from its name (one point per name and subject)."""

    class Meta:
        model = KnowledgePoint
        django_get_or_create = ["subject", "code"]

    subject = factory.LazyFunction(subject)
    name = factory.Sequence(lambda n: f"知识点{n}")
    code = factory.LazyAttribute(lambda point: f"kp.{point.name}")


def knowledge_points_named(names: list[str] | tuple[str, ...], subject_code: str = "math") -> list[KnowledgePoint]:
    """The points of these names in the subject's taxonomy, created where missing."""
    return [KnowledgePointFactory(subject=subject(subject_code), name=name) for name in names]


def grade_band(code: str) -> GradeBand:
    return GradeBand.objects.get(code=code)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    role = User.Role.STUDENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save(update_fields=["password"])


class StudentFactory(UserFactory):
    role = User.Role.STUDENT
    profile = factory.RelatedFactory("tests.factories.StudentProfileFactory", factory_related_name="user")


class StudentProfileFactory(DjangoModelFactory):
    class Meta:
        model = StudentProfile

    user = factory.SubFactory(UserFactory)
    school = factory.SubFactory(SchoolFactory)
    grade = 3


class TeacherFactory(UserFactory):
    role = User.Role.TEACHER

    @factory.post_generation
    def teaching(self, create, extracted, **kwargs):
        """``TeacherFactory(teaching=(["math"], ["primary-middle"]))``: subjects and grade bands."""
        subjects, bands = extracted or (["math"], ["primary-middle"])
        profile = TeacherProfile.objects.create(user=self, school=SchoolFactory())
        profile.subjects.set(Subject.objects.filter(code__in=subjects))
        profile.grade_bands.set(GradeBand.objects.filter(code__in=bands))


class StaffFactory(UserFactory):
    role = User.Role.STAFF

    @factory.post_generation
    def scope(self, create, extracted, **kwargs):
        """``StaffFactory(scope=district)`` limits the staff member to one district; default the city."""
        district = extracted
        city = district.city if district else CityFactory()
        StaffProfile.objects.create(user=self, city=city, district=district)


class AdministratorFactory(UserFactory):
    role = User.Role.ADMINISTRATOR
    is_staff = True
    is_superuser = True


class QuestionFactory(DjangoModelFactory):
    class Meta:
        model = Question

    student = factory.SubFactory(StudentFactory)
    subject = factory.LazyFunction(subject)
    grade = 3
    idempotency_key = factory.LazyFunction(lambda: uuid.uuid4().hex)
    typed_text = "小明有12个苹果，吃了5个，还剩几个？"


class AttachmentFactory(DjangoModelFactory):
    """A processed photo of a question (its file is whatever the test stores under ``processed``)."""

    class Meta:
        model = Attachment

    question = factory.SubFactory(QuestionFactory)
    kind = Attachment.Kind.PHOTO
    position = factory.Sequence(lambda number: number)
    content_type = "image/jpeg"
    size_bytes = 1000
    status = Attachment.Status.DONE
    width, height = 800, 600


class EntryFactory(DjangoModelFactory):
    """A library entry with a ready worked solution: searchable."""

    class Meta:
        model = Entry
        skip_postgeneration_save = True

    text = "小明有12个苹果，吃了5个，还剩几个？"
    subject = factory.LazyFunction(subject)
    grade = 3
    answer = factory.RelatedFactory("tests.factories.AnswerFactory", factory_related_name="entry")

    @factory.post_generation
    def knowledge_points(entry: Entry, create: bool, names: list[str] | None, **kwargs: object) -> None:
        """``knowledge_points=["减法"]``: the entry is tagged (as an import tags it) with the subject's points of
        these names, created where missing."""
        for rank, point in enumerate(knowledge_points_named(names or [], entry.subject.code)):
            EntryKnowledgePoint.objects.create(entry=entry, point=point, source=TagSource.IMPORT, rank=rank)


class AnswerFactory(DjangoModelFactory):
    class Meta:
        model = Answer

    entry = factory.SubFactory(EntryFactory, answer=None)
    kind = Answer.Kind.SOLUTION
    status = Answer.Status.READY
    solution = "12-5=7（个）"


class VideoAnswerFactory(AnswerFactory):
    """A ready video answer, 3:05 long, with its poster (the files are whatever the test stores there)."""

    kind = Answer.Kind.VIDEO
    solution = ""
    video = "library/videos/answer.mp4"
    poster = "library/posters/answer.jpg"
    duration_seconds = 185.2


class MatchFactory(DjangoModelFactory):
    """A library entry offered first, as the same question, to a student's understood question."""

    class Meta:
        model = Match

    question = factory.SubFactory(
        QuestionFactory, status=Question.Status.UNDERSTOOD, match_outcome=Question.MatchOutcome.SAME
    )
    entry = factory.SubFactory(EntryFactory)
    rank = 0
    score, dense, lexical = 0.97, 0.98, 0.95
    label = Match.Label.SAME


class FeedbackFactory(DjangoModelFactory):
    """A student's 解决了 by the answer offered first for their question, which it solved."""

    class Meta:
        model = Feedback

    match = factory.SubFactory(MatchFactory, question__status=Question.Status.RESOLVED)
    question = factory.SelfAttribute("match.question")
    choice = Feedback.Choice.RESOLVED


class LecturerFactory(TeacherFactory):
    """A teacher with the lecturer permission."""

    @factory.post_generation
    def lecturer(self, create, extracted, **kwargs):
        self.user_permissions.add(Permission.objects.get(codename="give_lectures"))


class LectureFactory(DjangoModelFactory):
    """A lecture in an hour for the city's grades 3-4 (maths); the scope narrows with ``district``/``school``."""

    class Meta:
        model = Lecture

    title = factory.Sequence(lambda n: f"讲座{n}")
    lecturer = factory.SubFactory(LecturerFactory)
    subject = factory.LazyFunction(subject)
    grade_band = factory.LazyFunction(lambda: grade_band("primary-middle"))
    city = factory.SubFactory(CityFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    planned_minutes = 40


class PublishedRecordingFactory(DjangoModelFactory):
    """The published replay of a lecture given yesterday for 40 minutes, as a row: ten minutes of video with a
    chapter at each of two page changes (no file: for what reads the row, not the video)."""

    class Meta:
        model = LectureRecording

    lecture = factory.SubFactory(
        LectureFactory,
        status=Lecture.Status.ENDED,
        starts_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=1)),
        started_at=factory.SelfAttribute("starts_at"),
        ended_at=factory.LazyAttribute(lambda lecture: lecture.starts_at + timedelta(minutes=40)),
    )
    status = LectureRecording.Status.PUBLISHED
    attempts = 1
    duration_seconds = 600.0
    chapters = factory.LazyFunction(
        lambda: [{"seconds": 95.5, "page": 1, "title": "第 2 页"}, {"seconds": 310.0, "page": 2, "title": "第 3 页"}]
    )
    rendered_at = factory.LazyFunction(timezone.now)


def lecture_stroke(number: int, page: int) -> dict:
    return {
        "v": 1,
        "type": "board.stroke",
        "stroke": f"t{number}",
        "page": page,
        "tool": "pen",
        "color": "#1a1a1a",
        "width": 4,
        "points": [[100, 100, 0], [600, 900, 40]],
        "end": True,
    }


def lecture_page(number: int) -> dict:
    return {"v": 1, "type": "board.page", "page": number}


def lecture_later(lecture: Lecture, contents: list[dict]) -> None:
    """The studio sends ``contents`` a second after what it sent before."""
    Lecture.objects.filter(pk=lecture.pk).update(started_at=F("started_at") - timedelta(seconds=1))
    lectures.lecture_events_append(lecture_id=lecture.pk, contents=contents)


def lecture_given(**fields) -> Lecture:
    """A lecture given over two pages for four seconds, with a second of the lecturer's voice: page 1, page 2,
    back to page 1 (twice: the second is no change), then ended; its recording is waiting to render."""
    lecture = LectureFactory(**fields)
    lectures.lecture_start(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    lectures.lecture_audio_save(lecture_id=lecture.pk, started_ms=500, pcm=b"\x10\x00" * 16_000)
    lecture_later(lecture, [lecture_stroke(1, 0)])
    lecture_later(lecture, [lecture_page(1), lecture_stroke(2, 1)])
    lecture_later(lecture, [lecture_page(0), lecture_stroke(3, 0), lecture_page(0)])
    lecture_later(lecture, [])
    return lectures.lecture_end(lecturer=lecture.lecturer, lecture_id=lecture.pk)


class LectureSlideFactory(DjangoModelFactory):
    """A page of a lecture's slides (its files are whatever the test stores there)."""

    class Meta:
        model = LectureSlide

    lecture = factory.SubFactory(LectureFactory)
    number = factory.Sequence(lambda n: n + 1)
    image = "lectures/slides/page.jpg"
    thumbnail = "lectures/slides/page-thumbnail.jpg"
    width, height = 1600, 900


class ShiftFactory(DjangoModelFactory):
    """A shift running now (an hour either side) for the teacher's first subject and grade band."""

    class Meta:
        model = Shift

    teacher = factory.SubFactory(TeacherFactory)
    subject = factory.LazyAttribute(lambda shift: shift.teacher.teacher_profile.subjects.first())
    grade_band = factory.LazyAttribute(lambda shift: shift.teacher.teacher_profile.grade_bands.first())
    city = factory.SubFactory(CityFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    capacity = 1


def opened_session(**question):
    """A session room opened the real way: a teacher on duty accepts the offer of a waiting question."""
    shift = ShiftFactory()
    routing.duty_connect(teacher=shift.teacher, channel_name=f"console-{shift.teacher.pk}")
    routing.duty_available_set(teacher=shift.teacher, available=True)
    defaults = {"status": Question.Status.WAITING_TEACHER, "text": "3加5等于几？"}
    ticket = routing.ticket_enqueue(question=QuestionFactory(**(defaults | question)))
    routing.dispatch(subject_id=ticket.subject_id)
    session = session_start(teacher=shift.teacher, offer_id=Offer.objects.get(ticket=ticket).pk)
    return TutoringSession.objects.select_related("teacher", "student", "question").get(pk=session.pk)


def message_append(*, session_id: int, user: User, role: str, content: dict) -> dict:
    """Store one board or chat message as a room socket does (a batch of one); its error is raised."""
    (outcome,) = session_messages_append([Message(session_id, user, role, content)])
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


def session_held(
    teacher,
    *,
    start,
    board: tuple[tuple[float, str], ...] = (),
    voice: tuple[tuple[float, float, str], ...] = (),
    end=None,
    rating: int | None = None,
    student=None,
) -> tuple[TutoringSession, list[int]]:
    """A session as its facts record it (for what reads the facts, such as the workload ledger): started at
    ``start``, board or chat events at (minutes, role), voice stretches at (minutes, seconds, role), ended and
    rated when given; and its facts' ids."""
    student = student or StudentFactory()
    question = QuestionFactory(student=student, status=Question.Status.WAITING_TEACHER)
    session = TutoringSession.objects.create(
        question=question,
        ticket=routing.ticket_enqueue(question=question),
        teacher=teacher,
        student=student,
        started_at=start,
    )
    facts = [SessionFact.objects.create(kind=SessionFact.Kind.STARTED, session=session, user=teacher, at=start).pk]
    for seq, (minute, role) in enumerate(board, start=1):
        SessionEvent.objects.create(
            session=session, seq=seq, at_ms=int(minute * 60_000), role=role, type="board.stroke", data={}
        )
    for minute, seconds, role in voice:
        AudioChunk.objects.create(
            session=session, role=role, started_ms=int(minute * 60_000), samples=int(seconds * 16_000), file="a"
        )
    if end is not None:
        facts.append(SessionFact.objects.create(kind=SessionFact.Kind.ENDED, session=session, at=end).pk)
    if rating is not None:
        rated = SessionFact.objects.create(
            kind=SessionFact.Kind.RATED, session=session, user=session.student, at=end, data={"score": rating}
        )
        facts.append(rated.pk)
    return session, facts


def presence(teacher, kind: str, when) -> int:
    """A "went on duty" or "went off duty" fact of the teacher at ``when``."""
    return RoutingFact.objects.create(kind=kind, teacher=teacher, at=when).pk


class StipendRuleFactory(DjangoModelFactory):
    """A city's rule version in force from October 2026: 40-minute class hours at 60 yuan (weekday daytime),
    70 (weekday evening from 17:00), 80 (weekend), 90 (holiday, 1 October); 5 yuan a session; lectures 50 / 100 /
    200 yuan from 0 / 100 / 500 students; full rate at a mean rating of 4.5 (80-120 %); 2 credit points a
    session and 1 a good rating."""

    class Meta:
        model = StipendRule

    city = factory.SubFactory(CityFactory)
    effective_from = date(2026, 10, 1)
    status = StipendRule.Status.ACTIVE
    class_hour_minutes = 40
    evening_from_hour = 17
    weekday_fen = 6000
    evening_fen = 7000
    weekend_fen = 8000
    holiday_fen = 9000
    holidays = ["2026-10-01"]
    session_fen = 500
    lecture_bands = [[0, 5000], [100, 10000], [500, 20000]]
    quality_reference_tenths = 45
    quality_floor_permille = 800
    quality_cap_permille = 1200
    credit_session = 2
    credit_good_rating = 1
    created_by = factory.SubFactory(AdministratorFactory)


NOVEMBER_2026 = date(2026, 11, 1)


def local_time(day: date, hour: int, minute: float = 0) -> datetime:
    """``day`` at ``hour``:``minute`` in the platform's time zone."""
    return datetime.combine(day, time(), tzinfo=timezone.get_current_timezone()) + timedelta(hours=hour, minutes=minute)


def on_duty(teacher, day: date, start: tuple[int, int], end: tuple[int, int]) -> None:
    """The teacher went on duty at ``start`` (hour, minute) of ``day`` and off at ``end``."""
    presence(teacher, RoutingFact.Kind.PRESENCE_STARTED, local_time(day, *start))
    presence(teacher, RoutingFact.Kind.PRESENCE_ENDED, local_time(day, *end))


def month_of_work(teacher=None):
    """A teacher's October and November 2026 as facts, with the rule versions to price them: the city's
    (``StipendRuleFactory``) for October, their school's own from November (evening 75 yuan). October: 40 min
    on duty one Friday evening. November: on duty 18:00-20:00 on Monday the 2nd with a session at 19:00 (3
    minutes counted, rated 5), and 30 min on duty on Saturday the 7th."""
    teacher = teacher or TeacherFactory()
    school = teacher.teacher_profile.school
    city_rule = StipendRuleFactory(city=school.district.city)
    school_rule = StipendRuleFactory(
        city=school.district.city, school=school, effective_from=NOVEMBER_2026, evening_fen=7500
    )
    on_duty(teacher, date(2026, 10, 30), (19, 0), (19, 40))
    monday = date(2026, 11, 2)
    on_duty(teacher, monday, (18, 0), (20, 0))
    session_held(
        teacher,
        start=local_time(monday, 19),
        board=((1, "teacher"), (3, "teacher")),
        end=local_time(monday, 19, 5),
        rating=5,
    )
    on_duty(teacher, date(2026, 11, 7), (10, 0), (10, 30))
    return teacher, school, city_rule, school_rule


def school_administrator(school, *, principal: bool = False) -> User:
    """An administrator of ``school`` (its principal when ``principal``)."""
    user = UserFactory(role=User.Role.ADMINISTRATOR)
    AdministratorProfile.objects.create(
        user=user, city=school.district.city, district=school.district, school=school, principal=principal
    )
    return user
