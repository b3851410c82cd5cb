"""Every figure the insights show, defined once: its name, what exactly it counts (shown beside it on the page and
in exports), and how it is computed from the rollups' sums (``tutoring.insights.models.Counts``). All figures are
about the questions asked in the period (by the local time they were sent), whatever became of them since."""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

# The upper bounds (seconds) of the buckets waits and session lengths are counted in; the last is open.
BUCKET_SECONDS: tuple[float, ...] = (
    1, 2, 3, 5, 7, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600, math.inf,
)  # fmt: skip
RATINGS = (1, 2, 3, 4, 5)

Sums = Mapping[str, float]  # column of Counts -> its sum over the rows of a group
Spread = Sequence[int]  # a count per bucket of BUCKET_SECONDS


@dataclass(frozen=True)
class Figure:
    code: str
    label: Promise
    definition: Promise
    unit: str  # "count", "share" (0-1), "seconds" or "stars"
    value: Callable[[Sums, Mapping[str, Spread]], float | None]


def bucket_of(seconds: float) -> int:
    """The bucket a measured duration falls in: the first whose upper bound it does not exceed."""
    return next(number for number, bound in enumerate(BUCKET_SECONDS) if seconds <= bound)


def percentile(spread: Spread, share: float) -> float | None:
    """The upper bound of the bucket holding the ``share`` (0-1) quantile; None with nothing counted."""
    total = sum(spread)
    if not total:
        return None
    needed, running = share * total, 0
    for number, count in enumerate(spread):
        running += count
        if running >= needed:
            return BUCKET_SECONDS[number]
    return BUCKET_SECONDS[-1]


def _ratio(numerator: str, denominator: str) -> Callable[[Sums, Mapping[str, Spread]], float | None]:
    return lambda sums, _spreads: sums[numerator] / sums[denominator] if sums[denominator] else None


def _count(column: str) -> Callable[[Sums, Mapping[str, Spread]], float | None]:
    return lambda sums, _spreads: sums[column]


def _mean(total: str, count: str) -> Callable[[Sums, Mapping[str, Spread]], float | None]:
    return lambda sums, _spreads: sums[total] / sums[count] if sums[count] else None


def _quantile(measure: str, share: float) -> Callable[[Sums, Mapping[str, Spread]], float | None]:
    return lambda _sums, spreads: percentile(spreads[measure], share)


def _rating_mean(sums: Sums, _spreads: Mapping[str, Spread]) -> float | None:
    rated = sum(sums[f"rating_{stars}"] for stars in RATINGS)
    return sum(stars * sums[f"rating_{stars}"] for stars in RATINGS) / rated if rated else None


def _rated(sums: Sums, _spreads: Mapping[str, Spread]) -> float:
    return sum(sums[f"rating_{stars}"] for stars in RATINGS)


