"""Whether work may start now, and the next instant that answer can change (so the operator sleeps, not polls)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .exclusions import covering
from .model import Occurrence, WindowSchedule
from .occurrences import as_utc, latest_window, next_start


class WindowReason(StrEnum):
    """Why the schedule lets work start now or not; the one vocabulary for it (status, CLI, restart plans)."""

    OPEN = "open"
    OUTSIDE_WINDOW = "outside-window"
    EXCLUDED = "excluded"
    SUSPENDED = "suspended"


# Only reached for schedules with no future start (year 9999); re-checking daily is harmless.
_IDLE_RECHECK = timedelta(days=1)


@dataclass(frozen=True)
class WindowState:
    """``open`` is the open occurrence (even when suspended); ``reason`` says why work may or may not start."""

    open: Occurrence | None
    can_start_work: bool
    reason: WindowReason
    next_change: datetime


def window_state(ws: WindowSchedule, now: datetime) -> WindowState:
    """The state at ``now``. Reasons, first match wins: suspended, outside-window, excluded, open.

    "excluded" covers both an open window inside an exclusion and a window that would be open now but whose start
    was excluded (``open`` is None then), so users see why nothing happens in their usual slot.
    """
    now = as_utc(now, "now")
    window = latest_window(ws, now)
    current = window if window is not None and now < window.end else None
    start_excluded = current is not None and covering(ws.exclusions, current.start) is not None
    opened = None if start_excluded else current
    if ws.suspend:
        reason = WindowReason.SUSPENDED
    elif current is None:
        reason = WindowReason.OUTSIDE_WINDOW
    elif start_excluded or covering(ws.exclusions, now) is not None:
        reason = WindowReason.EXCLUDED
    else:
        reason = WindowReason.OPEN
    return WindowState(opened, reason is WindowReason.OPEN, reason, _next_change(ws, now, current))


def _next_change(ws: WindowSchedule, now: datetime, current: Occurrence | None) -> datetime:
    candidates = [e.start for e in ws.exclusions] + [e.end for e in ws.exclusions]
    upcoming = next_start(ws, now)
    candidates += [c for c in (upcoming, current.end if current else None) if c is not None]
    return min((c for c in candidates if c > now), default=now + _IDLE_RECHECK)
