"""Figures: percentiles and the character error rate of recognised text."""

import math
import unicodedata
from collections.abc import Sequence


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``share`` (0..100) of all values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)]


def milliseconds(values: Sequence[float]) -> list[str]:
    """p50, p99 and the maximum of durations in seconds, as milliseconds ("-" when there are none)."""
    if not values:
        return ["-", "-", "-"]
    return [f"{value * 1000:.0f}" for value in (percentile(values, 50), percentile(values, 99), max(values))]


def normalized(text: str) -> str:
    """Text as compared for the error rate: NFKC (full-width digits, letters and punctuation
    become half-width) with all whitespace removed."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def edit_distance(reference: str, hypothesis: str) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions of characters."""
    previous = list(range(len(hypothesis) + 1))
    for row, expected in enumerate(reference, start=1):
        current = [row]
        for column, got in enumerate(hypothesis, start=1):
            current.append(min(previous[column] + 1, current[column - 1] + 1, previous[column - 1] + (expected != got)))
        previous = current
    return previous[-1]
