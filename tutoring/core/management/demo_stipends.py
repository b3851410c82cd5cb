"""The demo's stipends (issue 13): a few weeks of the demo teachers' work, the rule versions of the city and of one
school put in force, and the months stated and taken along their way to publication, relative to today: the
month before last locked and reported, last month in publicity (公示) with a teacher's objection still open, and
this month a draft.

Duty presence and what a session room records (its start, end and rating, the teacher's board and voice) are
appended only by the live system, a console's socket and a room's: here they are written as its services write
them (``routing.services._duty_refresh``, ``sessions.services``; the way ``tests/factories.py``'s ``on_duty``
and ``session_held`` do), with each session's question, ticket and room as they stand once it is over. Everything
after them goes through the stipends' services; the steps of the month before last happen on their own days (the
services' clock is set to each step's moment), so that its publicity is over before the principal approves it.
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from unittest import mock

from django.db import transaction
from django.utils import timezone

from tutoring.accounts.models import StudentProfile, User
from tutoring.core.management.demo_answers import Script, session_script_store
from tutoring.questions.models import Question
from tutoring.routing.models import RoutingFact, Ticket
from tutoring.schools.models import City, GradeBand, School, Subject
from tutoring.sessions.models import SessionFact, TutoringSession
from tutoring.stipends import services as stipends
from tutoring.stipends.models import SchoolMonth, StipendRule

REVIEWED_SCHOOL = "瓦市小学"  # its administrator and principal take its months along the way
REVIEWER, PRINCIPAL = "school-admin", "school-principal"
OBJECTOR = "teacher1"  # objects during both publicities
CORRECTED = "duty-english-primary-middle"  # corrected in the month before last's review
WEEKS_BEFORE_LAST_MONTH = 3  # the facts start this many weeks before last month's first day
PUBLICITY_DAYS = 7
KEY_PREFIX = "demo-stipends-"  # the idempotency keys of the questions answered in the seeded sessions
SESSION_START = timedelta(minutes=20)  # into the first duty of a teacher's week


@dataclass(frozen=True)
class Answered:
    """A question answered in a session room: what the teacher writes, line by line (the board's handwriting
    has Latin letters, digits and signs only)."""

    text: str
    lines: tuple[str, str, str]


def _times(week: int) -> Answered:
    """Grade 3: a two-digit number times a one-digit one, worked by tens and ones."""
    tens, ones, times = 1 + week % 3, 1 + week % 8, 3 + week % 5
    number = tens * 10 + ones
    return Answered(
        f"一盒彩笔有{number}支，{times}盒一共有多少支？",
        (f"{number} × {times}", f"= {tens * 10}×{times} + {ones}×{times}", f"= {number * times}"),
    )


WORDS = (
    ("苹果", "apple", "two apples"),
    ("书", "book", "three books"),
    ("猫", "cat", "two cats"),
    ("铅笔", "pencil", "four pencils"),
    ("鸟", "bird", "five birds"),
    ("杯子", "cup", "two cups"),
    ("鸡蛋", "egg", "six eggs"),
    ("橘子", "orange", "two oranges"),
)


def _word(week: int) -> Answered:
    """Grade 3: a word, with a and its plural."""
    chinese, english, plural = WORDS[week % len(WORDS)]
    article = "an" if english[0] in "aeiou" else "a"
    return Answered(f"“{chinese}”用英语怎么说？复数呢？", (english, f"{article} {english}", plural))


def _equation(week: int) -> Answered:
    """Grade 8: a linear equation, solved in two steps."""
    factor, root, minus = 2 + week % 4, 3 + week % 5, 1 + week % 7
    total = factor * root - minus
    return Answered(
        f"解方程：{factor}x - {minus} = {total}",
        (f"{factor}x - {minus} = {total}", f"{factor}x = {total + minus}", f"x = {root}"),
    )


VERBS = (
    ("go", "went", "I went home."),
    ("eat", "ate", "I ate it."),
    ("see", "saw", "I saw it."),
    ("run", "ran", "I ran fast."),
    ("come", "came", "He came."),
    ("take", "took", "I took it."),
    ("write", "wrote", "I wrote it."),
    ("buy", "bought", "I bought it."),
)


def _past(week: int) -> Answered:
    """Grade 5: the past tense of an irregular verb, in a sentence."""
    verb, past, sentence = VERBS[week % len(VERBS)]
    return Answered(f"{verb}的过去式是什么？怎么用？", (verb, past, sentence))


@dataclass(frozen=True)
class Rota:
    """A demo teacher's week: on duty on these weekdays (0 is Monday) from ``start`` to ``end`` (hour, minute);
    in the first duty of the week they answer a question of ``student``'s in a session room (the week's, from
    ``question``), explaining it first (``speech``)."""

    teacher: str
    duties: tuple[tuple[int, tuple[int, int], tuple[int, int]], ...]
    student: str
    subject: str
    grade: int
    question: Callable[[int], Answered]
    speech: str


ROTAS = (
    Rota(
        teacher="teacher1",
        duties=((0, (19, 0), (20, 30)), (2, (18, 30), (20, 0)), (5, (9, 0), (10, 30))),
        student="student1",
        subject="math",
        grade=3,
        question=_times,
        speech="先把两位数拆成几十和几，分别乘，再加起来。",
    ),
    Rota(
        teacher="duty-english-primary-middle",
        duties=((1, (19, 0), (20, 30)), (3, (16, 0), (17, 30)), (6, (14, 0), (15, 0))),
        student="student1",
        subject="english",
        grade=3,
        question=_word,
        speech="我们先读一遍这个单词，再写下来，最后看看复数。",
    ),
    Rota(
        teacher="teacher2",
        duties=((1, (20, 0), (21, 30)), (4, (19, 0), (20, 0))),
        student="student3",
        subject="math",
        grade=8,
        question=_equation,
        speech="先移项，要变号；再两边同时除以未知数的系数。",
    ),
    Rota(
        teacher="teacher3",
        duties=((2, (17, 30), (19, 0)), (5, (15, 0), (16, 0))),
        student="student2",
        subject="english",
        grade=5,
        question=_past,
        speech="这是不规则动词，它的过去式要单独记住。",
    ),
)

# A teacher's sessions in turn: (minutes of the answer, rating); None: a student who left at once (a session too
# short to count, flagged); a rating of None: not rated.
SESSION_SHAPES: tuple[tuple[int, int | None] | None, ...] = (
    (8, 5),
    (12, 4),
    (6, 5),
    (10, None),
    None,
    (14, 5),
    (9, 3),
    (7, 5),
)

# The city's rule version from the month before last, its school's own from last month (more for evenings and
# weekends), and the city's next from this month (6 yuan a session).
CITY_RULE: dict[str, Any] = {
    "class_hour_minutes": 40,
    "evening_from_hour": 17,
    "weekday_fen": 6000,
    "evening_fen": 7000,
    "weekend_fen": 8000,
    "holiday_fen": 9000,
    "session_fen": 500,
    "lecture_bands": [[0, 5000], [100, 10000], [500, 20000]],
    "quality_reference_tenths": 45,
    "quality_floor_permille": 800,
    "quality_cap_permille": 1200,
    "credit_session": 2,
    "credit_lecture": 5,
    "credit_good_rating": 1,
    "credit_helped": 1,
}
SCHOOL_RULE = CITY_RULE | {"evening_fen": 7500, "weekend_fen": 8500}
CITY_RULE_NEXT = CITY_RULE | {"session_fen": 600}

CORRECTION = "复核：一次值班中有30分钟在参加教研活动，不计入值班。"
CORRECTION_FEN = -5250  # 30 minutes at 70 yuan a 40-minute class hour
OBJECTION_LOCKED = "有一个周六上午的值班好像没有计入，请核对。"
ANSWER_LOCKED = "已核实：周六上午的值班已计入当天，无需更正。"
OBJECTION_OPEN = "最后一周周三晚上的值班时长好像少算了半小时，请核对。"


@dataclass(frozen=True)
class Months:
    """The three months the demo states, by their first days."""

    before_last: date
    last: date
    this: date

    @classmethod
    def of(cls, today: date) -> "Months":
        this = today.replace(day=1)
        last = (this - timedelta(days=1)).replace(day=1)
        return cls(before_last=(last - timedelta(days=1)).replace(day=1), last=last, this=this)


def local_time(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour``:``minute`` in the platform's time zone."""
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """The services (and the rows' creation times) read ``moment`` as now: a step taken on its own day."""
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def stipends_seed() -> list[str]:
    """Seed the facts, rules and months (idempotent: what exists is left as it is); what was done, as lines."""
    now = timezone.now()
    months = Months.of(timezone.localdate(now))
    city = City.objects.get(name="温州市")
    school = School.objects.get(name=REVIEWED_SCHOOL)
    admin = User.objects.get(username="admin")
    done = []
    with transaction.atomic():
        sessions, duties = _facts(months.last - timedelta(weeks=WEEKS_BEFORE_LAST_MONTH), now)
        if sessions or duties:
            done.append(f"Demo stipends: {duties} duties and {sessions} answering sessions of past weeks recorded.")
        if _rules(city, school, admin, months):
            done.append("Demo stipend rules put in force: the city's two versions and one school's own.")
        done += _months(school, months)
    return done


