"""Demo data: a city with districts and schools, people of every role with known passwords, duty shifts around
the clock for every subject and grade band, a library of worked solutions and of answer videos recorded in real
session rooms, and the demo students' questions in every state of a question's life.

Everything goes through the services a real user's actions call (asking, understanding, matching, the verdict,
routing, the session room, its recording and publication), so the demo shows what the platform does, not rows
typed into tables. Then a few weeks of the teachers' work (its duty and session facts written as the live system
writes them) and their monthly statements in every state of the way to publication (``demo_stipends.py``).
Running it again changes nothing but the shifts, which it extends.
"""

import io
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from tutoring.accounts.models import AdministratorProfile, StaffProfile, StudentProfile, TeacherProfile, User
from tutoring.core.management.demo_answers import Script, script_store, session_script_store
from tutoring.core.management.demo_history import DAYS, history_seed
from tutoring.core.management.demo_knowledge import knowledge_seed
from tutoring.core.management.demo_stipends import PRINCIPAL, REVIEWED_SCHOOL, REVIEWER, stipends_seed
from tutoring.insights.clusters import clusters_build, week_of
from tutoring.insights.rollups import insights_refresh
from tutoring.lectures import services as lectures
from tutoring.lectures.models import Lecture, LectureEvent, LectureRecording
from tutoring.library.models import Entry, Feedback, Match
from tutoring.library.services import entry_save, question_feedback, question_match
from tutoring.questions.models import Attachment, Question
from tutoring.questions.services import question_create, question_understand
from tutoring.routing import services as routing
from tutoring.routing.models import Offer, Shift
from tutoring.schools.models import City, District, GradeBand, School, Subject
from tutoring.sessions.models import Recording, TutoringSession
from tutoring.sessions.services import (
    recording_render,
    session_end,
    session_question_correct,
    session_rate,
    session_start,
)

DEMO_PASSWORD = "xuewen-demo"
SHIFT_DAYS = 30  # each run makes every demo shift reach this far ahead
CLUSTER_WEEKS = 4  # the hot clusters of this week and the three before

DISTRICTS = {
    "鹿城区": [("瓦市小学", School.Stage.PRIMARY), ("温州市第二中学", School.Stage.MIDDLE)],
    "瓯海区": [("瓯海实验小学", School.Stage.PRIMARY), ("瓯海区第一中学", School.Stage.MIDDLE)],
    "龙湾区": [("龙湾区实验学校", School.Stage.NINE_YEAR)],
}

STUDENTS = [
    ("student1", "小明", "瓦市小学", 3),
    ("student2", "小红", "瓯海实验小学", 5),
    ("student3", "小刚", "温州市第二中学", 8),
]

# Teachers with the subject and grade band of their round-the-clock shift (a teacher has one shift at a time).
TEACHERS = [
    (
        "teacher1",
        "王老师",
        "瓦市小学",
        ["math"],
        ["primary-lower", "primary-middle", "primary-upper"],
        "math",
        "primary-middle",
    ),
    ("teacher2", "李老师", "温州市第二中学", ["math", "physics"], ["junior-middle"], "math", "junior-middle"),
    (
        "teacher3",
        "陈老师",
        "瓯海实验小学",
        ["chinese", "english"],
        ["primary-middle", "primary-upper"],
        "chinese",
        "primary-middle",
    ),
]
# Every other subject and grade band is covered by a duty teacher of its own, ``duty-<subject>-<band>``.
DUTY_SCHOOLS = {"primary-lower": "瓦市小学", "primary-middle": "瓦市小学", "primary-upper": "瓯海实验小学"}
DUTY_SCHOOL_MIDDLE = "瓯海区第一中学"

