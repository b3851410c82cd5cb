"""The demo's past: a few months of questions asked across its schools, matched, judged, queued, answered in
sessions and rated, so that the insights show real shapes at once (evening peaks, weekends, schools and grades
that ask more, waits and ratings). Generated here from templates, not copied from any evaluation data; written
directly as the rows the platform would have left (no session board, no stipend facts: only what insights read)."""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from tutoring.accounts.models import StudentProfile, User
from tutoring.knowledge.models import KnowledgePoint, TagSource
from tutoring.lectures.models import Lecture, LectureFact, LectureSignup
from tutoring.library.models import Entry, Feedback, Match
from tutoring.questions.models import Question, QuestionKnowledgePoint
from tutoring.routing.models import Ticket
from tutoring.schools.models import GradeBand, School, Subject
from tutoring.sessions.models import TutoringSession

DAYS = 90
STUDENTS_PER_SCHOOL = 12
PREFIX = "demo-history-"
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "子涵浩然欣怡梓轩雨桐一诺宇轩诗涵俊杰思远可馨嘉怡明轩若曦博文"
# Questions asked in each local hour (relative weights): after school and in the evening most.
HOURS = {7: 1, 12: 2, 16: 3, 17: 5, 18: 8, 19: 12, 20: 14, 21: 9, 22: 3}
RATINGS = ((5, 60), (4, 25), (3, 9), (2, 4), (1, 2))
# What students write with a rating, now and then (most ratings come with none).
COMMENTS = {
    5: ("讲得很清楚，谢谢老师！", "一下子就懂了", "老师很有耐心", "画图讲解特别好懂"),
    4: ("听懂了，就是有点快", "谢谢老师", "方法很好，下次还找您"),
    3: ("还有一点没明白", "等了比较久"),
    2: ("声音有点小，没太听清", "讲得太快了"),
    1: ("老师没讲完就断开了",),
}
COMMENTED = 0.35  # the share of ratings that come with a comment
QUIET_DAYS = 12  # the last school's students asked nothing in these last days: a silent school in the insights


@dataclass(frozen=True)
class Template:
    subject: str
    grades: tuple[int, int]
    text: str  # formatted with a, b, c
    point: str  # a knowledge point's name in the subject's taxonomy
    answered_by: str = ""  # the demo library's answered question offered for it (none: no video answers it)


TEMPLATES = (
    Template(
        "math",
        (1, 2),
        "小明有{a}个苹果，吃了{b}个，还剩几个？",
        "10的组成及10以内的加减法",
        "小明有12个苹果，吃了5个，还剩几个？",
    ),
    Template(
        "math",
        (2, 3),
        "一根绳子长{c}米，平均分成{b}段，每段长多少米？",
        "有余数除法的认识",
        "一根绳子长24米，平均分成6段，每段长多少米？",
    ),
    Template(
        "math", (3, 4), "一个长方形的长是{a}厘米，宽是{b}厘米，它的周长是多少厘米？", "长方形和正方形周长的计算公式"
    ),
    Template(
        "math",
        (4, 5),
        "一个长方形的长是{a}厘米，宽是{b}厘米，它的面积是多少平方厘米？",
        "长方形和正方形的面积",
        "一个长方形的长是8厘米，宽是5厘米，它的面积是多少平方厘米？",
    ),
    Template(
        "math",
        (4, 5),
        "一个数的{b}倍加{a}等于{c}，这个数是多少？",
        "解两步方程",
        "一个数的3倍加5等于20，这个数是多少？",
    ),
    Template(
        "math",
        (5, 6),
        "一件衣服原价{c}元，打八折后多少元？",
        "已知总量和百分数求部分量（及逆问题）",
        "一件衣服原价200元，打八折后多少元？",
    ),
    Template("math", (7, 7), "解方程：{b}x + {a} = {c}", "一元一次方程", "解方程：2x + 3 = 11"),
    Template("math", (8, 9), "已知一次函数y = {b}x + {a}，当x = {b}时，y等于多少？", "一次函数"),
    Template("chinese", (3, 6), "“守株待兔”这个成语告诉我们什么道理？", "成语", "“守株待兔”这个成语告诉我们什么道理？"),
    Template("chinese", (3, 6), "“春眠不觉晓”的下一句是什么？", "古诗词"),
    Template(
        "physics",
        (8, 8),
        "一辆汽车{b}小时行驶了{c}千米，它的平均速度是多少？",
        "速度",
        "一辆汽车2小时行驶了120千米，它的平均速度是多少千米每小时？",
    ),
    Template(
        "physics",
        (8, 8),
        "一个物体的质量是{b}千克，它受到的重力是多少牛？",
        "重力",
        "一个物体的质量是2千克，它受到的重力是多少牛？（g取10牛/千克）",
    ),
)


def _name(generator: random.Random) -> str:
    given = generator.randrange(0, len(GIVEN) - 1, 2)
    return generator.choice(SURNAMES) + GIVEN[given : given + 2]