# --- Facts ------------------------------------------------------------------------------------


def _facts(first: date, now: datetime) -> tuple[int, int]:
    """Each rota's duties and sessions from ``first`` to what has ended by ``now`` that are not recorded yet; the
    numbers of sessions and duties written."""
    teachers = {user.username: user for user in User.objects.filter(username__in=[rota.teacher for rota in ROTAS])}
    went_on = set(
        RoutingFact.objects.filter(
            kind=RoutingFact.Kind.PRESENCE_STARTED, teacher__in=teachers.values(), at__gte=local_time(first, 0)
        ).values_list("teacher_id", "at")
    )
    answered = set(
        Question.objects.filter(idempotency_key__startswith=KEY_PREFIX).values_list("idempotency_key", flat=True)
    )
    presence: list[RoutingFact] = []
    sessions = 0
    for rota in ROTAS:
        teacher = teachers[rota.teacher]
        day, week = first, 0
        while day <= timezone.localdate(now):
            days = [
                (day + timedelta(days=(weekday - day.weekday()) % 7), start, end) for weekday, start, end in rota.duties
            ]
            for number, (duty_day, start, end) in enumerate(sorted(days)):
                went, left = local_time(duty_day, *start), local_time(duty_day, *end)
                if duty_day < first or left > now or (teacher.pk, went) in went_on:
                    continue
                presence += [
                    RoutingFact(
                        kind=RoutingFact.Kind.PRESENCE_STARTED, teacher=teacher, at=went, data={"shift_id": None}
                    ),
                    RoutingFact(
                        kind=RoutingFact.Kind.PRESENCE_ENDED, teacher=teacher, at=left, data={"reason": "left"}
                    ),
                ]
                key = f"{KEY_PREFIX}{rota.teacher}-{duty_day:%Y%m%d}"
                if number == 0 and key not in answered:
                    shape = SESSION_SHAPES[week % len(SESSION_SHAPES)]
                    _session(rota, teacher, key, went + SESSION_START, week, shape)
                    sessions += 1
            day += timedelta(weeks=1)
            week += 1
    RoutingFact.objects.bulk_create(sorted(presence, key=lambda fact: fact.at))  # ids in the order of time
    return sessions, len(presence) // 2