# A small library of answered questions, so that asking one of these (or a rewording) finds its answer.
LIBRARY = [
    ("demo-1", "数学", 3, "小明有12个苹果，吃了5个，还剩几个？", ["整数加减法"], "12 - 5 = 7（个）。答：还剩7个苹果。"),
    (
        "demo-2",
        "数学",
        4,
        "一个数的3倍加5等于20，这个数是多少？",
        ["解两步方程"],
        "设这个数为x：3x + 5 = 20，3x = 15，x = 5。答：这个数是5。",
    ),
    (
        "demo-3",
        "数学",
        3,
        "一根绳子长24米，平均分成6段，每段长多少米？",
        ["整数除法"],
        "24 ÷ 6 = 4（米）。答：每段长4米。",
    ),
    (
        "demo-4",
        "数学",
        5,
        "一个长方形的长是8厘米，宽是5厘米，它的面积是多少平方厘米？",
        ["长方形和正方形的面积"],
        "8 × 5 = 40（平方厘米）。答：面积是40平方厘米。",
    ),
    (
        "demo-5",
        "数学",
        6,
        "一件衣服原价200元，打八折后多少元？",
        ["百分数", "已知总量和百分数求部分量（及逆问题）"],
        "200 × 80% = 160（元）。答：打八折后160元。",
    ),
    (
        "demo-6",
        "语文",
        3,
        "“守株待兔”这个成语告诉我们什么道理？",
        ["成语"],
        "不能把偶然的事当成必然，不努力而心存侥幸，是不会有收获的。",
    ),
    (
        "demo-7",
        "物理",
        8,
        "一辆汽车2小时行驶了120千米，它的平均速度是多少千米每小时？",
        ["速度"],
        "v = s ÷ t = 120 ÷ 2 = 60（千米/时）。",
    ),
]


@dataclass(frozen=True, kw_only=True)
class Asked:
    """A demo student's question: typed, or asked by a photo of the printed text (read by OCR; a photo of an
    empty page cannot be read and fails)."""

    key: str
    student: str
    subject: str
    grade: int
    text: str
    by_photo: bool = False


@dataclass(frozen=True, kw_only=True)
class Recorded(Asked):
    """A question a teacher answered in a session room: the recording becomes the library's answer video (the
    photo it was asked by lies on the board)."""

    teacher: str
    lines: tuple[str, ...]  # what the teacher writes, one line each
    speech: tuple[str, ...]  # what the teacher says, one sentence per line written
    knowledge_points: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Left(Asked):
    """A question left in one state of its life."""

    state: str


RECORDED = [
    Recorded(
        key="demo-recorded-1",
        student="student1",
        subject="math",
        grade=3,
        teacher="teacher1",
        text="一本故事书有96页，小华每天看8页，几天能看完？",
        lines=("96 ÷ 8 = 12",),
        speech=("一共96页，每天看8页，求96里面有几个8，用除法。96除以8等于12。答：12天能看完。",),
        knowledge_points=("整数除法",),
        by_photo=True,
    ),
    Recorded(
        key="demo-recorded-2",
        student="student3",
        subject="math",
        grade=8,
        teacher="teacher2",
        text="解方程：2x + 3 = 11",
        lines=("2x + 3 = 11", "2x = 11 - 3", "2x = 8", "x = 4"),
        speech=("先把3移到等号右边，要变号。", "11减3等于8。", "两边同时除以2。", "所以x等于4。"),
        knowledge_points=("一元一次方程",),
    ),
    Recorded(
        key="demo-recorded-3",
        student="student3",
        subject="physics",
        grade=8,
        teacher="duty-physics-junior-middle",
        text="一个物体的质量是2千克，它受到的重力是多少牛？（g取10牛/千克）",
        lines=("G = mg", "= 2 × 10", "= 20 (N)"),
        speech=("重力等于质量乘以g。", "质量2千克，g取10牛每千克。", "重力是20牛。"),
        knowledge_points=("重力",),
    ),
]


