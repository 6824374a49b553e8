"""Property test: occurrences equal a brute-force reference that walks every minute in the zone.

The reference knows nothing of the engine: croniter expands the fields, and an instant is a start when its local
wall time matches with fold=0 (the first of an ambiguous pair), or when it is the first instant after a gap in
which some nonexistent wall time matched.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from maintenance_operator.schedule import Exclusion, WindowSchedule, next_occurrences, previous_occurrence

MINUTE = timedelta(minutes=1)
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
    "Asia/Kolkata",
    "UTC",
]


class Cron:
    """A reference matcher over croniter's field expansion (day-of-month OR day-of-week when both restricted)."""

    def __init__(self, expression: str, dom_restricted: bool, dow_restricted: bool) -> None:
        fields, _ = croniter.expand(expression)
        ranges = [range(60), range(24), range(1, 32), range(1, 13), range(7)]
        self.minutes, self.hours, self.days, self.months, self.weekdays = (
            set(r) if f == ["*"] else {int(v) % 7 if r == ranges[4] else int(v) for v in f}
            for f, r in zip(fields, ranges, strict=True)
        )
        self.either_day = dom_restricted and dow_restricted

    def matches(self, wall: datetime) -> bool:
        if wall.minute not in self.minutes or wall.hour not in self.hours or wall.month not in self.months:
            return False
        by_dom = wall.day in self.days
        by_dow = (wall.weekday() + 1) % 7 in self.weekdays
        return (by_dom or by_dow) if self.either_day else (by_dom and by_dow)


def reference_starts(cron: Cron, zone: ZoneInfo, after: datetime, until: datetime) -> list[datetime]:
    """Every start in (after, until], walking UTC minutes."""
    starts = []
    instant = after.replace(second=0, microsecond=0)
    previous = instant.astimezone(zone).replace(tzinfo=None)
    instant += MINUTE
    while instant <= until:
        local = instant.astimezone(zone)
        wall = local.replace(tzinfo=None)
        is_start = local.fold == 0 and cron.matches(wall)
        skipped = previous + MINUTE
        while not is_start and skipped < wall:  # wall times jumped over by a spring-forward gap
            is_start = cron.matches(skipped)
            skipped += MINUTE
        if is_start:
            starts.append(instant)
        previous = wall
        instant += MINUTE
    return starts


@cache
def transitions(zone_name: str) -> list[datetime]:
    """UTC instants of offset changes in 2024-2031, found by daily steps refined to the minute."""
    zone = ZoneInfo(zone_name)
    found = []
    day = datetime(2024, 1, 1, tzinfo=UTC)
    while day.year < 2031:
        following = day + timedelta(days=1)
        if day.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            low, high = day, following
            while high - low > MINUTE:
                middle = low + (high - low) // 2 // MINUTE * MINUTE
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high)
        day = following
    return found


def _values(low: int, high: int, most: int) -> st.SearchStrategy[str]:
    return st.lists(st.integers(low, high), min_size=1, max_size=most, unique=True).map(
        lambda vs: ",".join(map(str, sorted(vs)))
    )


def _restricted(low: int, high: int) -> st.SearchStrategy[str]:
    return st.one_of(
        _values(low, high, 3),
        st.tuples(st.integers(low, high - 1), st.integers(1, 3)).map(lambda v: f"{v[0]}-{high}/{v[1]}"),
    )


MINUTES = st.one_of(
    st.just("*"),
    st.sampled_from([5, 10, 15, 20, 30, 45]).map(lambda s: f"*/{s}"),
    st.sampled_from(["0", "30", "45", "0,30", "15,45", "59", "0-10/5"]),
    _values(0, 59, 3),
)
DAYS = st.one_of(st.just("*"), st.just("*"), st.just("*"), _restricted(1, 31))
MONTHS = st.one_of(st.just("*"), st.just("*"), st.just("*"), _restricted(1, 12))
WEEKDAYS = st.one_of(st.just("*"), st.just("*"), st.just("*"), _restricted(0, 6))


@st.composite
def hours_near(draw: st.DrawFn, local_hours: list[int]) -> str:
    """Mostly the local hours around the span's transition, so gaps and folds are actually exercised."""
    chosen = set(draw(st.lists(st.sampled_from(local_hours), min_size=1, max_size=2)))
    chosen |= set(draw(st.lists(st.integers(0, 23), max_size=1)))
    return draw(st.one_of(st.just(",".join(map(str, sorted(chosen)))), st.just("*"), _restricted(0, 23)))