def _students(generator: random.Random) -> list[User]:
    """Twelve students in each demo school, of the grades it teaches."""
    students = []
    password = make_password(None)  # they never sign in
    for school in School.objects.order_by("pk"):
        stages: dict[str, tuple[int, int]] = {School.Stage.PRIMARY: (1, 6), School.Stage.MIDDLE: (7, 9)}
        grades = stages.get(school.stage, (1, 9))
        for number in range(STUDENTS_PER_SCHOOL):
            username = f"{PREFIX}{school.pk}-{number}"
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": _name(generator), "role": User.Role.STUDENT, "password": password},
            )
            if created:
                grade = grades[0] + number % (grades[1] - grades[0] + 1)
                StudentProfile.objects.create(user=user, school=school, grade=grade)
            students.append(user)
    return students


def _moment(generator: random.Random, day: date) -> datetime:
    hour = generator.choices(list(HOURS), weights=list(HOURS.values()))[0]
    local = datetime.combine(day, time(hour, generator.randrange(60), generator.randrange(60)))
    return local.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))


def history_seed(*, days: int = DAYS, seed: int = 7) -> int:
    """The past ``days`` days of questions (idempotent: nothing is added once they exist); returns how many."""
    if Question.objects.filter(idempotency_key__startswith=PREFIX).exists():
        return 0
    generator = random.Random(seed)
    with transaction.atomic():
        students = _students(generator)
        asked = _questions(generator, students, days)
        _lecture_audiences(generator, students)
        return asked


def _questions(generator: random.Random, students: list[User], days: int) -> int:
    subjects = {subject.code: subject for subject in Subject.objects.all()}
    points = {
        (point.subject.code, point.name): point
        for point in KnowledgePoint.objects.filter(is_active=True).select_related("subject")
    }
    bands = list(GradeBand.objects.all())
    teachers = {subject: list(User.objects.filter(teacher_profile__subjects=subjects[subject])) for subject in subjects}
    profiles = {profile.user_id: profile for profile in StudentProfile.objects.select_related("school__district")}
    today = timezone.localdate()
    quiet = max(profiles[student.pk].school_id for student in students)
    planned = []
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        count = generator.randint(14, 22) + (8 if day.isoweekday() >= 6 else 0)
        for _ in range(count):
            student = generator.choice(students)
            if profiles[student.pk].school_id == quiet and day > today - timedelta(days=QUIET_DAYS):
                continue
            grade = profiles[student.pk].grade
            fitting = [t for t in TEMPLATES if t.grades[0] <= grade <= t.grades[1] and teachers.get(t.subject)]
            if fitting:
                planned.append((student, grade, generator.choice(fitting), _moment(generator, day)))
    questions = []
    for number, (student, grade, template, asked_at) in enumerate(planned):
        a, b = generator.randint(2, 9), generator.randint(2, 9)
        text = template.text.format(a=a, b=b, c=a * b + generator.randint(1, 9))
        roll = generator.random()
        outcome = "same" if roll < 0.2 else "similar" if roll < 0.55 else "none"
        solved = (outcome == "same" and generator.random() < 0.75) or (
            outcome == "similar" and generator.random() < 0.4
        )
        questions.append(
            Question(
                student=student,
                subject=subjects[template.subject],
                grade=grade,
                idempotency_key=f"{PREFIX}{number}",
                typed_text=text,
                text=text,
                text_source=Question.TextSource.TYPED,
                text_confidence=1.0,
                status=Question.Status.RESOLVED if solved else Question.Status.WAITING_TEACHER,
                understood_at=asked_at + timedelta(seconds=1),
                match_outcome=outcome,
                matched_at=asked_at + timedelta(seconds=2),
            )
        )
    Question.objects.bulk_create(questions)
    for question, (*_, asked_at) in zip(questions, planned, strict=True):
        question.created_at = asked_at  # auto_now_add set it to now
    Question.objects.bulk_update(questions, ["created_at"], batch_size=500)
    tags, feedback, tickets, sessions = [], [], [], []
    entries = {entry.text: entry for entry in Entry.objects.filter(text__in=[t.answered_by for t in TEMPLATES])}
    for question, (student, grade, template, asked_at) in zip(questions, planned, strict=True):
        point = points.get((template.subject, template.point))
        if point is not None:
            tags.append(QuestionKnowledgePoint(question=question, point=point, source=TagSource.TAGGER, confidence=0.8))
        entry = entries.get(template.answered_by)
        match = None
        if entry is not None and question.match_outcome != "none":
            same = question.match_outcome == "same"
            match = Match.objects.create(
                question=question, entry=entry, rank=0, score=0.95 if same else 0.8, dense=0.95 if same else 0.82,
                lexical=0.9 if same else 0.6, label=question.match_outcome,
            )  # fmt: skip
        if question.status == Question.Status.RESOLVED:
            feedback.append(Feedback(question=question, choice=Feedback.Choice.RESOLVED, match=match))
            continue
        if question.match_outcome != "none":
            feedback.append(Feedback(question=question, choice=Feedback.Choice.STILL_STUCK, match=match))
        profile = profiles[student.pk]
        queued_at = asked_at + timedelta(seconds=generator.randint(20, 90))
        band = next((band for band in bands if band.min_grade <= grade <= band.max_grade), None)
        ticket = Ticket(
            question=question,
            subject=question.subject,
            grade=grade,
            grade_band=band,
            city=profile.school.district.city,
            district=profile.school.district,
            school=profile.school,
            queued_at=queued_at,
        )
        tickets.append(ticket)
        if generator.random() < 0.1:
            ticket.status, question.status = Ticket.Status.CANCELLED, Question.Status.CANCELLED
            ticket.finished_at = queued_at + timedelta(seconds=generator.randint(60, 400))
            continue
        waited = min(generator.expovariate(1 / 45), 1500)
        started = queued_at + timedelta(seconds=waited + 3)
        ended = started + timedelta(seconds=generator.randint(180, 900))
        ticket.status, ticket.teacher = Ticket.Status.FINISHED, generator.choice(teachers[template.subject])
        ticket.assigned_at, ticket.finished_at = queued_at + timedelta(seconds=waited), ended
        question.status = Question.Status.ANSWERED
        rated = generator.random() < 0.7
        rating = generator.choices([r for r, _ in RATINGS], weights=[w for _, w in RATINGS])[0] if rated else None
        sessions.append(
            TutoringSession(
                ticket=ticket,
                question=question,
                teacher=ticket.teacher,
                student=student,
                status=TutoringSession.Status.ENDED,
                started_at=started,
                ended_at=ended,
                ended_reason=TutoringSession.EndReason.TEACHER,
                rating=rating,
                rated_at=ended + timedelta(seconds=20) if rated else None,
                rating_comment=generator.choice(COMMENTS[rating])
                if rating is not None and generator.random() < COMMENTED
                else "",
            )
        )
    Question.objects.bulk_update(questions, ["status"], batch_size=500)
    QuestionKnowledgePoint.objects.bulk_create(tags)
    Feedback.objects.bulk_create(feedback)
    Ticket.objects.bulk_create(tickets)
    TutoringSession.objects.bulk_create(sessions)
    return len(questions)