ASKED = [
    Left(
        key="demo-asked-resolved",
        student="student1",
        subject="math",
        grade=3,
        text="小明有12个苹果，吃了5个，还剩几个？",
        state=Question.Status.RESOLVED,
    ),
    Left(
        key="demo-asked-waiting",
        student="student1",
        subject="math",
        grade=3,
        text="小红有3盒彩笔，每盒12支，一共有多少支？",
        state=Question.Status.WAITING_TEACHER,
    ),
    Left(
        key="demo-asked-understood",
        student="student2",
        subject="math",
        grade=5,
        text="一个长方形的长是9厘米，宽是4厘米，它的面积是多少平方厘米？",
        state=Question.Status.UNDERSTOOD,
    ),
    Left(
        key="demo-asked-cancelled",
        student="student2",
        subject="english",
        grade=5,
        text="What is the past tense of “go”?",
        state=Question.Status.CANCELLED,
    ),
    Left(
        key="demo-asked-failed",
        student="student2",
        subject="chinese",
        grade=5,
        text="",
        by_photo=True,
        state=Question.Status.FAILED,
    ),
    Left(
        key="demo-asked-with-teacher",
        student="student3",
        subject="math",
        grade=8,
        text="已知一次函数y = 2x + 1，当x = 3时，y等于多少？",
        state=Question.Status.WITH_TEACHER,
    ),
]


# The administrators of the school whose statements the demo takes along the way (demo_stipends.py): who reviews,
# corrects and publishes them, and the principal who approves them.
SCHOOL_ADMINISTRATORS = [
    (REVIEWER, "周主任", False, "reviews, corrects and publishes the statements"),
    (PRINCIPAL, "吴校长", True, "principal, approves the statements"),
]

LECTURER = "teacher1"  # has the lecturer permission in the demo


# A lecture given and ended, whose replay is rendered (and answers the library question it covers), and one live
# now for the lecturer to open in the studio; both for grades 3-4 maths in the whole city.
@dataclass(frozen=True)
class DemoLecture:
    title: str
    description: str
    covers: str = ""  # the external id of the library question its replay answers
    lines: tuple[str, ...] = ()  # what the lecturer writes, one line each
    speech: tuple[str, ...] = ()  # what the lecturer says, one sentence per line written
    asked_by: str = ""  # a student who asks the questions below while it is live
    questions: tuple[str, ...] = ()


LECTURE_RECORDED = DemoLecture(
    title="除法应用题：平均分",
    description="把一些东西平均分成几份，求每份是多少，用除法。",
    covers="demo-3",
    lines=("24 ÷ 6 = 4", "96 ÷ 8 = 12"),
    speech=("平均分成6段，每段长多少，用24除以6，等于4米。", "每天看8页，96页要看几天，用96除以8，等于12天。"),
)
LECTURE_LIVE = DemoLecture(
    title="两位数乘一位数",
    description="用竖式计算两位数乘一位数，记得进位。",
    asked_by="student1",
    questions=("竖式里进位的数写在哪里？",),
)
LECTURE_MODERATOR = "teacher2"  # moderates the live lecture's questions beside the lecturer
# The live lecture's slides: each page a title and its lines (a PDF made at seed time).
LECTURE_LIVE_SLIDES = (
    ("两位数乘一位数", ("用竖式计算", "从个位乘起，满几十就向十位进几")),
    ("例题：23 × 4", ("个位：3 × 4 = 12，写 2 进 1", "十位：2 × 4 = 8，8 + 1 = 9", "所以 23 × 4 = 92")),
    ("练一练", ("① 36 × 2 = ?", "② 47 × 3 = ?", "③ 58 × 6 = ?")),
)


