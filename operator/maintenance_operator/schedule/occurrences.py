"""Occurrences of a window schedule: when windows start and end, in UTC.

Starts are produced by walking matching days (month by month, from the field sets) and, within a day, the
matching times in order, each resolved to UTC with the DST rules of ``zones``. Resolution is monotonic, so the
stream is ordered and a start that two wall times collapse onto (spring forward) is emitted once. Only the days
around the pivot need a search (by wall time, corrected near DST transitions), so the first few occurrences cost
a handful of resolutions even for ``*/10 * * * *`` or ``0 0 29 2 *``.

A window lasts ``duration`` (elapsed time) but is clipped at the next start, because a DST shift can bring two
starts closer than validation's wall-clock gap; windows therefore never overlap, and only the latest start can be
open. A start inside an exclusion is skipped (its window never opens); the iteration then resumes at the
exclusion's end instead of walking through it. Clipping uses the next start whether or not it is excluded, so an
occurrence's end never depends on exclusions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .cron import CronSpec, compile_cron
from .exclusions import covering
from .ids import occurrence_id
from .model import Occurrence, WindowSchedule
from .zones import resolve

# A wall time resolves to an instant on its own local date, or later when a gap moves it; searching two days
# either side of the pivot's local date is a safety margin (zones that skipped or repeated a whole day). Days
# further away lie entirely on one side of the pivot and need no search.
_SEARCH_DAYS = 2
# The longest run of months without a match in a satisfiable schedule: 29 February from 2096 to 2104.
_MAX_EMPTY_MONTHS = 120
_TICK = timedelta(microseconds=1)
_MINUTE = timedelta(minutes=1)


def next_occurrences(ws: WindowSchedule, after: datetime, count: int) -> list[Occurrence]:
    """The next ``count`` occurrences starting strictly after ``after``, skipping excluded starts."""
    after = as_utc(after, "after")
    spec = compile_cron(ws.schedule)
    found: list[Occurrence] = []
    starts = _starts(spec, ws.zone, after, forward=True)
    current = next(starts, None)
    while current is not None and len(found) < count:
        blocked = covering(ws.exclusions, current)
        if blocked is not None:
            starts = _starts(spec, ws.zone, blocked.end - _TICK, forward=True)
            current = next(starts, None)
            continue
        following = next(starts, None)
        found.append(_occurrence(ws, current, following))
        current = following
    return found


def previous_occurrence(ws: WindowSchedule, before: datetime) -> Occurrence | None:
    """The most recent non-excluded occurrence starting at or before ``before`` (for catch-up after downtime)."""
    pivot = as_utc(before, "before")
    spec = compile_cron(ws.schedule)
    while (start := next(_starts(spec, ws.zone, pivot, forward=False), None)) is not None:
        blocked = covering(ws.exclusions, start)
        if blocked is None:
            return _occurrence(ws, start, next_start(ws, start))
        pivot = blocked.start - _TICK
    return None


def open_occurrence(ws: WindowSchedule, now: datetime) -> Occurrence | None:
    """The occurrence with ``start <= now < end``; one whose start is excluded never opens."""
    now = as_utc(now, "now")
    window = latest_window(ws, now)
    if window is None or now >= window.end or covering(ws.exclusions, window.start) is not None:
        return None
    return window


def latest_window(ws: WindowSchedule, at: datetime) -> Occurrence | None:
    """The occurrence with the latest start ``<= at``, exclusions ignored (the only one that can be open)."""
    start = next(_starts(compile_cron(ws.schedule), ws.zone, at, forward=False), None)
    return None if start is None else _occurrence(ws, start, next_start(ws, start))


def next_start(ws: WindowSchedule, after: datetime) -> datetime | None:
    """The first start strictly after ``after``, exclusions ignored."""
    return next(_starts(compile_cron(ws.schedule), ws.zone, after, forward=True), None)


def as_utc(value: datetime, name: str) -> datetime:
    """Reject naive datetimes (their meaning depends on the host) and normalise to UTC."""
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


def _occurrence(ws: WindowSchedule, start: datetime, following: datetime | None) -> Occurrence:
    end = start + ws.duration
    if following is not None and following < end:
        end = following
    return Occurrence(start=start, end=end, id=occurrence_id(start))


def _starts(spec: CronSpec, zone: ZoneInfo, pivot: datetime, *, forward: bool) -> Iterator[datetime]:
    """Distinct starts strictly after ``pivot`` ascending (forward) or at/before it descending (backward)."""
    pivot_wall = pivot.astimezone(zone).replace(tzinfo=None)
    pivot_day = pivot_wall.date()
    direction = 1 if forward else -1
    origin = _shift(pivot_day, -direction * _SEARCH_DAYS)
    bound = pivot if forward else pivot + _TICK  # every start yielded is strictly beyond the previous bound
    empty_months = 0
    for year, month in _months(origin.year, origin.month, direction):
        days = spec.days_in(year, month)
        empty_months = 0 if days else empty_months + 1
        if empty_months > _MAX_EMPTY_MONTHS:
            return
        for day in days if forward else reversed(days):
            current = date(year, month, day)
            if (current - origin).days * direction < 0:
                continue
            midnight = datetime(year, month, day)
            times = spec.times
            if abs((current - pivot_day).days) <= _SEARCH_DAYS:
                split = _split(times, midnight, zone, pivot, pivot_wall)
                times = times[split:] if forward else times[:split]
            for minute in times if forward else reversed(times):
                start = resolve(midnight + timedelta(minutes=minute), zone)
                if (start > bound) if forward else (start < bound):
                    bound = start
                    yield start


def _split(times: tuple[int, ...], midnight: datetime, zone: ZoneInfo, pivot: datetime, pivot_wall: datetime) -> int:
    """How many of a day's times start at or before ``pivot``.

    The pivot's wall time gives the answer away from DST transitions; resolving the neighbours corrects the guess
    where a gap or fold shifts instants (resolution is monotonic), typically at the cost of two resolutions.
    """

    def at_or_before(index: int) -> bool:
        return resolve(midnight + timedelta(minutes=times[index]), zone) <= pivot

    split = bisect_right(times, (pivot_wall - midnight) // _MINUTE)
    while split > 0 and not at_or_before(split - 1):
        split -= 1
    while split < len(times) and at_or_before(split):
        split += 1
    return split


def _months(year: int, month: int, direction: int) -> Iterator[tuple[int, int]]:
    index = year * 12 + month - 1
    while 1 <= index // 12 <= 9999:
        yield index // 12, index % 12 + 1
        index += direction


def _shift(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return day
