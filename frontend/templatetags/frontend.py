from decimal import Decimal

from django import template

from tutoring.schools.selectors import grade_label
from tutoring.stipends.pricing import yuan

register = template.Library()


@register.filter(name="grade_label")
def grade_label_filter(grade: int) -> str:
    """``{{ question.grade|grade_label }}``: the grade's display name in the active language."""
    return grade_label(grade)


@register.filter(name="clock")
def clock_filter(seconds: float) -> str:
    """``{{ answer.duration_seconds|clock }}``: 185.2 -> "3:05", as the answer cards of matches.js show it."""
    total = int(seconds + 0.5)  # halves up, as JavaScript's Math.round
    return f"{total // 60}:{total % 60:02d}"


@register.filter(name="yuan")
def yuan_filter(fen: int) -> Decimal:
    """Fen as yuan with two decimals (exact)."""
    return yuan(fen)


@register.filter(name="minutes")
def minutes_filter(ms: int) -> int:
    """Milliseconds as whole minutes (floored)."""
    return ms // 60_000
