from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tutoring.stipends.counting import active_spans, by_hour, clip, day_bounds, milliseconds, subtract, total_ms, union

ZONE = ZoneInfo("Asia/Shanghai")


def at(minute: float) -> datetime:
    return datetime(2026, 11, 2, 19, 0, tzinfo=ZONE) + timedelta(minutes=minute)


def test_milliseconds_drop_the_microseconds_never_round_up():
    assert milliseconds(timedelta(days=1, seconds=1, microseconds=999_999)) == 86_401_999


def test_union_merges_overlapping_and_touching_intervals_and_drops_empty_ones():
    assert union([(at(10), at(20)), (at(0), at(5)), (at(5), at(7)), (at(15), at(25)), (at(30), at(30))]) == [
        (at(0), at(7)),
        (at(10), at(25)),
    ]


def test_subtract_cuts_holes_and_ends():
    assert subtract([(at(0), at(60))], [(at(-5), at(10)), (at(20), at(30)), (at(55), at(70))]) == [
        (at(10), at(20)),
        (at(30), at(55)),
    ]
    assert subtract([(at(0), at(10))], [(at(0), at(10))]) == []


def test_day_bounds_and_clip_use_the_local_midnight():
    low, high = day_bounds(date(2026, 11, 2), ZONE)

    assert (low.isoformat(), high.isoformat()) == ("2026-11-02T00:00:00+08:00", "2026-11-03T00:00:00+08:00")
    assert clip([(low - timedelta(hours=1), low + timedelta(hours=1))], (low, high)) == [
        (low, low + timedelta(hours=1))
    ]


def test_active_spans_leave_out_pauses_longer_than_the_gap_and_stop_at_the_last_activity():
    activity = [
        (at(1), at(1)),  # 1 min after the start: counted from the start
        (at(3), at(3.5)),  # a voice stretch
        (at(12), at(12)),  # 8.5 min pause > 5: left out
        (at(14), at(14)),
        (at(19), at(19)),  # exactly 5 min: counted
    ]

    spans = active_spans(at(0), activity, timedelta(minutes=5))

    assert spans == [(at(0), at(3.5)), (at(12), at(19))]
    assert total_ms(spans) == 630_000


def test_active_spans_count_nothing_without_activity_and_a_long_wait_before_the_first():
    assert active_spans(at(0), [], timedelta(minutes=5)) == []
    assert active_spans(at(0), [(at(10), at(10)), (at(11), at(11))], timedelta(minutes=5)) == [(at(10), at(11))]


def test_by_hour_splits_at_each_local_hour_and_sums_to_the_total():
    intervals = [(at(-30), at(10)), (at(50), at(125.5))]

    hours = by_hour(intervals, ZONE)

    assert hours == {18: 1_800_000, 19: 600_000 + 600_000, 20: 3_600_000, 21: 330_000}
    assert sum(hours.values()) == total_ms(intervals)
