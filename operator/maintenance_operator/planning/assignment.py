"""Which MaintenanceWindow will handle a target: the selecting window whose next (or open) occurrence comes first.

Pure: the caller passes the windows of the target's namespace, already parsed, and `now`. Used by
`kubectl maintenance apps` and by status that says "in which window" a target's maintenance will happen.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.planning.selectors import matches, selector_problem


@dataclass(frozen=True)
class Candidate:
    """A MaintenanceWindow as assignment sees it; `schedule` is the parsed schedule or why it is invalid."""

    name: str
    selector: Mapping[str, Any]
    schedule: sched.WindowSchedule | str
    suspend: bool = False


@dataclass(frozen=True)
class Ignored:
    """A window that might select the target but cannot handle it, and why."""

    name: str
    problem: str


@dataclass(frozen=True)
class Assignment:
    """The chosen window and occurrence (None when no usable window selects the target).

    `open_now` says the occurrence is open and may start work at `now`. `suspended` names selecting windows
    left out because they are suspended; `ignored` those left out because their schedule or selector is invalid,
    or because they never open again.
    """

    window: str | None
    occurrence: sched.Occurrence | None
    open_now: bool = False
    suspended: tuple[str, ...] = ()
    ignored: tuple[Ignored, ...] = ()


def handling_occurrence(ws: sched.WindowSchedule, now: datetime) -> tuple[sched.Occurrence, bool] | None:
    """The occurrence in which work on a target can happen: the open one if work may start now, else the next."""
    state = sched.window_state(ws, now)
    if state.can_start_work and state.open is not None:
        return state.open, True
    upcoming = sched.next_occurrences(ws, now, 1)
    return (upcoming[0], False) if upcoming else None


def assign(windows: Iterable[Candidate], labels: Mapping[str, str], now: datetime) -> Assignment:
    """The selecting, usable window whose handling occurrence starts first; ties go to the first name."""
    best: tuple[datetime, str, sched.Occurrence, bool] | None = None
    suspended: list[str] = []
    ignored: list[Ignored] = []
    for window in sorted(windows, key=lambda w: w.name):
        problem = selector_problem(window.selector)
        if problem is not None:
            ignored.append(Ignored(window.name, problem))
            continue
        if not matches(window.selector, labels):
            continue
        if isinstance(window.schedule, str):
            ignored.append(Ignored(window.name, window.schedule))
            continue
        if window.suspend or window.schedule.suspend:
            suspended.append(window.name)
            continue
        found = handling_occurrence(window.schedule, now)
        if found is None:
            ignored.append(Ignored(window.name, "the schedule has no upcoming occurrence"))
            continue
        occurrence, open_now = found
        if best is None or occurrence.start < best[0]:
            best = (occurrence.start, window.name, occurrence, open_now)
    if best is None:
        return Assignment(None, None, False, tuple(suspended), tuple(ignored))
    _, name, occurrence, open_now = best
    return Assignment(name, occurrence, open_now, tuple(suspended), tuple(ignored))
