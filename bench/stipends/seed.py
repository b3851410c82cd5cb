"""A city's month of work as facts, written straight into PostgreSQL with COPY (see the package docstring).

``city_month_load(database_url, ...)`` fills a freshly migrated database: one city, its districts and schools,
the teachers (each with a profile, one subject and one grade band), the students, an administrator and the rule
versions in force, then a month of facts day by day in time order (so ids grow with time, as in production): duty
presence, sessions with their question, ticket, routing and session facts, board and chat events and voice chunks,
lectures with their joins, published videos and library entries, and students saying 解决了 to those videos.

Every table gets its own connection and one ``COPY ... FROM STDIN`` (text format, rows written in batches) with
explicit ids, so foreign keys are known while generating; those connections run with
``session_replication_role = replica`` (no foreign-key or append-only triggers: every reference is made valid by
construction), and the id sequences are moved past the rows at the end.
"""

import random
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

ZONE = ZoneInfo("Asia/Shanghai")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = 60_000
HOUR = 60 * MINUTE
SAMPLE_RATE = 16_000  # voice chunks: PCM at 16 kHz (tutoring.sessions.services.AUDIO_SAMPLE_RATE)
NULL = "\\N"
BATCH_ROWS = 5_000

COLUMNS: dict[str, tuple[str, ...]] = {
    "schools_city": ("id", "name"),
    "schools_district": ("id", "name", "city_id"),
    "schools_school": ("id", "name", "stage", "district_id"),
    "accounts_user": (
        "id",
        "password",
        "is_superuser",
        "username",
        "first_name",
        "last_name",
        "email",
        "is_staff",
        "is_active",
        "date_joined",
        "role",
        "display_name",
    ),
    "accounts_teacherprofile": ("id", "school_id", "user_id"),
    "accounts_teacherprofile_subjects": ("id", "teacherprofile_id", "subject_id"),
    "accounts_teacherprofile_grade_bands": ("id", "teacherprofile_id", "gradeband_id"),
    "accounts_studentprofile": ("id", "grade", "class_name", "school_id", "user_id"),
    "accounts_administratorprofile": ("id", "city_id", "district_id", "school_id", "principal", "user_id"),
    "stipends_stipendrule": (
        "id",
        "effective_from",
        "status",
        "class_hour_minutes",
        "evening_from_hour",
        "weekday_fen",
        "evening_fen",
        "weekend_fen",
        "holiday_fen",
        "holidays",
        "session_fen",
        "lecture_bands",
        "quality_reference_tenths",
        "quality_floor_permille",
        "quality_cap_permille",
        "credit_session",
        "credit_lecture",
        "credit_good_rating",
        "credit_helped",
        "created_at",
        "activated_at",
        "city_id",
        "created_by_id",
        "district_id",
        "school_id",
    ),
    "questions_question": (
        "id",
        "grade",
        "idempotency_key",
        "status",
        "typed_text",
        "text",
        "text_source",
        "failure_reason",
        "created_at",
        "student_id",
        "subject_id",
        "match_outcome",
    ),
    "routing_ticket": (
        "id",
        "grade",
        "status",
        "queued_at",
        "failures",
        "widen_level",
        "needs_attention",
        "assigned_at",
        "finished_at",
        "city_id",
        "district_id",
        "grade_band_id",
        "question_id",
        "school_id",
        "subject_id",
        "teacher_id",
    ),
    "routing_routingfact": ("id", "kind", "at", "data", "teacher_id", "ticket_id"),
    "tutoring_sessions_tutoringsession": (
        "id",
        "status",
        "started_at",
        "ended_at",
        "ended_reason",
        "last_seq",
        "student_draw",
        "student_speak",
        "rating",
        "rating_comment",
        "rated_at",
        "library_text",
        "knowledge_points",
        "question_id",
        "student_id",
        "teacher_id",
        "ticket_id",
    ),
    "tutoring_sessions_sessionfact": ("id", "kind", "at", "data", "user_id", "session_id"),
    "tutoring_sessions_sessionevent": ("id", "seq", "at_ms", "role", "type", "data", "session_id"),
    "tutoring_sessions_audiochunk": ("id", "role", "started_ms", "samples", "file", "session_id"),
    "library_entry": (
        "id",
        "text",
        "grade",
        "knowledge_points",
        "photo",
        "status",
        "created_at",
        "updated_at",
        "created_by_id",
        "source_question_id",
        "subject_id",
        "vector_model",
    ),
    "library_answer": (
        "id",
        "kind",
        "status",
        "solution",
        "original",
        "video",
        "poster",
        "duration_seconds",
        "error",
        "created_at",
        "created_by_id",
        "entry_id",
    ),
    "library_match": ("id", "rank", "score", "dense", "lexical", "label", "created_at", "entry_id", "question_id"),
    "library_feedback": ("id", "choice", "created_at", "question_id", "match_id"),
    "lectures_lecture": (
        "id",
        "title",
        "description",
        "starts_at",
        "planned_minutes",
        "knowledge_points",
        "status",
        "started_at",
        "ended_at",
        "last_seq",
        "created_at",
        "city_id",
        "grade_band_id",
        "lecturer_id",
        "subject_id",
        "chat_open",
    ),
    "lectures_lecturefact": ("id", "kind", "at", "data", "lecture_id", "user_id"),
}
# What a board stroke's data looks like (a few points); the ledger never reads it, but the rows are as wide.
STROKE = '{"page": 0, "tool": "pen", "color": "#1a1a1a", "width": 3, "points": [[0.412, 0.233], [0.418, 0.241], [0.431, 0.262], [0.447, 0.280]]}'  # noqa: E501
CHAT = '{"text": "这一步为什么要乘以2？"}'
RATINGS = (5, 5, 5, 5, 5, 4, 4, 4, 3, 3, 2, 1)