def _session(
    rota: Rota, teacher: User, key: str, start: datetime, week: int, shape: tuple[int, int | None] | None
) -> None:
    """A question the student asked and nobody had answered, taken by the teacher at ``start``: the room's board
    and voice as it stored them (``shape``: the minutes of the answer and the student's rating; None: the student
    left at once), ended, and rated; with the facts the room appended."""
    student = User.objects.get(username=rota.student)
    subject = Subject.objects.get(code=rota.subject)
    answered = rota.question(week)
    script = Script()
    if shape is None:
        script.write(answered.lines[0], left=120, top=80)
        minutes, rating = 0, None
    else:
        minutes, rating = shape
        script.say(rota.speech)
        gap = minutes * 60_000 // len(answered.lines)  # under the ledger's idle gap: all of it counts
        right = 0
        for number, line in enumerate(answered.lines):
            if number:
                script.pause(gap)
            right = script.write(line, left=120, top=80 + number * 150)
        script.pause(gap)
        script.underline(left=110, right=right + 10, y=80 + len(answered.lines) * 150 - 55)
    end = start + timedelta(milliseconds=script.clock_ms + 20_000)

    question = Question.objects.create(
        student=student,
        subject=subject,
        grade=rota.grade,
        idempotency_key=key,
        typed_text=answered.text,
        text=answered.text,
        text_source=Question.TextSource.TYPED,
        text_confidence=1.0,
        match_outcome=Question.MatchOutcome.NONE,
        status=Question.Status.ANSWERED,
    )
    asked = start - timedelta(minutes=2)
    Question.objects.filter(pk=question.pk).update(created_at=asked, understood_at=asked, matched_at=asked)
    profile = StudentProfile.objects.select_related("school__district").get(user=student)
    ticket = Ticket.objects.create(
        question=question,
        subject=subject,
        grade=rota.grade,
        grade_band=GradeBand.objects.get(min_grade__lte=rota.grade, max_grade__gte=rota.grade),
        school=profile.school,
        district=profile.school.district,
        city=profile.school.district.city,
        status=Ticket.Status.FINISHED,
        queued_at=asked + timedelta(minutes=1),
        teacher=teacher,
        assigned_at=start,
        finished_at=end,
    )
    session = TutoringSession.objects.create(
        ticket=ticket,
        question=question,
        teacher=teacher,
        student=student,
        status=TutoringSession.Status.ENDED,
        started_at=start,
        ended_at=end,
        ended_reason=TutoringSession.EndReason.TEACHER,
        rating=rating,
        rated_at=end + timedelta(minutes=1) if rating else None,
    )
    last_seq = session_script_store(session, script)
    facts = [
        SessionFact(
            kind=SessionFact.Kind.STARTED, session=session, user=teacher, at=start, data={"ticket_id": ticket.pk}
        ),
        SessionFact(
            kind=SessionFact.Kind.ENDED,
            session=session,
            user=teacher,
            at=end,
            data={
                "reason": TutoringSession.EndReason.TEACHER,
                "duration_seconds": round((end - start).total_seconds(), 3),
                "events": last_seq,
            },
        ),
    ]
    if rating:
        facts.append(
            SessionFact(
                kind=SessionFact.Kind.RATED,
                session=session,
                user=student,
                at=end + timedelta(minutes=1),
                data={"score": rating, "comment": ""},
            )
        )
    SessionFact.objects.bulk_create(facts)