def _lecture_audiences(generator: random.Random, students: list[User]) -> int:
    """The audience of each lecture already given: students of its grade band in its city sign up, watch for a
    while (joining and leaving at their own times) and some watch the replay in the days after; written as the
    facts the lectures leave. Returns how many students watched."""
    profiles = {profile.user_id: profile for profile in StudentProfile.objects.filter(user__in=students)}
    now = timezone.now()
    watched = 0
    for lecture in Lecture.objects.filter(
        status=Lecture.Status.ENDED, started_at__isnull=False, ended_at__isnull=False
    ):
        band = lecture.grade_band
        audience = [student for student in students if band.min_grade <= profiles[student.pk].grade <= band.max_grade]
        watchers = generator.sample(audience, min(len(audience), generator.randint(12, 30)))
        LectureSignup.objects.bulk_create(
            (LectureSignup(lecture=lecture, student=student) for student in watchers[::2]), ignore_conflicts=True
        )
        assert lecture.started_at is not None and lecture.ended_at is not None  # filtered above
        span = (lecture.ended_at - lecture.started_at).total_seconds()
        facts = []
        for student in watchers:
            joined = lecture.started_at + timedelta(seconds=generator.uniform(0, span / 3))
            left = min(joined + timedelta(seconds=generator.uniform(span / 4, span)), lecture.ended_at)
            seconds = round((left - joined).total_seconds(), 3)
            facts += [
                LectureFact(
                    kind=LectureFact.Kind.JOINED, lecture=lecture, user=student, at=joined, data={"role": "viewer"}
                ),
                LectureFact(
                    kind=LectureFact.Kind.LEFT,
                    lecture=lecture,
                    user=student,
                    at=left,
                    data={"role": "viewer", "seconds": seconds},
                ),
            ]
            replayed = lecture.ended_at + timedelta(hours=generator.uniform(1, 20))
            if generator.random() < 0.4 and replayed < now:
                played = float(generator.randint(60, 600))
                facts.append(
                    LectureFact(
                        kind=LectureFact.Kind.REPLAY_WATCHED,
                        lecture=lecture,
                        user=student,
                        at=replayed,
                        idempotency_key="replay:demo:1",
                        data={"viewing": "demo", "seq": 1, "seconds": played, "intervals": [[0.0, played]]},
                    )
                )
        LectureFact.objects.bulk_create(sorted(facts, key=lambda fact: fact.at))
        watched += len(watchers)
    return watched