FIGURES: tuple[Figure, ...] = (
    Figure(
        "asked",
        _("Questions asked"),
        _("Questions students sent in the period, whatever became of them."),
        "count",
        _count("asked"),
    ),
    Figure(
        "by_text",
        _("Asked by text"),
        _("Questions with neither a photo nor a voice clip."),
        "count",
        _count("by_text"),
    ),
    Figure(
        "by_photo",
        _("Asked by photo"),
        _("Questions with at least one photo (typed words or a voice clip besides)."),
        "count",
        _count("by_photo"),
    ),
    Figure(
        "by_voice",
        _("Asked by voice"),
        _("Questions with a voice clip and no photo."),
        "count",
        _count("by_voice"),
    ),
    Figure(
        "understood",
        _("Understood"),
        _(
            "Questions whose text was typed or recognised, so that matching could start (a question the "
            "student corrected counts once)."
        ),
        "count",
        _count("understood"),
    ),
    Figure(
        "matched_same",
        _("The same question answered"),
        _("Understood questions whose best answered question was judged the same question."),
        "count",
        _count("matched_same"),
    ),
    Figure(
        "matched_similar",
        _("Similar questions answered"),
        _("Understood questions shown similar answered questions, none of them the same."),
        "count",
        _count("matched_similar"),
    ),
    Figure(
        "matched_none",
        _("No answered question fits"),
        _("Understood questions for which no answered question was shown."),
        "count",
        _count("matched_none"),
    ),
    Figure(
        "match_rate",
        _("Matched"),
        _("Same or similar, over the questions understood."),
        "share",
        lambda s, _p: (s["matched_same"] + s["matched_similar"]) / s["understood"] if s["understood"] else None,
    ),
    Figure(
        "solved_by_library",
        _("Solved by an answered question"),
        _("Questions whose student said 解决了 after an answered question and did not say 还是不会 afterwards."),
        "count",
        _count("solved_by_library"),
    ),
    Figure(
        "deflection",
        _("Solved without a teacher"),
        _("Solved by an answered question, over the questions understood."),
        "share",
        _ratio("solved_by_library", "understood"),
    ),
    Figure(
        "sent_to_teacher",
        _("Sent to a teacher"),
        _("Questions that entered the live queue: the student said 还是不会, or no answered question fitted."),
        "count",
        _count("sent_to_teacher"),
    ),
    Figure(
        "answered",
        _("Answered by a teacher"),
        _("Questions a teacher answered in a session that has ended."),
        "count",
        _count("answered"),
    ),
    Figure(
        "cancelled",
        _("Stopped waiting"),
        _(
            "Questions whose student stopped waiting for a teacher (while waiting or while a teacher "
            "was being offered it)."
        ),
        "count",
        _count("cancelled"),
    ),
    Figure(
        "answer_rate",
        _("Answered of those sent"),
        _("Answered by a teacher, over the questions sent to a teacher."),
        "share",
        _ratio("answered", "sent_to_teacher"),
    ),
    Figure(
        "wait_p50",
        _("Wait for a teacher, median"),
        _(
            "From entering the queue to the first teacher's accept, over the questions accepted: at "
            "most this many seconds for half of them (the upper bound of its bucket)."
        ),
        "seconds",
        _quantile("wait", 0.5),
    ),
    Figure(
        "wait_p90",
        _("Wait for a teacher, 90th percentile"),
        _("As the median, for nine in ten of the questions accepted."),
        "seconds",
        _quantile("wait", 0.9),
    ),
    Figure(
        "wait_mean",
        _("Wait for a teacher, mean"),
        _("The mean of the same waits, in seconds."),
        "seconds",
        _mean("wait_seconds", "accepted"),
    ),
    Figure(
        "sessions",
        _("Sessions"),
        _("Questions whose first session with a teacher has ended."),
        "count",
        _count("sessions"),
    ),
    Figure(
        "session_p50",
        _("Session length, median"),
        _(
            "The first ended session's length from its start to its end: at most this many seconds for "
            "half of them (the upper bound of its bucket)."
        ),
        "seconds",
        _quantile("session", 0.5),
    ),
    Figure(
        "session_mean",
        _("Session length, mean"),
        _("The mean length of the same sessions, in seconds."),
        "seconds",
        _mean("session_seconds", "sessions"),
    ),
    Figure(
        "rated",
        _("Sessions rated"),
        _("Ended sessions the student rated (a session never rated counts in the sessions, not here)."),
        "count",
        _rated,
    ),
    Figure(
        "rating_mean",
        _("Mean rating"),
        _("The mean of the students' ratings, 1 to 5 stars, of the sessions rated."),
        "stars",
        _rating_mean,
    ),
)
FIGURE_BY_CODE = {figure.code: figure for figure in FIGURES}


# --- Participation, satisfaction, silent schools, lectures and duty coverage --------------------------------------
# Their tables are read from their own rollups (``StudentDay``, ``RatingComment``, ``LectureFigures``,
# ``CoverageHour``) and from ``Counts``; each column is defined here once, shown beside it on the page and in the
# exports' definitions.

SILENT_DAYS = 7  # a school whose students asked nothing in this many days up to the period's end is flagged
STAFFING_WEEKS = 4  # next week's expected questions: the mean of the same weekday and hour over this many weeks
TARGET_UTILISATION = 0.8  # the share of their time on duty teachers are planned to spend answering


@dataclass(frozen=True)
class Column:
    code: str
    label: Promise
    definition: Promise
    unit: str  # "count", "share" (0-1), "seconds", "stars", "hours", "text" or "day"


def _formatted(text: Promise, **values: object) -> Promise:
    """A translated text with its placeholders filled in the language of the moment it is shown."""
    return cast(Promise, lazy(lambda: str(text) % values, str)())  # the stubs type a lazy str as a str


def share(part: float, whole: float) -> float | None:
    """``part`` over ``whole``; None over nothing."""
    return part / whole if whole else None


def teachers_needed(
    expected_questions: float, answer_seconds: float, *, utilisation: float = TARGET_UTILISATION
) -> int:
    """Teachers to schedule for one hour: the expected questions sent to a teacher in that hour times the typical
    answer time, in teacher-hours, over the target utilisation, rounded up."""
    return math.ceil(round(expected_questions * answer_seconds / 3600 / utilisation, 9))


STAFFING_FORMULA = _formatted(
    _(
        "Teachers needed in an hour = ⌈expected questions sent to a teacher in that hour × typical answer time "
        "(seconds) ÷ 3600 ÷ %(utilisation)s⌉; expected questions: the mean of the same weekday and hour over the "
        "last %(weeks)s weeks; typical answer time: the mean of the subject's last finished answers."
    ),
    utilisation=TARGET_UTILISATION,
    weeks=STAFFING_WEEKS,
)

# The columns that name a table's rows.
SCHOOL = Column("school", _("School"), _("The school of the students' profiles."), "text")
DISTRICT = Column("district", _("District"), _("The district of the school."), "text")
GRADE = Column("grade", _("Grade"), _("The grade of the students' profiles."), "text")
PERIOD = Column("period", _("Period"), _("The day, or the week from its Monday, the questions were asked in."), "text")
HOUR = Column("hour", _("Hour"), _("The hour of the day, local time."), "text")