# --- Rules ------------------------------------------------------------------------------------


def _holidays(months: Months) -> list[str]:
    """New Year's Day, Labour Day (1-5 May) and National Day (1-7 October) of the years the demo states."""
    years = sorted({months.before_last.year, months.this.year})
    return [
        f"{year}-{month:02d}-{day:02d}"
        for year in years
        for month, days in ((1, 1), (5, 5), (10, 7))
        for day in range(1, days + 1)
    ]


def _rules(city: City, school: School, admin: User, months: Months) -> bool:
    """The city's version from the month before last and its next from this month, and the school's own from
    last month: each a draft the administrator writes and puts in force ten days before it starts. Nothing when
    the city has versions already; True when it did."""
    if StipendRule.objects.filter(city=city).exists():
        return False
    versions = (
        (months.before_last, None, CITY_RULE),
        (months.last, school, SCHOOL_RULE),
        (months.this, None, CITY_RULE_NEXT),
    )
    for effective_from, place, fields in versions:
        with clock_at(local_time(effective_from - timedelta(days=10), 10)):
            rule = StipendRule.objects.create(
                city=city,
                school=place,
                effective_from=effective_from,
                holidays=_holidays(months),
                created_by=admin,
                **fields,
            )
            stipends.rule_activate(rule=rule, user=admin)
    return True


# --- Months -----------------------------------------------------------------------------------


def _months(school: School, months: Months) -> list[str]:
    """Each month stated once: the month before last the night after it ended, then reviewed, corrected,
    publicized, objected to, answered, approved and reported on the days after; last month stated, reviewed and
    publicized today, with an objection; this month a draft."""
    done = []
    reviewer, principal = User.objects.get(username=REVIEWER), User.objects.get(username=PRINCIPAL)
    objector, corrected = User.objects.get(username=OBJECTOR), User.objects.get(username=CORRECTED)
    if not SchoolMonth.objects.filter(month=months.before_last).exists():

        def on(day: int, hour: int, minute: int = 0) -> AbstractContextManager[None]:
            return clock_at(local_time(months.last + timedelta(days=day - 1), hour, minute))

        with on(1, 2):
            stipends.statements_build(months.before_last)
        month_id = SchoolMonth.objects.get(school=school, month=months.before_last).pk
        with on(2, 9):
            stipends.review_start(school_month_id=month_id, user=reviewer)
        with on(2, 10):
            stipends.adjustment_add(
                school_month_id=month_id,
                teacher_id=corrected.pk,
                amount_fen=CORRECTION_FEN,
                credit=0,
                reason=CORRECTION,
                user=reviewer,
            )
        with on(3, 10):
            stipends.publicity_start(school_month_id=month_id, days=5, user=reviewer)
        with on(4, 20, 15):
            objection = stipends.objection_raise(school_month_id=month_id, teacher=objector, reason=OBJECTION_LOCKED)
        with on(5, 9):
            stipends.objection_answer(objection_id=objection.pk, answer=ANSWER_LOCKED, user=reviewer)
        with on(9, 10):
            stipends.approve(school_month_id=month_id, user=principal)
        with on(10, 9):
            stipends.report(school_month_id=month_id, user=reviewer)
        done.append(f"Demo statements of {months.before_last:%Y-%m}: {school.name}'s locked and reported.")
    if not SchoolMonth.objects.filter(month=months.last).exists():
        stipends.statements_build(months.last)
        month_id = SchoolMonth.objects.get(school=school, month=months.last).pk
        stipends.review_start(school_month_id=month_id, user=reviewer)
        stipends.publicity_start(school_month_id=month_id, days=PUBLICITY_DAYS, user=reviewer)
        stipends.objection_raise(school_month_id=month_id, teacher=objector, reason=OBJECTION_OPEN)
        done.append(f"Demo statements of {months.last:%Y-%m}: {school.name}'s in publicity, with an objection.")
    if not SchoolMonth.objects.filter(month=months.this).exists():
        stipends.statements_build(months.this)
        done.append(f"Demo statements of {months.this:%Y-%m}: drafts.")
    return done