def moment(ms: int) -> str:
    """Epoch milliseconds as a timestamptz literal."""
    return (EPOCH + timedelta(milliseconds=ms)).isoformat()


def local_ms(day: date, hour: float = 0) -> int:
    midnight = datetime(day.year, day.month, day.day, tzinfo=ZONE)
    return int(midnight.timestamp() * 1000) + int(hour * HOUR)


class Tables:
    """One COPY per table, each on its own connection, opened when its first row comes; ids counted per table."""

    def __init__(self, url: str, stack: ExitStack) -> None:
        self.url = url
        self.stack = stack
        self.copying = ExitStack()
        self.copies: dict[str, Any] = {}
        self.connections: list[psycopg.Connection[Any]] = []
        self.buffers: dict[str, list[str]] = {}
        self.ids: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def add(self, table: str, *values: object) -> None:
        """One row, its values in the order of ``COLUMNS[table]`` (None is NULL, booleans t/f)."""
        buffer = self.buffers.setdefault(table, [])
        buffer.append("\t".join(_text(value) for value in values))
        if len(buffer) >= BATCH_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        buffer = self.buffers[table]
        if not buffer:
            return
        if table not in self.copies:
            connection = self.stack.enter_context(psycopg.connect(self.url))
            connection.execute("SET session_replication_role = replica")
            self.connections.append(connection)
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, COLUMNS[table]))
            )
            self.copies[table] = self.copying.enter_context(connection.cursor().copy(statement))
        self.copies[table].write("\n".join(buffer) + "\n")
        self.rows[table] += len(buffer)
        buffer.clear()

    def finish(self) -> None:
        for table in list(self.buffers):
            self._flush(table)
        self.copying.close()
        for connection in self.connections:
            connection.commit()


def _text(value: object) -> str:
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


@dataclass
class Teacher:
    id: int
    school: int
    district: int
    subject: int
    band: int
    grade: int


@dataclass
class Stretch:
    """A teacher's time on duty: from ``start`` to ``end`` (epoch ms), with the sessions it holds."""

    teacher: Teacher
    start: int
    end: int
    sessions: int = 0


@dataclass
class City:
    districts: int
    schools: int
    teachers: list[Teacher]
    students: list[tuple[int, int, int, int]]  # user id, school, district, grade
    administrator: int
    entries: list[tuple[int, int]] = field(default_factory=list)  # published entry id, its subject
    entries_before: int = 0