PARTICIPATION: tuple[Column, ...] = (
    Column("enrolled", _("Students enrolled"), _("Students whose profile is in the school and grade."), "count"),
    Column(
        "participants",
        _("Students who asked"),
        _("Enrolled students who sent at least one question in the period (each counted once)."),
        "count",
    ),
    Column("participation", _("Participation"), _("Students who asked, over the students enrolled."), "share"),
    Column("questions", _("Questions asked"), _("Questions these students sent in the period."), "count"),
)
SATISFACTION: tuple[Column, ...] = (
    *(
        Column(
            f"rating_{stars}",
            _formatted(_("%(stars)s stars"), stars=stars),
            _("Sessions rated this many stars."),
            "count",
        )
        for stars in RATINGS
    ),
    Column(
        "rated",
        _("Sessions rated"),
        _("Questions of the period whose first ended session the student rated (one left unrated is not here)."),
        "count",
    ),
    Column("rating_mean", _("Mean rating"), _("The mean of those ratings, 1 to 5 stars."), "stars"),
    Column(
        "commented",
        _("Ratings with a comment"),
        _("Of those ratings, the ones the student wrote a comment with."),
        "count",
    ),
)
COMMENTS: tuple[Column, ...] = (
    Column("day", _("Day asked"), _("The day the question was asked."), "day"),
    Column("subject", _("Subject"), _("The question's subject."), "text"),
    Column("grade", _("Grade"), _("The question's grade."), "text"),
    Column("stars", _("Rating"), _("The stars the student gave the session, 1 to 5."), "stars"),
    Column("comment", _("Comment"), _("What the student wrote with the rating, as written; never their name."), "text"),
)
SILENT: tuple[Column, ...] = (
    Column("enrolled", _("Students enrolled"), _("Students whose profile is in the school."), "count"),
    Column(
        "last_day",
        _("Last day with a question"),
        _("The last day up to the period's end on which a student of the school sent a question (none: never)."),
        "day",
    ),
    Column(
        "silent",
        _("Silent"),
        _formatted(
            _("No student of the school sent a question in the %(days)s days up to the period's end."), days=SILENT_DAYS
        ),
        "text",
    ),
)
LECTURES: tuple[Column, ...] = (
    Column("day", _("Day"), _("The day the lecture started."), "day"),
    Column("title", _("Lecture"), _("The lecture's title."), "text"),
    Column("minutes", _("Minutes live"), _("From the lecture's start to its end (or now, while live)."), "count"),
    Column("signups", _("Signed up"), _("Students signed up when the rollup last read it (withdrawn: not)."), "count"),
    Column("viewers", _("Watched live"), _("Distinct students who joined the live lecture."), "count"),
    Column(
        "peak",
        _("Most at once"),
        _("The most students watching the live lecture at the same moment (a student with two tabs counts once)."),
        "count",
    ),
    Column("replay_viewers", _("Watched the replay"), _("Distinct users who played part of the replay."), "count"),
    Column("replay_minutes", _("Replay minutes"), _("Minutes of the replay played, all viewers together."), "count"),
)
COVERAGE: tuple[Column, ...] = (
    Column(
        "teacher_hours",
        _("Teacher-hours on duty"),
        _(
            "Hours teachers were on duty within this hour of the day, summed over the days of the period (from "
            "going on duty to going off; a duty across the hour or midnight counts in each hour it covers)."
        ),
        "hours",
    ),
    Column(
        "sent_to_teacher",
        _("Sent to a teacher"),
        _("Questions asked in this hour of the day that entered the live queue."),
        "count",
    ),
    Column(
        "per_teacher_hour",
        _("Questions per teacher-hour"),
        _("Questions sent to a teacher over the teacher-hours on duty."),
        "count",
    ),
    Column(
        "wait_mean",
        _("Wait for a teacher, mean"),
        _("The mean wait from entering the queue to the first teacher's accept, of the questions accepted."),
        "seconds",
    ),
)
STAFFING: tuple[Column, ...] = (
    Column("subject", _("Subject"), _("The subject of the shifts."), "text"),
    Column("grade_band", _("Grade band"), _("The grade band of the shifts."), "text"),
    Column("weekday", _("Weekday"), _("The day of next week."), "text"),
    Column("hour", _("Hour"), _("The hour of the day."), "text"),
    Column(
        "expected",
        _("Expected questions"),
        _formatted(
            _("The mean of questions sent to a teacher in the same weekday and hour over the last %(weeks)s weeks."),
            weeks=STAFFING_WEEKS,
        ),
        "count",
    ),
    Column("needed", _("Teachers needed"), STAFFING_FORMULA, "count"),
    Column(
        "scheduled",
        _("Teachers scheduled"),
        _("Teacher-hours of next week's shifts within this hour (a shift covering it whole counts 1)."),
        "count",
    ),
    Column(
        "add", _("Teachers to add"), _("Teachers needed less those scheduled, rounded up; none if enough."), "count"
    ),
)
