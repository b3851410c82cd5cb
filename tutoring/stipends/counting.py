"""The arithmetic of counted time, on plain values: spans of activity with idle gaps left out, unions and
differences of intervals, and their split into local days. Times are aware datetimes; durations are whole
milliseconds, so that sums are exact and a recount gives the same figure."""

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo

Interval = tuple[datetime, datetime]
MICROSECOND = timedelta(microseconds=1)


def milliseconds(delta: timedelta) -> int:
    """A duration in whole milliseconds (a datetime's microseconds are dropped, never rounded up)."""
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """The intervals merged where they overlap or touch, in order; empty ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted(interval for interval in intervals if interval[0] < interval[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(intervals: Iterable[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """What of ``intervals`` lies outside every one of ``cuts``, merged, in order."""
    remaining = union(intervals)
    for cut_start, cut_end in union(cuts):
        kept: list[Interval] = []
        for start, end in remaining:
            if end <= cut_start or cut_end <= start:
                kept.append((start, end))
                continue
            if start < cut_start:
                kept.append((start, cut_start))
            if cut_end < end:
                kept.append((cut_end, end))
        remaining = kept
    return remaining


def total_ms(intervals: Iterable[Interval]) -> int:
    return sum(milliseconds(end - start) for start, end in union(intervals))


def day_bounds(day: date, zone: tzinfo) -> Interval:
    """The day from its local midnight to the next one."""
    start = datetime.combine(day, time(), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)


def clip(intervals: Iterable[Interval], bounds: Interval) -> list[Interval]:
    """``intervals`` cut to ``bounds``."""
    low, high = bounds
    return union((max(start, low), min(end, high)) for start, end in intervals)


def active_spans(start: datetime, activity: Sequence[Interval], idle_gap: timedelta) -> list[Interval]:
    """The spans counted of a session that began at ``start``: from the start to its last activity (each one an
    instant or a stretch such as a voice frame), with every pause longer than ``idle_gap`` between two
    activities (or between the start and the first) left out. No activity: nothing."""
    offsets = [((begin - start) // MICROSECOND, (end - start) // MICROSECOND) for begin, end in activity]
    return [
        (start + low * MICROSECOND, start + high * MICROSECOND)
        for low, high in active_offsets(offsets, idle_gap // MICROSECOND)
    ]


def active_offsets(activity: Sequence[tuple[int, int]], idle_gap: int) -> list[tuple[int, int]]:
    """``active_spans`` with every moment an offset from the start (whole microseconds, say): the same
    arithmetic on integers, for a reader that keeps a session's activity so. With a gap of zero or more the
    spans are apart from each other and in order (their own union)."""
    spans: list[tuple[int, int]] = []
    span_start = reached = 0
    for begin, end in sorted(activity):
        if begin - reached > idle_gap:
            spans.append((span_start, reached))
            span_start = begin
        reached = max(reached, end)
    if activity:
        spans.append((span_start, reached))
    return [(low, high) for low, high in spans if low < high]


def by_hour(intervals: Iterable[Interval], zone: tzinfo) -> dict[int, int]:
    """The milliseconds of ``intervals`` in each local hour of the day (0-23): what time slots are priced by."""
    return hours_of(union(intervals), zone)


def hours_of(merged: Iterable[Interval], zone: tzinfo) -> dict[int, int]:
    """``by_hour`` of intervals that are already their own union (apart from each other, in order)."""
    hours: dict[int, int] = {}
    for start, end in merged:
        cursor = start.astimezone(zone)
        end = end.astimezone(zone)
        while cursor < end:
            next_hour = cursor.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            step = min(next_hour, end)
            hours[cursor.hour] = hours.get(cursor.hour, 0) + milliseconds(step - cursor)
            cursor = step
    return dict(sorted(hours.items()))
