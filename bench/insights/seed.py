"""A city's year of questions written straight into PostgreSQL with ``INSERT ... SELECT`` over ``generate_series``
(see the package docstring for what it holds).

Every random choice about a question is a hash of its id (``bench.u(id, salt)``, uniform in [0, 1)), so each
table of facts is one statement over the questions' ids that recomputes the same choices: the question's kind,
whether it was understood, its match outcome, whether the library solved it or it went to a teacher, the wait, the
session's length and rating, its knowledge points. Students, teachers and library entries are numbered so that a
number gives the school, grade or subject without a join. The statements run with
``session_replication_role = replica`` (no foreign-key triggers: every reference is valid by construction), and
the id sequences are moved past the rows at the end.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

ZONE = ZoneInfo("Asia/Shanghai")
DISTRICTS = 10
SCHOOLS = 150
GRADES = 9
SUBJECTS = 10  # the subjects the migrations create, ids 1-10 (math is 2, primary grades 1-6 of it from chalkbase)
MATH = 2
SYNTHETIC_POINTS = 120  # per subject without an imported taxonomy (and junior maths)
YEAR_QUESTIONS = 10_000_000
STUDENTS = 600_000
TEACHERS = 2_000
ENTRIES = 200_000  # answered questions in the library at scale 1


@dataclass(frozen=True)
class City:
    """The sizes of the seeded city at a scale (1: the real one)."""

    scale: float

    @property
    def questions(self) -> int:
        return round(YEAR_QUESTIONS * self.scale)

    @property
    def students(self) -> int:
        return max(SCHOOLS * GRADES * 5, round(STUDENTS * self.scale))

    @property
    def teachers(self) -> int:
        return max(SUBJECTS * 4, round(TEACHERS * self.scale))

    @property
    def entries(self) -> int:
        return max(SUBJECTS * 50, round(ENTRIES * self.scale))


def day_weight(day: date) -> float:
    """How busy a day is against a school weekday: weekends a little less, holidays much less."""
    weight = {6: 0.75, 7: 0.9}.get(day.isoweekday(), 1.0)
    month_day = (day.month, day.day)
    if (1, 20) <= month_day <= (2, 20) or (7, 10) <= month_day <= (8, 31):
        weight *= 0.35  # winter and summer holidays
    elif (10, 1) <= month_day <= (10, 7) or (5, 1) <= month_day <= (5, 5):
        weight *= 0.5  # national holidays
    return weight


# Questions per hour of the local day, relative: a school day (few during lessons, the evening's homework) and a
# day off (spread over the day).
# fmt: off
SCHOOL_DAY = (0.02, 0.01, 0.0, 0.0, 0.0, 0.01, 0.1, 0.3, 0.05, 0.05, 0.05, 0.05,
              0.1, 0.1, 0.05, 0.05, 0.2, 0.6, 1.0, 1.6, 2.0, 1.9, 1.2, 0.3)
DAY_OFF = (0.05, 0.02, 0.0, 0.0, 0.0, 0.01, 0.05, 0.2, 0.5, 0.8, 0.9, 0.7,
           0.4, 0.5, 0.8, 0.9, 0.9, 0.7, 0.6, 0.9, 1.1, 1.0, 0.6, 0.2)
# fmt: on


def hour_slots(days: list[date], questions: int) -> list[tuple[datetime, int]]:
    """Each local hour of the days with how many questions it gets, ``questions`` in all (largest remainders)."""
    weights: list[tuple[datetime, float]] = []
    for day in days:
        school_day = day.isoweekday() <= 5 and day_weight(day) == 1.0
        for hour, share in enumerate(SCHOOL_DAY if school_day else DAY_OFF):
            weights.append((datetime(day.year, day.month, day.day, hour, tzinfo=ZONE), day_weight(day) * share))
    total = sum(weight for _, weight in weights)
    exact = [questions * weight / total for _, weight in weights]
    counts = [math.floor(value) for value in exact]
    by_remainder = sorted(range(len(exact)), key=lambda index: counts[index] - exact[index])
    for index in by_remainder[: questions - sum(counts)]:
        counts[index] += 1
    return [(start, count) for (start, _), count in zip(weights, counts, strict=True) if count]


FUNCTIONS = """
CREATE SCHEMA IF NOT EXISTS bench;
-- Uniform in [0, 1), the same for the same id and salt.
CREATE OR REPLACE FUNCTION bench.u(id bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (hashint8extended(id, salt) & 140737488355327)::float8 / 140737488355328.0 $$;
-- Standard normal (Box-Muller over two salts).
CREATE OR REPLACE FUNCTION bench.normal(id bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT sqrt(-2 * ln(bench.u(id, salt) + 1e-12)) * cos(2 * pi() * bench.u(id, salt + 1)) $$;
CREATE TABLE IF NOT EXISTS bench.seed (scale float8 PRIMARY KEY, last_day date, year_last_question bigint,
    seed_seconds float8, rebuild_seconds float8, rebuild_days int);
"""


def reference_load(connection: psycopg.Connection, city: City) -> None:
    """The city, its districts and schools, the students, the teachers (one subject, its grade band), the
    knowledge points of every subject and grade, and the library's entries."""
    s, t = city.students, city.teachers
    connection.execute(FUNCTIONS)
    connection.execute("INSERT INTO schools_city (id, name) VALUES (1, '基准市')")
    connection.execute(
        "INSERT INTO schools_district (id, name, city_id) SELECT d, '第' || d || '区', 1 FROM generate_series(1, %s) d",
        (DISTRICTS,),
    )
    connection.execute(
        "INSERT INTO schools_school (id, name, stage, district_id) "
        "SELECT n, '第' || n || '学校', 'nine_year', 1 + (n - 1) %% %s FROM generate_series(1, %s) n",
        (DISTRICTS, SCHOOLS),
    )
    # Students are users 1..s: number k = id - 1 is in school 1 + k % SCHOOLS, grade 1 + (k / SCHOOLS) % GRADES.
    users = (
        "INSERT INTO accounts_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, "
        "is_active, date_joined, role, display_name) SELECT n, '!', false, {name} || n, '', '', '', false, true, "
        "'2025-08-20 09:00+08', {role}, '' FROM generate_series({first}, {last}) n"
    )
    connection.execute(users.format(name="'student'", role="'student'", first=1, last=s))
    connection.execute(
        "INSERT INTO accounts_studentprofile (id, grade, class_name, school_id, user_id) "
        "SELECT n, 1 + ((n - 1) / %(schools)s) %% %(grades)s, (1 + n %% 8) || '班', 1 + (n - 1) %% %(schools)s, n "
        "FROM generate_series(1, %(students)s) n",
        {"schools": SCHOOLS, "grades": GRADES, "students": s},
    )
    # Teachers are users s+1..s+t: number j = id - s - 1 teaches subject 1 + j % SUBJECTS.
    connection.execute(users.format(name="'teacher'", role="'teacher'", first=s + 1, last=s + t))
    connection.execute(
        "INSERT INTO accounts_teacherprofile (id, school_id, user_id) "
        "SELECT j + 1, 1 + j %% %s, %s + j + 1 FROM generate_series(0, %s) j",
        (SCHOOLS, s, t - 1),
    )
    connection.execute(
        "INSERT INTO accounts_teacherprofile_subjects (id, teacherprofile_id, subject_id) "
        "SELECT j + 1, j + 1, 1 + j %% %s FROM generate_series(0, %s) j",
        (SUBJECTS, t - 1),
    )
    connection.execute(
        "INSERT INTO accounts_teacherprofile_grade_bands (id, teacherprofile_id, gradeband_id) "
        "SELECT j + 1, j + 1, 1 + (j / %s) %% 4 FROM generate_series(0, %s) j",
        (SUBJECTS, t - 1),
    )
    # Knowledge points beside the imported primary maths: SYNTHETIC_POINTS per other subject and for junior maths.
    connection.execute(
        "INSERT INTO knowledge_knowledgepoint (code, name, aliases, min_grade, max_grade, description, position, "
        "is_active, updated_at, parent_id, subject_id) "
        "SELECT 'bench.' || s.code || '.' || n, s.name || '知识点' || n, '[]', "
        "CASE WHEN s.id = %(math)s THEN 7 ELSE s.min_grade END, s.max_grade, '', n, true, now(), NULL, s.id "
        "FROM schools_subject s, generate_series(1, %(points)s) n",
        {"math": MATH, "points": SYNTHETIC_POINTS},
    )
    # Each subject and grade's pool of points, numbered 0..count-1 (primary maths: the imported points of the
    # grade; every other: the subject's own).
    connection.execute(
        """
        CREATE TABLE bench.points AS
        SELECT s.id AS subject_id, g AS grade, p.id AS point_id, p.name,
               (row_number() OVER (PARTITION BY s.id, g ORDER BY p.id) - 1)::int AS n
        FROM schools_subject s CROSS JOIN generate_series(1, %(grades)s) g
        JOIN knowledge_knowledgepoint p ON p.subject_id = s.id AND p.is_active
         AND (CASE WHEN s.id = %(math)s AND g <= 6 THEN p.code NOT LIKE 'bench.%%'
                   AND coalesce(p.min_grade, 1) <= g AND g <= coalesce(p.max_grade, 9)
              ELSE p.code LIKE 'bench.%%' END)
        """,
        {"grades": GRADES, "math": MATH},
    )
    connection.execute(
        """
        CREATE UNIQUE INDEX ON bench.points (subject_id, grade, n);
        CREATE TABLE bench.pools AS SELECT subject_id, grade, count(*)::int AS count FROM bench.points
        GROUP BY 1, 2;
        CREATE UNIQUE INDEX ON bench.pools (subject_id, grade);
        ANALYZE bench.points;
        ANALYZE bench.pools;
        """
    )
    # Library entries: number e is of subject 1 + (e - 1) % SUBJECTS.
    connection.execute(
        "INSERT INTO library_entry (id, text, grade, photo, status, created_at, updated_at, created_by_id, "
        "subject_id, vector_model) SELECT e, '已解答的题目' || e, 1 + e %% 9, '', 'active', "
        "'2025-09-01 12:00+08', '2025-09-01 12:00+08', %s + 1 + (e %% %s), 1 + (e - 1) %% %s, '' "
        "FROM generate_series(1, %s) e",
        (s, t, SUBJECTS, city.entries),
    )


# A question's choices, from its id (q) and its hour slot: the student's number k, its grade and subject, how it
# was asked, and what became of it. Used as a subquery by the questions' statement.
TEMPLATES = (
    "这道题怎么做？{}个同学平均分成几组？",
    "老师，这一步为什么要乘以{}？",
    "求解：当 x = {} 时，代数式的值是多少？",
    "看不懂题目的意思，{}是怎么得来的？",
    "这道题我算出来是{}，和答案不一样。",
    "第{}小题不会做，求讲解。",
)


def questions_insert(connection: psycopg.Connection, city: City, days: list[date], first_id: int, count: int) -> int:
    """``count`` questions over the hours of ``days``, ids from ``first_id`` in time order, with every fact about
    them; returns the last id."""
    slots = hour_slots(days, count)
    connection.execute("DROP TABLE IF EXISTS bench.slots")
    connection.execute("CREATE TABLE bench.slots (starts timestamptz, n int, first_id bigint)")
    with connection.cursor().copy("COPY bench.slots (starts, n, first_id) FROM STDIN") as copy:
        next_id = first_id
        for start, n in slots:
            copy.write_row((start, n, next_id))
            next_id += n
    connection.execute("ANALYZE bench.slots")
    last_id = next_id - 1
    templates = "ARRAY[" + ", ".join(f"'{template}'" for template in TEMPLATES) + "]"
    # The question's student, grade and subject; understood (97 %), its match outcome, then:
    # resolved by the library (same: 60 %, similar: 35 %), else sent to a teacher (17 %), of which 83 % accepted.
    connection.execute(
        f"""
        INSERT INTO questions_question (id, grade, idempotency_key, status, typed_text, text, text_source,
            text_confidence, failure_reason, created_at, understood_at, match_outcome, matched_at, student_id,
            subject_id, vector_model)
        SELECT q, grade, 'bench-' || q,
            CASE WHEN NOT understood THEN 'failed'
                 WHEN resolved THEN 'resolved'
                 WHEN queued AND accepted THEN 'answered'
                 WHEN queued THEN 'cancelled'
                 ELSE 'understood' END,
            CASE WHEN kind = 'text' THEN body ELSE '' END,
            CASE WHEN understood THEN body ELSE '' END,
            CASE WHEN NOT understood THEN '' WHEN kind = 'text' THEN 'typed' WHEN kind = 'photo' THEN 'ocr'
                 ELSE 'asr' END,
            CASE WHEN understood AND kind <> 'text' THEN 0.7 + 0.3 * bench.u(q, 13) END,
            CASE WHEN understood THEN '' ELSE '没有识别出文字' END,
            created_at,
            CASE WHEN understood THEN created_at + (3 + 10 * bench.u(q, 14)) * interval '1 second' END,
            outcome,
            CASE WHEN understood THEN created_at + (5 + 10 * bench.u(q, 14)) * interval '1 second' END,
            k + 1, subject, ''
        FROM (
            SELECT outcomes.*,
                replace(coalesce(p.name, '') || '：' || ({templates})[1 + floor(bench.u(q, 15) * 6)::int],
                        '{{}}', (2 + floor(bench.u(q, 16) * 98))::text) AS body,
                understood AND (outcome = 'same' AND bench.u(q, 7) < 0.6
                                OR outcome = 'similar' AND bench.u(q, 7) < 0.35) AS resolved
            FROM (
                SELECT *,
                    CASE WHEN NOT understood THEN '' WHEN bench.u(q, 6) < 0.25 THEN 'same'
                         WHEN bench.u(q, 6) < 0.6 THEN 'similar' ELSE 'none' END AS outcome,
                    bench.u(q, 8) < 0.17 AS queued, bench.u(q, 9) < 0.833 AS accepted
                FROM (
                    SELECT *,
                        CASE WHEN r < 0.45 THEN 2 WHEN r < 0.62 THEN 1
                             WHEN r < 0.77 THEN CASE WHEN grade >= 3 THEN 3 ELSE 2 END
                             WHEN grade <= 6 THEN CASE WHEN r < 0.9 THEN 10 ELSE 9 END
                             WHEN r < 0.87 THEN CASE WHEN grade >= 8 THEN 4 ELSE 6 END
                             WHEN r < 0.93 THEN CASE WHEN grade = 9 THEN 5 ELSE 8 END
                             ELSE 7 END AS subject
                    FROM (
                        SELECT q, k, 1 + (k / {SCHOOLS}) % {GRADES} AS grade, bench.u(q, 3) AS r,
                            starts + bench.u(q, 1) * interval '1 hour' AS created_at,
                            CASE WHEN bench.u(q, 4) < 0.6 THEN 'photo' WHEN bench.u(q, 4) < 0.9 THEN 'text'
                                 ELSE 'voice' END AS kind,
                            bench.u(q, 5) < 0.97 AS understood
                        FROM (
                            SELECT first_id + i AS q, starts,
                                floor(power(bench.u(first_id + i, 2), 1.3) * {city.students})::bigint AS k
                            FROM bench.slots, generate_series(0, n - 1) i
                        ) numbered
                    ) chosen
                ) subjects
            ) outcomes
            LEFT JOIN bench.points p ON p.subject_id = subject AND p.grade = outcomes.grade
                 AND p.n = floor(power(bench.u(q, 10), 2)
                                 * (SELECT c.count FROM bench.pools c
                                    WHERE c.subject_id = subject AND c.grade = outcomes.grade))::int
        ) questions
        """
    )
    connection.execute("ANALYZE questions_question")  # the facts' statements are planned on its statistics
    _facts_insert(connection, city, first_id, last_id)
    return last_id


def _facts_insert(connection: psycopg.Connection, city: City, first_id: int, last_id: int) -> None:
    """The facts of the questions ``first_id``..``last_id``, recomputed from their rows and ids."""
    s, t = city.students, city.teachers
    ids = {"first": first_id, "last": last_id, "students": s, "teachers": t, "subjects": SUBJECTS}
    where = "q.id BETWEEN %(first)s AND %(last)s"
    # The photo or voice clip (text questions have none).
    connection.execute(
        f"""
        INSERT INTO questions_attachment (kind, position, content_type, size_bytes, original, processed, thumbnail,
            width, height, duration_seconds, status, recognized_text, confidence, error, question_id)
        SELECT kind, 0, CASE kind WHEN 'photo' THEN 'image/jpeg' ELSE 'audio/webm' END,
            CASE kind WHEN 'photo' THEN 400000 + floor(bench.u(q.id, 17) * 2000000)::int
                 ELSE 40000 + floor(bench.u(q.id, 17) * 200000)::int END,
            '', 'questions/' || q.id || CASE kind WHEN 'photo' THEN '.jpg' ELSE '.m4a' END,
            CASE kind WHEN 'photo' THEN 'questions/' || q.id || '-thumb.jpg' ELSE '' END,
            CASE kind WHEN 'photo' THEN 1600 END, CASE kind WHEN 'photo' THEN 1200 END,
            CASE kind WHEN 'voice' THEN 3 + 20 * bench.u(q.id, 18) END,
            CASE WHEN q.understood_at IS NULL THEN 'failed' ELSE 'done' END, q.text, q.text_confidence, '', q.id
        FROM (SELECT q.*, CASE WHEN bench.u(q.id, 4) < 0.6 THEN 'photo' ELSE 'voice' END AS kind
              FROM questions_question q WHERE {where} AND bench.u(q.id, 4) NOT BETWEEN 0.6 AND 0.9) q
        """,
        ids,
    )
    # The tagger's knowledge points when matched (a second one for 40 %); the answering teacher's instead when
    # a teacher answered.
    connection.execute(
        f"""
        INSERT INTO questions_questionknowledgepoint (source, confidence, rank, created_at, point_id, question_id)
        SELECT CASE WHEN q.status = 'answered' THEN 'teacher' ELSE 'tagger' END,
            CASE WHEN q.status = 'answered' THEN NULL ELSE 0.5 + 0.5 * bench.u(q.id, 19) END,
            rank, q.matched_at, p.point_id, q.id
        FROM (
            SELECT q.*, rank, CASE WHEN rank = 0 THEN first
                                   ELSE (first + 1 + floor(bench.u(q.id, 12) * (count - 1))::int) %% count END AS n
            FROM (
                SELECT q.id, q.status, q.matched_at, q.subject_id, q.grade, c.count,
                    floor(power(bench.u(q.id, 10), 2) * c.count)::int AS first
                FROM questions_question q JOIN bench.pools c ON c.subject_id = q.subject_id AND c.grade = q.grade
                WHERE {where} AND q.matched_at IS NOT NULL
            ) q CROSS JOIN (VALUES (0), (1)) AS ranks(rank)
            WHERE rank = 0 OR bench.u(q.id, 11) < 0.4 AND count > 1
        ) q
        JOIN bench.points p ON p.subject_id = q.subject_id AND p.grade = q.grade AND p.n = q.n
        """,
        ids,
    )
    # The best match for the same or a similar question (an entry of the subject), and what the student said.
    connection.execute(
        f"""
        INSERT INTO library_match (rank, score, dense, lexical, label, created_at, entry_id, question_id)
        SELECT 1, score, score - 0.02, score - 0.1, q.match_outcome, q.matched_at,
            q.subject_id + %(subjects)s * floor(bench.u(q.id, 20) * (%(entries)s / %(subjects)s))::int, q.id
        FROM (SELECT q.*, CASE q.match_outcome WHEN 'same' THEN 0.9 ELSE 0.75 END + 0.08 * bench.u(q.id, 21) AS score
              FROM questions_question q WHERE {where} AND q.match_outcome IN ('same', 'similar')) q
        """,
        {**ids, "entries": city.entries - SUBJECTS},
    )
    connection.execute("ANALYZE library_match")
    connection.execute(
        f"""
        INSERT INTO library_feedback (choice, created_at, question_id, match_id)
        SELECT CASE WHEN q.status = 'resolved' THEN 'resolved' ELSE 'still_stuck' END,
            q.matched_at + (20 + 60 * bench.u(q.id, 22)) * interval '1 second', q.id, m.id
        FROM questions_question q JOIN library_match m ON m.question_id = q.id
        WHERE {where} AND (q.status = 'resolved' OR q.status IN ('answered', 'cancelled'))
        """,
        ids,
    )
    # Sent to a teacher: the ticket (accepted after an exponential wait of mean 45 s, else cancelled after 1-6
    # minutes), its offer, and the session (log-normal around 7 minutes, 70 % rated).
    connection.execute(
        f"""
        INSERT INTO routing_ticket (grade, status, queued_at, failures, widen_level, needs_attention, assigned_at,
            finished_at, city_id, district_id, grade_band_id, question_id, school_id, subject_id, teacher_id)
        SELECT q.grade, CASE WHEN answered THEN 'finished' ELSE 'cancelled' END, queued, 0, 0, false,
            CASE WHEN answered THEN assigned END,
            CASE WHEN answered THEN assigned + interval '3 seconds' + duration ELSE queued + cancel END,
            1, 1 + (school - 1) %% {DISTRICTS}, CASE WHEN q.grade <= 2 THEN 1 WHEN q.grade <= 4 THEN 2
                                                    WHEN q.grade <= 6 THEN 3 ELSE 4 END,
            q.id, school, q.subject_id,
            CASE WHEN answered THEN %(students)s + q.subject_id
                 + %(subjects)s * floor(bench.u(q.id, 23) * (%(teachers)s / %(subjects)s))::int END
        FROM (SELECT q.*, q.status = 'answered' AS answered, 1 + (q.student_id - 1) %% {SCHOOLS} AS school,
                q.matched_at + (10 + 50 * bench.u(q.id, 24)) * interval '1 second' AS queued,
                q.matched_at + (10 + 50 * bench.u(q.id, 24)) * interval '1 second'
                    + (1 - 45 * ln(bench.u(q.id, 25) + 1e-9)) * interval '1 second' AS assigned,
                least(2400, greatest(60, 420 * exp(0.6 * bench.normal(q.id, 26)))) * interval '1 second' AS duration,
                (60 + 300 * bench.u(q.id, 28)) * interval '1 second' AS cancel
              FROM questions_question q WHERE {where} AND q.status IN ('answered', 'cancelled')) q
        ORDER BY q.id
        """,
        ids,
    )
    connection.execute("ANALYZE routing_ticket")
    connection.execute(
        f"""
        INSERT INTO routing_offer (policy, status, created_at, expires_at, responded_at, teacher_id, ticket_id)
        SELECT 'auto', CASE WHEN t.status = 'finished' THEN 'accepted' ELSE 'withdrawn' END,
            coalesce(t.assigned_at - interval '4 seconds', t.queued_at + interval '5 seconds'),
            coalesce(t.assigned_at - interval '4 seconds', t.queued_at + interval '5 seconds')
                + interval '30 seconds',
            t.assigned_at,
            coalesce(t.teacher_id, %(students)s + t.subject_id
                     + %(subjects)s * floor(bench.u(t.question_id, 29) * (%(teachers)s / %(subjects)s))::int),
            t.id
        FROM routing_ticket t JOIN questions_question q ON q.id = t.question_id
        WHERE {where} AND (t.status = 'finished' OR bench.u(q.id, 30) < 0.5)
        ORDER BY t.id
        """,
        ids,
    )
    connection.execute(
        f"""
        INSERT INTO tutoring_sessions_tutoringsession (status, started_at, ended_at, ended_reason, last_seq,
            student_draw, student_speak, rating, rating_comment, rated_at, library_text, knowledge_points,
            question_id, student_id, teacher_id, ticket_id)
        SELECT 'ended', t.assigned_at + interval '3 seconds', t.finished_at, 'teacher', 0, false, false,
            rating, '', CASE WHEN rating IS NOT NULL THEN t.finished_at + interval '30 seconds' END, '', '[]',
            q.id, q.student_id, t.teacher_id, t.id
        FROM routing_ticket t JOIN questions_question q ON q.id = t.question_id
        CROSS JOIN LATERAL (SELECT CASE WHEN bench.u(q.id, 31) >= 0.7 THEN NULL
                                        ELSE (ARRAY[5, 5, 5, 5, 5, 4, 4, 4, 3, 3, 2, 1])[
                                             1 + floor(bench.u(q.id, 32) * 12)::int] END AS rating) r
        WHERE {where} AND t.status = 'finished'
        ORDER BY t.id
        """,
        ids,
    )


SEQUENCED = (
    "schools_city",
    "schools_district",
    "schools_school",
    "accounts_user",
    "accounts_studentprofile",
    "accounts_teacherprofile",
    "accounts_teacherprofile_subjects",
    "accounts_teacherprofile_grade_bands",
    "library_entry",
    "questions_question",
)


def sequences_advance(connection: psycopg.Connection) -> None:
    for table in SEQUENCED:
        connection.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
        )


FACT_TABLES = (
    "questions_question",
    "questions_attachment",
    "questions_questionknowledgepoint",
    "library_match",
    "library_feedback",
    "routing_ticket",
    "routing_offer",
    "tutoring_sessions_tutoringsession",
)


def indexes_drop(connection: psycopg.Connection) -> list[str]:
    """Drop the fact tables' secondary indexes and unique constraints (primary keys stay) and return the
    statements that make them again: building an index once after the rows are in is much faster than keeping it
    through millions of inserts in random order."""
    constraints = connection.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)",
        (list(FACT_TABLES),),
    ).fetchall()
    indexes = connection.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
        (list(FACT_TABLES),),
    ).fetchall()
    remade = []
    for table, name, definition in constraints:
        connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        remade.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        connection.execute(f'DROP INDEX "{name}"')
        remade.append(definition)
    return remade


def year_days(last_day: date) -> list[date]:
    return [last_day - timedelta(days=n) for n in range(364, -1, -1)]
