"""The seeded history (``history.history``) with what the engagement tables read besides: a rating with a comment
and one without, five students of grade 4 of whom two asked, a school silent since ten days before and one never
heard from, a teacher on duty for a shift across three hours and a volunteer across midnight, a lecture watched by
six students (five at once) with its replay, one watched by two, and a shift of next week."""

from dataclasses import dataclass
from datetime import date, timedelta

from tests.factories import (
    LectureFactory,
    SchoolFactory,
    ShiftFactory,
    StudentFactory,
    TeacherFactory,
    grade_band,
    presence,
    subject,
)
from tests.tutoring.insights.history import DAY, DAY_BEFORE, History, asked, at, held, history, queued
from tutoring.accounts.models import User
from tutoring.lectures.models import Lecture, LectureFact, LectureSignup
from tutoring.questions.models import Question
from tutoring.routing.models import RoutingFact, Shift, Ticket
from tutoring.schools.models import School
from tutoring.sessions.models import TutoringSession

QUIET_DAY = DAY - timedelta(days=10)  # 2026-10-23, the quiet school's last question
TODAY = date(2026, 11, 5)  # a Thursday: the staffing reads 2026-10-08 to 11-04 and plans 11-09 to 11-15
NEXT_MONDAY = date(2026, 11, 9)


@dataclass
class Engagement:
    seeded: History
    older: list[User]  # five students of grade 4 of the seeded school; the first two asked on DAY
    quiet_school: School  # five students, last asked on QUIET_DAY
    silent_school: School  # five students, never asked
    teacher: User  # on duty DAY 19:30-21:15 for a maths shift
    volunteer: User  # on duty DAY_BEFORE 23:30 to DAY 00:45, no shift
    lecture: Lecture  # DAY 19:00-19:45, watched by six, five at once; its replay by two
    small_lecture: Lecture  # DAY 16:00-16:30 for the small school only, watched by two
    shift: Shift  # next Monday 20:00-21:30


def engagement_history() -> Engagement:
    seeded = history()
    school, questions = seeded.school, seeded.questions
    TutoringSession.objects.filter(question=questions["rated"]).update(rating_comment="  讲得很清楚，谢谢老师  ")
    older = [StudentFactory(profile__school=school, profile__grade=4) for _ in range(5)]
    teacher = questions["rated"].tickets.get().teacher
    # A rating with no comment (blank words are none): students[3] at 19:10, answered after 30 s, rated 4.
    plain = asked(seeded.students[3], at(DAY, 19, 10), Question.Status.ANSWERED, outcome="none")
    ticket = queued(plain, teacher, 30, Ticket.Status.FINISHED, at(DAY, 19, 11))
    session = held(ticket, at(DAY, 19, 12), 400, 4)
    TutoringSession.objects.filter(pk=session.pk).update(rating_comment="   ")
    for student in older[:2]:
        question = asked(student, at(DAY, 18, 0), Question.Status.RESOLVED, outcome="same")
        Question.objects.filter(pk=question.pk).update(grade=4)
    quiet_school = SchoolFactory(district=seeded.district)
    quiet = [StudentFactory(profile__school=quiet_school, profile__grade=3) for _ in range(5)]
    asked(quiet[0], at(QUIET_DAY, 17, 0), Question.Status.RESOLVED, outcome="same")
    silent_school = SchoolFactory(district=seeded.district)
    for _ in range(5):
        StudentFactory(profile__school=silent_school, profile__grade=3)

    city = school.district.city
    duty_teacher = TeacherFactory()
    on_shift = ShiftFactory(
        teacher=duty_teacher, city=city, starts_at=at(DAY, 19, 0), ends_at=at(DAY, 22, 0), subject=subject()
    )
    RoutingFact.objects.create(
        kind=RoutingFact.Kind.PRESENCE_STARTED, teacher=duty_teacher, at=at(DAY, 19, 30), data={"shift_id": on_shift.pk}
    )
    presence(duty_teacher, RoutingFact.Kind.PRESENCE_STARTED, at(DAY, 20, 0))  # already on: changes nothing
    presence(duty_teacher, RoutingFact.Kind.PRESENCE_ENDED, at(DAY, 21, 15))
    volunteer = TeacherFactory()
    volunteer.teacher_profile.school = school
    volunteer.teacher_profile.save(update_fields=["school"])
    RoutingFact.objects.create(
        kind=RoutingFact.Kind.PRESENCE_STARTED, teacher=volunteer, at=at(DAY_BEFORE, 23, 30), data={"shift_id": None}
    )
    presence(volunteer, RoutingFact.Kind.PRESENCE_ENDED, at(DAY, 0, 45))
    next_shift = ShiftFactory(
        teacher=duty_teacher,
        city=city,
        subject=subject(),
        grade_band=grade_band("primary-middle"),
        starts_at=at(NEXT_MONDAY, 20, 0),
        ends_at=at(NEXT_MONDAY, 21, 30),
    )

    viewers = [*seeded.students, older[0]]
    lecture = _held(city, at(DAY, 19, 0), minutes=45, title="分数的意义")
    for student in viewers[:3]:
        LectureSignup.objects.create(lecture=lecture, student=student)
    moves = [(0, 0, True), (1, 1, True), (2, 2, True), (3, 3, True), (10, 0, False), (11, 4, True), (12, 5, True)]
    moves += [(30, 1, False), *((45, number, False) for number in (2, 3, 4, 5))]
    for minute, number, joined in moves:
        _fact(lecture, viewers[number], LectureFact.Kind.JOINED if joined else LectureFact.Kind.LEFT, minute)
    replay_day = at(DAY + timedelta(days=1), 10, 0)
    for user, seconds in ((viewers[0], 60.0), (viewers[0], 60.0), (older[1], 300.0)):
        LectureFact.objects.create(
            kind=LectureFact.Kind.REPLAY_WATCHED, lecture=lecture, user=user, at=replay_day, data={"seconds": seconds}
        )
    small_school = seeded.small_school
    small_lecture = _held(city, at(DAY, 16, 0), minutes=30, title="小数", school=small_school)
    for number in (0, 1):
        _fact(small_lecture, viewers[number], LectureFact.Kind.JOINED, 0)
    return Engagement(
        seeded, older, quiet_school, silent_school, duty_teacher, volunteer, lecture, small_lecture, next_shift
    )


def _held(city, started, *, minutes: int, title: str, school: School | None = None) -> Lecture:
    lecture = LectureFactory(
        city=city, district=school.district if school else None, school=school, title=title, starts_at=started
    )
    Lecture.objects.filter(pk=lecture.pk).update(
        status=Lecture.Status.ENDED, started_at=started, ended_at=started + timedelta(minutes=minutes)
    )
    lecture.refresh_from_db()
    LectureFact.objects.create(kind=LectureFact.Kind.STARTED, lecture=lecture, at=started)
    return lecture


def _fact(lecture: Lecture, user: User, kind: str, minute: int) -> None:
    assert lecture.started_at is not None
    LectureFact.objects.create(
        kind=kind,
        lecture=lecture,
        user=user,
        at=lecture.started_at + timedelta(minutes=minute),
        data={"role": "viewer"},
    )