class Command(BaseCommand):
    help = "Create demo places, people, shifts, library and questions (idempotent) and print the logins."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            logins = self._people()
            self._shifts()
            knowledge = knowledge_seed()
            for external_id, subject, grade, text, points, solution in LIBRARY:
                entry_save(
                    text=text,
                    subject=subject,
                    grade=grade,
                    knowledge_points=points,
                    solution=solution,
                    external_id=external_id,
                    created_by=User.objects.get(username="teacher1"),
                )
        for line in knowledge:
            self.stdout.write(line)
        self.stdout.write(f"Demo library: {len(LIBRARY)} answered questions with worked solutions.")
        for recorded in RECORDED:
            if self._recorded(recorded):
                self.stdout.write(f"Recorded an answer video in a session room: {recorded.text}")
        for asked in ASKED:
            self._left(asked)
        self._lectures()
        self.stdout.write(f"Demo questions: {len(RECORDED) + len(ASKED)} in every state of a question's life.")
        for line in stipends_seed():  # this month's draft takes in the sessions and lectures above
            self.stdout.write(line)
        self.stdout.write(f"Demo history: {history_seed()} questions of the past {DAYS} days across the schools.")
        days = insights_refresh()  # last: the rollups take in every question above
        self.stdout.write(f"Insights: the rollups of {len(days)} days of questions.")
        this_week = week_of(timezone.localdate())
        for back in range(CLUSTER_WEEKS - 1, -1, -1):  # oldest first: each week's trend reads the week before
            for city in City.objects.order_by("pk"):
                clusters_build(city=city, week=this_week - timedelta(days=7 * back))
        self.stdout.write(f"Insights: the hot clusters of the last {CLUSTER_WEEKS} weeks.")

        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, username, description in logins:
            self.stdout.write(f"  {role:<14} {username:<16} {description}")
        self.stdout.write(
            "  Every other subject and grade band has a teacher on duty around the clock: duty-<subject>-<band>,"
            " e.g. duty-english-primary-upper."
        )

    # --- People and shifts -----------------------------------------------------------------------

    def _people(self) -> list[tuple[str, str, str]]:
        city, _ = City.objects.get_or_create(name="温州市")
        schools: dict[str, School] = {}
        for district_name, district_schools in DISTRICTS.items():
            district, _ = District.objects.get_or_create(city=city, name=district_name)
            for school_name, stage in district_schools:
                schools[school_name], _ = School.objects.get_or_create(
                    district=district, name=school_name, defaults={"stage": stage}
                )

        logins: list[tuple[str, str, str]] = []
        for username, name, school, grade in STUDENTS:
            user = self._user(username, name, User.Role.STUDENT)
            StudentProfile.objects.update_or_create(user=user, defaults={"school": schools[school], "grade": grade})
            logins.append(("student", username, f"{name}, {school}, grade {grade}"))
        for username, name, school, subjects, bands, shift_subject, shift_band in TEACHERS:
            self._teacher(username, name, schools[school], subjects, bands)
            logins.append(("teacher", username, f"{name}, on duty for {shift_subject} {shift_band}"))
        for subject, band in self._duty_pairs():
            school = DUTY_SCHOOLS.get(band.code, DUTY_SCHOOL_MIDDLE)
            name = f"{band.name}{subject.name}值班老师"
            self._teacher(f"duty-{subject.code}-{band.code}", name, schools[school], [subject.code], [band.code])
        staff = self._user("staff1", "赵研究员", User.Role.STAFF)
        StaffProfile.objects.update_or_create(user=staff, defaults={"city": city, "district": None})
        logins.append(("staff", "staff1", "teaching research, whole city"))
        admin = self._user("admin", "管理员", User.Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
        logins.append(("administrator", admin.username, "Django admin at /admin/"))
        reviewed = schools[REVIEWED_SCHOOL]
        for username, name, principal, description in SCHOOL_ADMINISTRATORS:
            user = self._user(username, name, User.Role.ADMINISTRATOR)
            AdministratorProfile.objects.update_or_create(
                user=user,
                defaults={"city": city, "district": reviewed.district, "school": reviewed, "principal": principal},
            )
            logins.append(("administrator", username, f"{name}, {reviewed.name}: {description}"))
        return logins

    def _duty_pairs(self) -> list[tuple[Subject, GradeBand]]:
        """Every subject and grade band it is taught in that no named teacher's shift covers."""
        covered = {(subject, band) for *_, subject, band in TEACHERS}
        return [
            (subject, band)
            for subject in Subject.objects.all()
            for band in GradeBand.objects.all()
            if subject.min_grade <= band.max_grade
            and band.min_grade <= subject.max_grade
            and (subject.code, band.code) not in covered
        ]

    def _teacher(self, username: str, name: str, school: School, subjects: list[str], bands: list[str]) -> None:
        user = self._user(username, name, User.Role.TEACHER)
        profile, _ = TeacherProfile.objects.update_or_create(user=user, defaults={"school": school})
        profile.subjects.set(Subject.objects.filter(code__in=subjects))
        profile.grade_bands.set(GradeBand.objects.filter(code__in=bands))

    def _shifts(self) -> None:
        """Each demo teacher's shift runs from now (or from where their last shift ends) SHIFT_DAYS ahead, for the
        whole city, with room for two students at once: teachers are on duty as soon as they open the console."""
        now = timezone.now()
        city = City.objects.get(name="温州市")
        rosters = [(username, subject, band) for username, *_, subject, band in TEACHERS] + [
            (f"duty-{subject.code}-{band.code}", subject.code, band.code) for subject, band in self._duty_pairs()
        ]
        for username, subject_code, band_code in rosters:
            teacher = User.objects.get(username=username)
            latest = Shift.objects.filter(teacher=teacher).order_by("-ends_at").first()
            if latest is not None and latest.ends_at >= now + timedelta(days=SHIFT_DAYS - 1):
                continue
            if latest is not None and latest.starts_at <= now < latest.ends_at:
                latest.ends_at = now + timedelta(days=SHIFT_DAYS)
                routing.shift_save(shift=latest)
                continue
            starts_at = max(now - timedelta(hours=1), latest.ends_at if latest is not None else now)
            routing.shift_save(
                shift=Shift(
                    teacher=teacher,
                    subject=Subject.objects.get(code=subject_code),
                    grade_band=GradeBand.objects.get(code=band_code),
                    city=city,
                    starts_at=starts_at,
                    ends_at=now + timedelta(days=SHIFT_DAYS),
                    capacity=2,
                )
            )

    def _lectures(self) -> None:
        """The lecturer permission for the demo lecturer, a lecture given and replayed, and one live now."""
        User.objects.get(username=LECTURER).user_permissions.add(Permission.objects.get(codename="give_lectures"))
        now = timezone.now()
        recorded, created = _lecture(LECTURE_RECORDED.title, LECTURE_RECORDED.description, now - timedelta(days=1))
        if created:
            recorded.entries.set(Entry.objects.filter(external_id=LECTURE_RECORDED.covers))
            lecturer = recorded.lecturer
            lectures.lecture_start(lecturer=lecturer, lecture_id=recorded.pk)
            script = _board_script(LECTURE_RECORDED.lines, LECTURE_RECORDED.speech, page_each=True)
            last_seq = script_store(
                script,
                log=lambda seq, at_ms, kind, data: LectureEvent(
                    lecture=recorded, seq=seq, at_ms=at_ms, type=kind, data=data
                ),
                voice=lambda started_ms, pcm: lectures.lecture_audio_save(
                    lecture_id=recorded.pk, started_ms=started_ms, pcm=pcm
                ),
            )
            Lecture.objects.filter(pk=recorded.pk).update(last_seq=last_seq)
            lectures.lecture_end(lecturer=lecturer, lecture_id=recorded.pk)
            lectures.lecture_recording_render(recording_id=LectureRecording.objects.get(lecture=recorded).pk)
            self.stdout.write(f"Recorded a lecture and rendered its replay: {recorded.title}")
        live, created = _lecture(LECTURE_LIVE.title, LECTURE_LIVE.description, now - timedelta(minutes=5))
        if created:
            live.moderators.add(User.objects.get(username=LECTURE_MODERATOR))
            slides = _slides_pdf(LECTURE_LIVE_SLIDES)
            deck = lectures.lecture_slides_upload(lecture=live, user=live.lecturer, files=[slides])
            lectures.lecture_slides_render(deck_id=deck.pk)  # now, not by a worker later: the first is shown
            lectures.lecture_start(lecturer=live.lecturer, lecture_id=live.pk)
            first = live.slides.get(number=1)
            placed = {"v": 1, "type": "board.background", "page": 0, "attachment": first.pk, "x": 0, "y": 0}
            lectures.lecture_events_append(lecture_id=live.pk, contents=[{**placed, "width": 1200}])
            student = User.objects.get(username=LECTURE_LIVE.asked_by)
            for question in LECTURE_LIVE.questions:
                lectures.lecture_question_ask(lecture_id=live.pk, student=student, text=question)
            self.stdout.write(
                f"A lecture is live now (open its studio as {LECTURER}, moderate as {LECTURE_MODERATOR}): {live.title}"
            )

    def _user(self, username: str, name: str, role: str, **flags: bool) -> User:
        user, created = User.objects.get_or_create(
            username=username, defaults={"display_name": name, "role": role, **flags}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    # --- Questions -------------------------------------------------------------------------------

    def _ask(self, asked: Asked) -> Question:
        """A question asked as the phone page asks it, understood and matched as the workers do (the tasks
        are idempotent: with eager tasks they have already run and these calls change nothing)."""
        question, _ = question_create(
            student=User.objects.get(username=asked.student),
            subject=asked.subject,
            grade=asked.grade,
            idempotency_key=asked.key,
            text="" if asked.by_photo else asked.text,
            photos=[_printed_photo(asked.text)] if asked.by_photo else [],
        )
        question_understand(question_id=question.pk)
        question_match(question_id=question.pk)
        question.refresh_from_db()
        return question

    def _waiting(self, question: Question) -> Question:
        """The student says 还是不会 to what the library offered (or was offered nothing): it waits."""
        if question.status == Question.Status.UNDERSTOOD:
            question_feedback(question=question, choice=Feedback.Choice.STILL_STUCK)
        question.refresh_from_db()
        return question

    def _room(self, question: Question, teacher: User) -> TutoringSession:
        """The teacher opens the console, goes on duty, accepts the offer and leaves the console again."""
        console = f"demo-seed-{uuid.uuid4().hex}"
        routing.duty_connect(teacher=teacher, channel_name=console)
        routing.duty_available_set(teacher=teacher, available=True)
        try:
            routing.dispatch(subject_id=question.subject_id)
            offer = Offer.objects.get(ticket__question=question, teacher=teacher, status=Offer.Status.OPEN)
            return session_start(teacher=teacher, offer_id=offer.pk)
        finally:
            routing.duty_available_set(teacher=teacher, available=False)
            routing.duty_disconnect(channel_name=console)

    def _recorded(self, recorded: Recorded) -> bool:
        """Ask, wait for a teacher, answer on the board with voice, end, rate: the renderer makes the video and
        the library publishes it. False when an earlier run did it."""
        if Question.objects.filter(idempotency_key=recorded.key).exists():
            return False
        question = self._waiting(self._ask(recorded))
        teacher = User.objects.get(username=recorded.teacher)
        session = self._room(question, teacher)
        photo = Attachment.objects.filter(question=question).first()
        script = _board_script(recorded.lines, recorded.speech, photo=photo)
        session_script_store(session, script)
        session_question_correct(
            teacher=teacher, session_id=session.pk, knowledge_points=list(recorded.knowledge_points)
        )
        session_end(teacher=teacher, ticket_id=session.ticket_id)
        recording_render(recording_id=Recording.objects.get(session=session).pk)
        session_rate(student=question.student, session_id=session.pk, score=5, comment="讲得很清楚，谢谢老师！")
        return True

    def _left(self, asked: Left) -> None:
        if Question.objects.filter(idempotency_key=asked.key).exists():
            return
        question = self._ask(asked)
        if asked.state == Question.Status.RESOLVED:
            best = Match.objects.filter(question=question).order_by("rank").first()
            question_feedback(
                question=question, choice=Feedback.Choice.RESOLVED, match_id=best.pk if best is not None else None
            )
        elif asked.state in (Question.Status.WAITING_TEACHER, Question.Status.CANCELLED):
            question = self._waiting(question)
            if asked.state == Question.Status.CANCELLED:
                routing.ticket_cancel(question=question)
        elif asked.state == Question.Status.WITH_TEACHER:
            self._room(self._waiting(question), User.objects.get(username="teacher2"))
        question.refresh_from_db()
        if question.status != asked.state:
            raise RuntimeError(f"The demo question {asked.key!r} is {question.status}, not {asked.state}.")


def _lecture(title: str, description: str, starts_at: Any) -> tuple[Lecture, bool]:
    """A demo lecture by the demo lecturer for grades 3-4 maths in the whole city; False when it existed."""
    lecturer = User.objects.get(username=LECTURER)
    existing = Lecture.objects.filter(title=title, lecturer=lecturer).first()
    if existing is not None:
        return existing, False
    lecture = Lecture(
        title=title,
        description=description,
        lecturer=lecturer,
        subject=Subject.objects.get(code="math"),
        grade_band=GradeBand.objects.get(code="primary-middle"),
        city=City.objects.get(name="温州市"),
        starts_at=starts_at,
        planned_minutes=40,
    )
    return lectures.lecture_save(lecture=lecture, created_by=lecturer), True


def _cjk_font(size: int) -> ImageFont.FreeTypeFont:
    """The installed Noto Sans CJK (fonts-noto-cjk) at ``size`` pixels."""
    font_file = subprocess.run(
        ["fc-match", "-f", "%{file}", "Noto Sans CJK SC"], capture_output=True, text=True, check=True
    ).stdout
    return ImageFont.truetype(font_file, size)


def _slides_pdf(pages: Sequence[tuple[str, Sequence[str]]]) -> io.BytesIO:
    """Slides as a lecturer brings them: a PDF of 16:9 pages, each a title over its lines in a CJK font."""
    title_font, line_font = _cjk_font(72), _cjk_font(48)
    images = []
    for title, lines in pages:
        image = Image.new("RGB", (1280, 720), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, 1280, 130), fill=(27, 111, 216))
        draw.text((60, 25), title, font=title_font, fill=(255, 255, 255))
        for number, line in enumerate(lines):
            draw.text((80, 200 + number * 110), line, font=line_font, fill=(30, 30, 30))
        images.append(image)
    pdf = io.BytesIO()
    images[0].save(pdf, format="PDF", save_all=True, append_images=images[1:], resolution=96)
    pdf.seek(0)
    pdf.name = "slides.pdf"
    return pdf


def _printed_photo(text: str) -> io.BytesIO:
    """A phone photo of a printed exercise: the text in a CJK font on paper (nothing written: a blank page)."""
    font = _cjk_font(50)
    image = Image.new("RGB", (1300, 260), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    line, lines = "", []
    for char in text:
        if draw.textlength(line + char, font=font) > 1200:
            lines.append(line)
            line = ""
        line += char
    lines.append(line)
    for number, line in enumerate(lines):
        draw.text((50, 90 + number * 80), line, font=font, fill=(30, 30, 30))
    photo = io.BytesIO()
    image.save(photo, format="JPEG", quality=90)
    photo.seek(0)
    photo.name = "question.jpg"
    return photo


def _board_script(
    lines: Sequence[str], speech: Sequence[str], *, photo: Attachment | None = None, page_each: bool = False
) -> Script:
    """A teacher's board and voice: the question's photo at the top (when there is one), then each line written
    while its sentence is said (each on a page of its own with ``page_each``), the last underlined at the end."""
    script = Script()
    top = 80
    if photo is not None:
        script.send({"type": "board.background", "page": 0, "attachment": photo.pk, "x": 60, "y": 60, "width": 1080})
        script.point_at(600, 200)
        top = 480
    right = 0
    for number, (line, sentence) in enumerate(zip(lines, speech, strict=True)):
        if page_each and number:
            script.turn_page(number)
            top = 80
        script.say(sentence)
        right = script.write(line, left=180 if line.startswith("=") else 120, top=top)
        script.pause(max(0, script.speech_end_ms() - script.clock_ms))
        top += 150
    script.underline(left=110, right=right + 10, y=top - 55)
    script.point_at(right + 40, top - 80)
    script.pause(1500)
    script.point_at(right + 40, top - 80)  # the last frame holds the whole board a moment
    return script
