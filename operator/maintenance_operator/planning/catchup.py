"""What a window does about occurrences that passed while the operator was down (BackupWindow here;
MaintenanceWindow adds its rule for what counts as missed in `planning.missed`).

Windows never overlap, so the most recent missed occurrence can only still be open if it is the current one:
catching up means running that one late, at most once, and only while new work may start in it. Every older one is
reported as missed rather than run, because a backup taken hours late at the wrong time (outside the agreed window)
is worse than an honest "missed". An occurrence that already has a snapshot was started before the downtime: it is
neither caught up (that would duplicate it) nor missed (the normal run reports its result).
"""

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from maintenance_operator.schedule import Occurrence, WindowSchedule, previous_occurrence, window_state
from maintenance_operator.schedule.occurrences import as_utc

DEFAULT_LIMIT = 100
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class CatchUp:
    """``run``: the occurrence to run now, late. ``missed``: the most recent missed occurrences, oldest first;
    ``more_missed`` says older ones were left out (a long downtime under a frequent schedule)."""

    run: Occurrence | None
    missed: tuple[Occurrence, ...]
    more_missed: bool = False


def catch_up(
    ws: WindowSchedule,
    since: datetime,
    taken: Collection[str],
    now: datetime,
    limit: int = DEFAULT_LIMIT,
) -> CatchUp:
    """Occurrences starting after ``since`` and at or before ``now``, decided.

    ``since``: the start of the last occurrence the operator handled (or the window's creation time): the caller
    advances it as occurrences pass, including while suspended. ``taken``: occurrence ids that have at least one
    snapshot made by this window. A suspended window catches up nothing and misses nothing: no work was expected.
    Excluded occurrences never opened, so they are not missed either.
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    since, now = as_utc(since, "since"), as_utc(now, "now")
    if ws.suspend:
        return CatchUp(None, ())
    run: Occurrence | None = None
    missed: deque[Occurrence] = deque()
    more = False
    pivot = now
    while (occurrence := previous_occurrence(ws, pivot)) is not None and occurrence.start > since:
        pivot = occurrence.start - _TICK
        if occurrence.id in taken:
            continue
        if now < occurrence.end:  # still open: only the latest start can be
            state = window_state(ws, now)
            if state.can_start_work and state.open == occurrence:
                run = occurrence
            continue  # open but blocked (exclusion): not missed yet, it may still start before it closes
        if len(missed) == limit:
            more = True
            break
        missed.appendleft(occurrence)
    return CatchUp(run, tuple(missed), more)
