"""The shortest time between two starts of a schedule, without enumerating its occurrences.

Validation needs it (a window must close before the next one opens), and dense schedules such as
``*/10 * * * *`` have hundreds of thousands of starts a decade, so the gap is derived from the field sets: the
shortest gap inside a day (consecutive matching times) and across days (the last time of one matching day to the
first of the next, over the closest pair of consecutive matching days).

Gaps are nominal wall-clock gaps. A DST shift can shorten an actual gap by the size of the shift; occurrences are
therefore clipped at the next start at runtime, so windows never overlap.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from itertools import pairwise

from .cron import CronSpec

# 28 years cover every combination of leap year and weekday of 1 January (1901-2099), so any calendar pattern a
# cron can match shows up here; later the 400-year cycle only drops some leap days, never adds closer pairs.
_HORIZON_YEARS = range(2001, 2029)
_DAY_MINUTES = 24 * 60


@lru_cache(maxsize=256)
def min_gap(spec: CronSpec) -> timedelta | None:
    """The shortest wall-clock gap between consecutive starts, or None when the schedule never matches."""
    day_step = _min_day_step(spec)
    if day_step is None:
        return None
    times = spec.times
    across_days = day_step * _DAY_MINUTES + times[0] - times[-1]
    within_day = min((b - a for a, b in pairwise(times)), default=across_days)
    return timedelta(minutes=min(within_day, across_days))


def _min_day_step(spec: CronSpec) -> int | None:
    """Fewest days between two consecutive matching days, or None if no day in the horizon matches.

    A schedule matching a single day in the horizon (impossible for 5-field cron, which repeats at least yearly)
    would also give None.
    """
    previous: date | None = None
    best: int | None = None
    for year in _HORIZON_YEARS:
        for month in range(1, 13):
            for day in spec.days_in(year, month):
                current = date(year, month, day)
                if previous is not None:
                    step = (current - previous).days
                    if best is None or step < best:
                        best = step
                        if best == 1:
                            return best
                previous = current
    return best
