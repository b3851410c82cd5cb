"""From ledger lines to a day's figures, and from a day's figures to fen and credit by one rule version. Plain
integer arithmetic: every division is a floor, written where it happens, so a recount gives the same fen."""

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from tutoring.stipends.models import LedgerLine, StipendRule

GOOD_RATING = 4  # a rating of this or more earns credit
MS_PER_MINUTE = 60_000
# A statement's day: the figures of its ledger (``day_totals``) and what they are priced at (``day_priced``).
DAY_FIGURES = (
    "duty_ms",
    "session_ms",
    "sessions",
    "flagged",
    "students",
    "lectures",
    "audience",
    "videos",
    "helped",
    "ratings",
    "rating_sum",
    "good_ratings",
)
PRICED = ("time_fen", "session_fen", "lecture_fen", "credit")


def day_totals(lines: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One day's ledger lines (as dicts of the model's fields) summed: duty and counted session time, sessions
    counted and flagged, the students served (each once), lectures and their audience, videos published,
    students helped by videos, ratings (count, sum, good ones) and the counted time by local hour."""
    totals: dict[str, Any] = dict.fromkeys((key for key in DAY_FIGURES if key != "students"), 0)
    served: set[int] = set()
    by_hour: dict[str, int] = {}
    audiences: list[int] = []
    for line in lines:
        kind = line["kind"]
        if kind == LedgerLine.Kind.DUTY:
            totals["duty_ms"] += line["counted_ms"]
        elif kind == LedgerLine.Kind.SESSION:
            if line["flag"]:
                totals["flagged"] += 1
            else:
                totals["sessions"] += 1
                totals["session_ms"] += line["counted_ms"]
                served.add(line["details"]["student"])
            if line["rating"] is not None:
                totals["ratings"] += 1
                totals["rating_sum"] += line["rating"]
                totals["good_ratings"] += line["rating"] >= GOOD_RATING
        elif kind == LedgerLine.Kind.LECTURE:
            totals["lectures"] += 1
            totals["audience"] += line["students"]
            audiences.append(line["students"])
        elif kind == LedgerLine.Kind.VIDEO:
            totals["videos"] += 1
        elif kind == LedgerLine.Kind.HELPED:
            totals["helped"] += 1
        if kind in (LedgerLine.Kind.DUTY, LedgerLine.Kind.SESSION):
            for hour, ms in line["details"].get("by_hour", {}).items():
                by_hour[hour] = by_hour.get(hour, 0) + ms
    return {**totals, "students": len(served), "by_hour": by_hour, "audiences": sorted(audiences)}


def day_kind(day: date, rule: StipendRule) -> str:
    if day.isoformat() in rule.holidays:
        return "holiday"
    return "weekend" if day.weekday() >= 5 else "weekday"


def time_fen(day: date, by_hour: Mapping[str, int], rule: StipendRule) -> int:
    """The day's duty and session time at the rate of its slot: per slot, its milliseconds × the rate per class
    hour ÷ the class hour's milliseconds, floored."""
    kind = day_kind(day, rule)
    slots: dict[int, int] = {}  # rate → milliseconds
    for hour, ms in by_hour.items():
        if kind == "holiday":
            rate = rule.holiday_fen
        elif kind == "weekend":
            rate = rule.weekend_fen
        else:
            rate = rule.evening_fen if int(hour) >= rule.evening_from_hour else rule.weekday_fen
        slots[rate] = slots.get(rate, 0) + ms
    class_hour_ms = rule.class_hour_minutes * MS_PER_MINUTE
    return sum(ms * rate // class_hour_ms for rate, ms in sorted(slots.items()))


def lecture_fen(audience: int, rule: StipendRule) -> int:
    """The fee of the largest audience band the lecture reaches (none: nothing)."""
    reached = [(least, fen) for least, fen in rule.lecture_bands if audience >= least]
    return max(reached)[1] if reached else 0


def quality_permille(rating_sum: int, ratings: int, rule: StipendRule) -> int:
    """The month's mean rating against the rule's reference, in ‰ (floored), within its floor and cap; 1000 with
    no rating."""
    if not ratings:
        return 1000
    factor = rating_sum * 10 * 1000 // (ratings * rule.quality_reference_tenths)
    return max(rule.quality_floor_permille, min(rule.quality_cap_permille, factor))


def day_priced(day: date, totals: Mapping[str, Any], rule: StipendRule) -> dict[str, int]:
    return {
        "time_fen": time_fen(day, totals["by_hour"], rule),
        "session_fen": totals["sessions"] * rule.session_fen,
        "lecture_fen": sum(lecture_fen(audience, rule) for audience in totals["audiences"]),
        "credit": totals["sessions"] * rule.credit_session
        + totals["lectures"] * rule.credit_lecture
        + totals["good_ratings"] * rule.credit_good_rating
        + totals["helped"] * rule.credit_helped,
    }


def yuan(fen: int) -> Decimal:
    """Fen as yuan with two decimals, exactly: 12345 → 123.45, -5 → -0.05."""
    return Decimal(fen).scaleb(-2)


def rounded(value: Fraction) -> Decimal:
    """A non-negative fraction rounded half up to two decimals, exactly: what minutes and class hours show."""
    whole, rest = divmod(value.numerator * 100, value.denominator)
    return Decimal(whole + (2 * rest >= value.denominator)).scaleb(-2)


def class_hours(days: Iterable[tuple[int, int]]) -> Fraction:
    """The class hours, exactly, in (milliseconds, class-hour minutes) of days whose rule versions may differ."""
    return sum((Fraction(ms, minutes * MS_PER_MINUTE) for ms, minutes in days), Fraction(0))