def _reference(tables: Tables, rng: random.Random, *, schools: int, teachers: int, students: int) -> City:
    started = datetime(2026, 8, 20, 9, 0, tzinfo=ZONE).isoformat()
    districts = max(1, schools // 15)
    tables.add("schools_city", 1, "基准市")
    for district in range(1, districts + 1):
        tables.add("schools_district", district, f"第{district}区", 1)
    stages = ("primary", "middle", "nine_year")
    for school in range(1, schools + 1):
        tables.add("schools_school", school, f"第{school}学校", stages[school % 3], 1 + (school - 1) % districts)
    administrator = tables.next_id("accounts_user")
    _user(tables, administrator, "admin", "administrator", started)
    tables.add("accounts_administratorprofile", 1, 1, None, None, False, administrator)
    # Subjects (ids 1-10) and grade bands (1-4) come with the migrations; a teacher takes one of each.
    bands = {1: (1, 2), 2: (3, 4), 3: (5, 6), 4: (7, 9)}
    people: list[Teacher] = []
    for number in range(1, teachers + 1):
        user = tables.next_id("accounts_user")
        _user(tables, user, f"teacher{number}", "teacher", started)
        school = 1 + (number - 1) % schools
        band = rng.choice((1, 2, 3, 4))
        subject = rng.choice((1, 2, 3)) if band < 4 else rng.choice((1, 2, 3, 4, 7, 8))
        tables.add("accounts_teacherprofile", number, school, user)
        tables.add("accounts_teacherprofile_subjects", number, number, subject)
        tables.add("accounts_teacherprofile_grade_bands", number, number, band)
        grade = rng.randint(*bands[band])
        people.append(Teacher(user, school, 1 + (school - 1) % districts, subject, band, grade))
    pupils = []
    for number in range(1, students + 1):
        user = tables.next_id("accounts_user")
        _user(tables, user, f"student{number}", "student", started)
        school, grade = rng.randint(1, schools), rng.randint(1, 9)
        tables.add("accounts_studentprofile", number, grade, f"{grade}年级{rng.randint(1, 8)}班", school, user)
        pupils.append((user, school, 1 + (school - 1) % districts, grade))
    return City(districts, schools, people, pupils, administrator)


def _user(tables: Tables, user: int, username: str, role: str, joined: str) -> None:
    tables.add("accounts_user", user, "!", False, username, "", "", "", False, True, joined, role, username)


def _rules(tables: Tables, city: City, month: date) -> None:
    """The city's version in force since October (as ``tests.factories.StipendRuleFactory``), three districts'
    own from the month on (a higher evening rate) and ten schools' own (45-minute class hours)."""
    created = datetime(2026, 9, 20, 9, 0, tzinfo=ZONE).isoformat()
    bands = "[[0, 5000], [100, 10000], [500, 20000]]"

    def rule(effective: date, district: int | None, school: int | None, class_hour: int, evening: int) -> None:
        tables.add(
            "stipends_stipendrule",
            tables.next_id("stipends_stipendrule"),
            effective.isoformat(),
            "active",
            class_hour,
            17,
            6000,
            evening,
            8000,
            9000,
            '["2026-10-01"]',
            500,
            bands,
            45,
            800,
            1200,
            2,
            3,
            1,
            1,
            created,
            created,
            1,
            city.administrator,
            district,
            school,
        )

    rule(date(2026, 10, 1), None, None, 40, 7000)
    for district in range(1, min(3, city.districts) + 1):
        rule(month, district, None, 40, 7500)
    for school in range(1, min(10, city.schools) + 1):
        rule(month, None, school, 45, 7200)


def _stretches(rng: random.Random, teachers: list[Teacher], days: list[date]) -> dict[date, list[Stretch]]:
    """Each teacher's duty: on about four weekdays in five and one weekend day in two, an evening stretch
    (on at 17:30-19:30, for 2-4.5 hours) or now and then a late one (on at 21:00-22:30, for 2-3 hours: past
    midnight), and at weekends and on some weekdays an afternoon one too (on at 13:00-14:30, 1.5-2.5 hours)."""
    by_day: dict[date, list[Stretch]] = {day: [] for day in days}
    for teacher in teachers:
        for day in days:
            weekend = day.weekday() >= 5
            if rng.random() > (0.5 if weekend else 0.8):
                continue
            if weekend or rng.random() < 0.3:
                start = local_ms(day, rng.uniform(13, 14.5))
                by_day[day].append(Stretch(teacher, start, start + int(rng.uniform(1.5, 2.5) * HOUR)))
            if rng.random() < 0.06:
                start = local_ms(day, rng.uniform(21, 22.5))
                by_day[day].append(Stretch(teacher, start, start + int(rng.uniform(2, 3) * HOUR)))
            else:
                start = local_ms(day, rng.uniform(17.5, 19.5))
                by_day[day].append(Stretch(teacher, start, start + int(rng.uniform(2, 4.5) * HOUR)))
    return by_day


def _share(stretches: list[Stretch], sessions: int) -> None:
    """Share ``sessions`` among the stretches by their length, exactly."""
    total = sum(stretch.end - stretch.start for stretch in stretches)
    reached = 0
    given = 0
    for stretch in stretches:
        reached += stretch.end - stretch.start
        target = reached * sessions // total
        stretch.sessions = target - given
        given = target


def city_month_load(
    url: str,
    *,
    month: date,
    schools: int,
    teachers: int,
    students: int,
    sessions: int,
    events_per_session: int,
    voice_per_session: int,
    lectures: int,
    helped: int,
    seed: int = 13,
) -> dict[str, int]:
    """Fill the migrated database at ``url`` with a city month; the rows written by table."""
    rng = random.Random(seed)
    first = month.replace(day=1)
    days = [first + timedelta(days=n) for n in range(31) if (first + timedelta(days=n)).month == first.month]
    with ExitStack() as stack:
        tables = Tables(url, stack)
        city = _reference(tables, rng, schools=schools, teachers=teachers, students=students)
        _rules(tables, city, first)
        by_day = _stretches(rng, city.teachers, days)
        _share([stretch for day in days for stretch in by_day[day]], sessions)
        lecture_days = _spread(lectures, len(days))
        helped_days = [0, *_spread(helped, len(days) - 1)]  # the first day's videos are the first
        for number, day in enumerate(days):
            city.entries_before = len(city.entries)  # students say 解决了 to videos published before the day
            _presence(tables, rng, by_day[day])
            _sessions(tables, rng, city, by_day[day], events_per_session, voice_per_session)
            _lectures(tables, rng, city, day, lecture_days[number])
            _helped(tables, rng, city, day, helped_days[number])
        tables.finish()
    with psycopg.connect(url, autocommit=True) as connection:
        for table in COLUMNS:
            if "id" in COLUMNS[table]:
                connection.execute(
                    sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))").format(
                        sql.Literal(table), sql.Identifier(table)
                    )
                )
        connection.execute("VACUUM ANALYZE")
    return dict(tables.rows)


