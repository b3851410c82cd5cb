"""Every figure the insights show, defined once: its name, what exactly it counts (shown beside it on the page and
in exports), and how it is computed from the rollups' sums (``tutoring.insights.models.Counts``). All figures are
about the questions asked in the period (by the local time they were sent), whatever became of them since."""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.utils.functional import Promise
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
