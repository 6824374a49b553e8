"""Time zones and the resolution of local wall-clock times to UTC instants, DST included.

The rules (the same as the design's "Shared window model"):

- A wall time that exists once maps to its only instant.
- A wall time that does not exist (spring forward) moves to the first valid instant after the gap, which is the
  transition itself: in Europe/Berlin on 2026-03-29, ``30 2 * * *`` starts at 03:00 CEST (01:00 UTC); on
  Australia/Lord_Howe (30-minute shift) 02:10 starts at 02:30.
- A wall time that exists twice (fall back) uses the first instant: in Europe/Berlin on 2026-10-25, ``30 2 * * *``
  starts at 02:30 CEST (00:30 UTC) only, never again at 02:30 CET.

Resolution is monotonic (a later wall time never maps to an earlier instant), which occurrence iteration relies on;
different wall times that collapse onto the same instant (``0,30 2 * * *`` and ``0 3 * * *`` on spring forward)
are deduplicated by the caller into a single occurrence.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .errors import ScheduleError

FIELD = "timeZone"
_LOCAL_NAMES = frozenset({"local", "localtime"})
_SECOND = timedelta(seconds=1)


def load_zone(name: str) -> ZoneInfo:
    """Load an IANA zone, refusing the host's local zone (it would differ between the operator and the CLI)."""
    if name.lower() in _LOCAL_NAMES:
        raise ScheduleError.single(FIELD, f"{name!r} is the host's local zone; name an IANA zone, e.g. 'Europe/Berlin'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    suggestion = _closest_zone(name)
    hint = f"did you mean {suggestion!r}? " if suggestion else ""
    raise ScheduleError.single(
        FIELD, f"unknown time zone {name!r}; {hint}use an IANA name, e.g. 'Europe/Berlin' or 'UTC'"
    )


def resolve(wall: datetime, zone: ZoneInfo) -> datetime:
    """Map a naive local wall time to its UTC instant under the DST rules above."""
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert first is not None and second is not None  # ZoneInfo always knows its offset
    if first >= second:  # unique (equal), or ambiguous: fold=0 is the first instant
        return (wall - first).replace(tzinfo=UTC)
    # In a gap zoneinfo's fold=0 uses the offset before the transition and fold=1 the one after, so the
    # transition lies in (wall - second, wall - first].
    return _transition_between((wall - second).replace(tzinfo=UTC), (wall - first).replace(tzinfo=UTC), zone)


def _transition_between(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (before, after] whose offset differs from the one at ``before`` (to the second)."""
    offset_before = before.astimezone(zone).utcoffset()
    low, high = before, after  # invariant: offset(low) == offset_before != offset(high)
    while high - low > _SECOND:
        middle = low + (high - low) // 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            middle = low + _SECOND
        if middle.astimezone(zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return high


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _closest_zone(name: str) -> str | None:
    names = _zone_names()
    by_lower = {n.lower(): n for n in names}
    if name.strip().lower() in by_lower:
        return by_lower[name.strip().lower()]
    matches = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return matches[0] if matches else None