@st.composite
def spans(draw: st.DrawFn, zone_name: str) -> tuple[datetime, datetime, list[int]]:
    """A span of up to 3 days, mostly around a DST transition, and the local hours just around that transition."""
    candidates = transitions(zone_name)
    zone = ZoneInfo(zone_name)
    if candidates and draw(st.integers(0, 4)) > 0:
        transition = draw(st.sampled_from(candidates))
        start = transition - timedelta(minutes=draw(st.integers(0, 36 * 60)))
    else:
        transition = draw(st.datetimes(datetime(2024, 1, 1), datetime(2030, 12, 31))).replace(tzinfo=UTC)
        start = transition.replace(second=0, microsecond=0)
    end = max(start, transition) + timedelta(minutes=draw(st.integers(1, 2 * 24 * 60)))
    hours = sorted({(transition + timedelta(minutes=m)).astimezone(zone).hour for m in (-1, 0)})
    return start, end, hours


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_next_and_previous_occurrences_match_brute_force(data: st.DataObject) -> None:
    zone_name = data.draw(st.sampled_from(ZONES), label="zone")
    after, until, local_hours = data.draw(spans(zone_name), label="span")
    fields = [data.draw(s) for s in (MINUTES, hours_near(local_hours), DAYS, MONTHS, WEEKDAYS)]
    expression = " ".join(fields)
    after += timedelta(seconds=data.draw(st.integers(0, 59)))  # `after` need not be on a minute
    zone = ZoneInfo(zone_name)
    expected = reference_starts(Cron(expression, fields[2] != "*", fields[4] != "*"), zone, after, until)

    ws = WindowSchedule(expression, timedelta(minutes=1), zone)
    found = next_occurrences(ws, after, len(expected) + 1)
    assert [o.start for o in found if o.start <= until] == expected, expression

    latest = previous_occurrence(ws, until)
    if expected:
        assert latest is not None and latest.start == expected[-1]
    else:
        assert latest is None or latest.start <= after


@settings(max_examples=60, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    expression=st.sampled_from(["*/10 * * * *", "0,30 1-3 * * *", "0 14 * * 2", "15 2 * * *", "@hourly"]),
    after=st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)),
    exclusions=st.lists(st.tuples(st.integers(0, 5 * 24 * 60), st.integers(1, 2 * 24 * 60)), max_size=3),
)
def test_exclusions_remove_exactly_the_excluded_starts(
    zone_name: str, expression: str, after: datetime, exclusions: list[tuple[int, int]]
) -> None:
    """With exclusions, the occurrences are the unexcluded ones in order, with unchanged ends."""
    start = after.replace(tzinfo=UTC)
    blocked = tuple(
        Exclusion(start + timedelta(minutes=offset), start + timedelta(minutes=offset + length))
        for offset, length in exclusions
    )
    plain = WindowSchedule(expression, timedelta(minutes=5), ZoneInfo(zone_name))
    excluded = WindowSchedule(expression, timedelta(minutes=5), ZoneInfo(zone_name), blocked)
    everything = next_occurrences(plain, start, 400)
    horizon = everything[-1].start
    kept = [o for o in everything if not any(e.start <= o.start < e.end for e in blocked)]
    assert [o for o in next_occurrences(excluded, start, len(kept) + 1) if o.start <= horizon] == kept


@settings(max_examples=60, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    expression=st.sampled_from(["*/20 * * * *", "0 1,3 * * *", "30 2 * * 0", "45 1 * * *", "0 0 29 2 *"]),
    at=st.datetimes(datetime(2025, 1, 1), datetime(2030, 12, 31)),
)
def test_previous_and_next_are_adjacent(zone_name: str, expression: str, at: datetime) -> None:
    """previous_occurrence(t) is the start just before next_occurrences(t)[0], and never the same."""
    instant = at.replace(tzinfo=UTC)
    ws = WindowSchedule(expression, timedelta(minutes=10), ZoneInfo(zone_name))
    before = previous_occurrence(ws, instant)
    assert before is not None and before.start <= instant
    following = next_occurrences(ws, before.start, 2)
    assert following[0].start > instant >= before.start
    assert before.end == min(before.start + ws.duration, following[0].start)
    assert next_occurrences(ws, before.start - timedelta(microseconds=1), 1) == [before]
    assert following[0].end == min(following[0].start + ws.duration, following[1].start)