def _spread(total: int, days: int) -> list[int]:
    return [total * (n + 1) // days - total * n // days for n in range(days)]


def _presence(tables: Tables, rng: random.Random, stretches: list[Stretch]) -> None:
    """Went on duty at each stretch's start and off at its end; now and then a second "went on duty" while
    already on (a console reconnecting), which changes nothing."""
    facts: list[tuple[int, str, str, int]] = []
    for stretch in stretches:
        facts.append((stretch.start, "presence_started", '{"shift_id": null}', stretch.teacher.id))
        if rng.random() < 0.02:
            facts.append((stretch.start + rng.randint(1, 30) * MINUTE, "presence_started", "{}", stretch.teacher.id))
        reason = '{"reason": "silent"}' if rng.random() < 0.05 else '{"reason": "left"}'
        facts.append((stretch.end, "presence_ended", reason, stretch.teacher.id))
    for at, kind, data, teacher in sorted(facts):
        tables.add("routing_routingfact", tables.next_id("routing_routingfact"), kind, moment(at), data, teacher, None)


def _sessions(
    tables: Tables, rng: random.Random, city: City, stretches: list[Stretch], events: int, voice: int
) -> None:
    planned: list[tuple[int, int, Teacher]] = []
    for stretch in stretches:
        for _ in range(stretch.sessions):
            length = int(min(40 * MINUTE, max(90_000, rng.lognormvariate(0, 0.6) * 7 * MINUTE)))
            start = stretch.start + rng.randint(0, max(0, stretch.end - stretch.start - length))
            planned.append((start, length, stretch.teacher))
    planned.sort(key=lambda plan: plan[0])
    for start, length, teacher in planned:
        _session(tables, rng, city, start, length, teacher, events, voice)


def _session(
    tables: Tables,
    rng: random.Random,
    city: City,
    start: int,
    length: int,
    teacher: Teacher,
    events: int,
    voice: int,
) -> None:
    student, school, district, grade = rng.choice(city.students)
    question = tables.next_id("questions_question")
    asked = start - rng.randint(30_000, 5 * MINUTE)
    tables.add(
        "questions_question",
        question,
        grade,
        f"q{question}",
        "answered",
        "",
        "一辆汽车每小时行驶60千米，3小时行驶多少千米？",
        "typed",
        "",
        moment(asked),
        student,
        teacher.subject,
        "none",
    )
    kind = rng.random()
    silent = kind < 0.02  # only the student drew or spoke: flagged
    short = 0.02 <= kind < 0.05  # the teacher gave up within the first minute: flagged
    if short:
        length = rng.randint(20_000, 55_000)
    ended = rng.random() >= 0.02  # a few are never ended: they count to their last activity
    rated = ended and rng.random() < 0.7
    end = start + length
    ticket = tables.next_id("routing_ticket")
    tables.add(
        "routing_ticket",
        ticket,
        grade,
        "finished" if ended else "assigned",
        moment(asked),
        0,
        0,
        False,
        moment(start - 2000),
        moment(end) if ended else None,
        1,
        district,
        teacher.band,
        question,
        school,
        teacher.subject,
        teacher.id,
    )
    session = tables.next_id("tutoring_sessions_tutoringsession")
    score = rng.choice(RATINGS) if rated else None
    tables.add(
        "tutoring_sessions_tutoringsession",
        session,
        "ended" if ended else "open",
        moment(start),
        moment(end) if ended else None,
        "teacher" if ended else "",
        events,
        False,
        False,
        score,
        "",
        moment(end + 30_000) if rated else None,
        "",
        "[]",
        question,
        student,
        teacher.id,
        ticket,
    )
    routing = "routing_routingfact"
    tables.add(routing, tables.next_id(routing), "accepted", moment(start - 2000), "{}", teacher.id, ticket)
    facts = "tutoring_sessions_sessionfact"
    tables.add(
        facts, tables.next_id(facts), "started", moment(start), f'{{"ticket_id": {ticket}}}', teacher.id, session
    )
    offsets = sorted(rng.randint(0, length) for _ in range(events))
    for seq, offset in enumerate(offsets, start=1):
        role = "student" if silent or rng.random() < 0.25 else "teacher"
        chat = rng.random() < 0.15
        tables.add(
            "tutoring_sessions_sessionevent",
            tables.next_id("tutoring_sessions_sessionevent"),
            seq,
            offset,
            role,
            "chat.message" if chat else "board.stroke",
            CHAT if chat else STROKE,
            session,
        )
    for _ in range(voice):
        samples = rng.randint(2, 20) * SAMPLE_RATE
        role = "student" if silent or rng.random() < 0.4 else "teacher"
        chunk = tables.next_id("tutoring_sessions_audiochunk")
        offset = rng.randint(0, max(0, length - samples * 1000 // SAMPLE_RATE))
        tables.add(
            "tutoring_sessions_audiochunk", chunk, role, offset, samples, f"voice/{session}/{chunk}.pcm", session
        )
    if ended:
        tables.add(facts, tables.next_id(facts), "ended", moment(end), '{"reason": "teacher"}', teacher.id, session)
        tables.add(routing, tables.next_id(routing), "finished", moment(end), "{}", teacher.id, ticket)
    if rated:
        data = f'{{"score": {score}, "comment": ""}}'
        tables.add(facts, tables.next_id(facts), "rated", moment(end + 30_000), data, student, session)
    if ended and not silent and not short and rng.random() < 0.05:
        _published(tables, rng, city, session, question, teacher, end + rng.randint(10, 60) * MINUTE, grade)


def _published(
    tables: Tables, rng: random.Random, city: City, session: int, question: int, teacher: Teacher, at: int, grade: int
) -> None:
    """The session's recording approved into the library: an entry with the teacher's video (now and then a
    second teacher's video of the same question too), and the "published" fact."""
    entry = tables.next_id("library_entry")
    tables.add(
        "library_entry",
        entry,
        "一辆汽车每小时行驶60千米，3小时行驶多少千米？",
        grade,
        "[]",
        "",
        "active",
        moment(at),
        moment(at),
        teacher.id,
        question,
        teacher.subject,
        "",
    )
    authors = [teacher.id]
    if rng.random() < 0.05:
        authors.append(rng.choice(city.teachers).id)
    for author in authors:
        tables.add(
            "library_answer",
            tables.next_id("library_answer"),
            "video",
            "ready",
            "",
            "",
            f"videos/{entry}-{author}.mp4",
            f"videos/{entry}-{author}.jpg",
            round(rng.uniform(120, 900), 1),
            "",
            moment(at),
            author,
            entry,
        )
    facts = "tutoring_sessions_sessionfact"
    tables.add(facts, tables.next_id(facts), "published", moment(at), f'{{"entry_id": {entry}}}', teacher.id, session)
    city.entries.append((entry, teacher.subject))


def _lectures(tables: Tables, rng: random.Random, city: City, day: date, count: int) -> None:
    """Evening lectures: started, joined by their audience (a few students join twice, a teacher or two
    observe), ended after 40-60 minutes; most replays published an hour later."""
    for _ in range(count):
        lecturer = rng.choice(city.teachers)
        lecture = tables.next_id("lectures_lecture")
        start = local_ms(day, rng.choice((19, 19.5, 20)))
        end = start + rng.randint(40, 60) * MINUTE
        tables.add(
            "lectures_lecture",
            lecture,
            f"专题讲座{lecture}",
            "",
            moment(start),
            45,
            "[]",
            "ended",
            moment(start),
            moment(end),
            0,
            moment(start - 7 * 24 * HOUR),
            1,
            lecturer.band,
            lecturer.id,
            lecturer.subject,
            False,
        )
        facts = "lectures_lecturefact"
        tables.add(facts, tables.next_id(facts), "started", moment(start), "{}", lecture, lecturer.id)
        audience = int(min(1500, rng.lognormvariate(0, 0.9) * 120))
        for student, *_ in rng.sample(city.students, audience):
            for _ in range(2 if rng.random() < 0.05 else 1):
                at = moment(start + rng.randint(0, 10 * MINUTE))
                tables.add(facts, tables.next_id(facts), "joined", at, '{"role": "viewer"}', lecture, student)
        for observer in rng.sample(city.teachers, rng.randint(1, 2)):
            at = moment(start + MINUTE)
            tables.add(facts, tables.next_id(facts), "joined", at, '{"role": "observer"}', lecture, observer.id)
        tables.add(facts, tables.next_id(facts), "ended", moment(end), "{}", lecture, lecturer.id)
        if rng.random() < 0.8:
            at = moment(end + rng.randint(30, 90) * MINUTE)
            tables.add(facts, tables.next_id(facts), "published", at, '{"entries": []}', lecture, lecturer.id)


def _helped(tables: Tables, rng: random.Random, city: City, day: date, count: int) -> None:
    """Students whose question matched a library entry with a teacher's video, who said 解决了."""
    for _ in range(count if city.entries_before else 0):
        entry, subject = city.entries[rng.randrange(city.entries_before)]
        student, _school, _district, grade = rng.choice(city.students)
        at = local_ms(day, rng.uniform(7, 22.5))
        question = tables.next_id("questions_question")
        tables.add(
            "questions_question",
            question,
            grade,
            f"q{question}",
            "resolved",
            "",
            "一辆汽车每小时行驶60千米，3小时行驶多少千米？",
            "typed",
            "",
            moment(at - 20_000),
            student,
            subject,
            "same",
        )
        match = tables.next_id("library_match")
        tables.add("library_match", match, 1, 0.93, 0.91, 0.84, "same", moment(at - 15_000), entry, question)
        tables.add("library_feedback", tables.next_id("library_feedback"), "resolved", moment(at), question, match)
