"""Which MaintenanceWindow handles a target: exactly one, decided here for the operator, its statuses, notices,
restarts and the CLI alike (design.md, "Defaults for the whole cluster").

Among the usable windows that select the target: a namespaced window before any cluster-scoped one, then the one
whose handling occurrence (the open one, else the next) starts first, then the name. The others list the target
as handled by that window and never touch it.

A suspended window keeps its targets: it is ranked by its schedule as if it were not suspended, and the target
waits (`suspended`) instead of moving to another window. Suspending is how a team freezes its workloads; were the
targets to move, a freeze would silently hand them to the next window, which restarts them. A window whose spec
is invalid, or that never opens again, cannot handle anything and is left out (the callers say so).

Pure: the caller passes the candidate windows of the target's namespace, already parsed, and `now`.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.base import describe_errors
from maintenance_operator.api.windows import MaintenanceWindowSpec
from maintenance_operator.planning.targets.selectors import matches, selector_problem
from maintenance_operator.planning.windows.occurrence import recorded


@dataclass(frozen=True)
class Candidate:
    """A MaintenanceWindow as assignment sees it; `schedule` is the parsed schedule or why the spec is invalid.

    `ad_hoc` is its run-now occurrence, if one was opened (it handles from its start until its end).
    """

    name: str
    selector: Mapping[str, Any]
    schedule: sched.WindowSchedule | str
    suspend: bool = False
    cluster: bool = False
    ad_hoc: sched.Occurrence | None = None


@dataclass(frozen=True)
class Ignored:
    """A window that might select the target but cannot handle it, and why."""

    name: str
    problem: str


@dataclass(frozen=True)
class Assignment:
    """The handling window and its occurrence (None when no usable window selects the target).

    `open_now` says the occurrence is open and work may start at `now`; `suspended` that the handling window is
    suspended, so nothing starts until it is resumed. `others` are the other usable windows that select the
    target (they list it as handled by `window`); `ignored` those left out because their spec is invalid or they
    never open again.
    """

    window: str | None
    occurrence: sched.Occurrence | None
    open_now: bool = False
    suspended: bool = False
    others: tuple[str, ...] = ()
    ignored: tuple[Ignored, ...] = ()


@dataclass(frozen=True)
class Slot:
    """A usable window with the occurrence in which it would handle a target."""

    candidate: Candidate
    occurrence: sched.Occurrence
    open_now: bool

    @property
    def rank(self) -> tuple[bool, datetime, str]:
        return (self.candidate.cluster, self.occurrence.start, self.candidate.name)


@dataclass(frozen=True)
class Ranked:
    """The windows of one namespace ranked once at `now`, so each target costs only its selector matches.

    `changes_at` is the next instant at which a ranking can change (an occurrence opens or closes, an exclusion
    starts or ends, a run-now occurrence ends): callers that show assignments wake then.
    """

    slots: tuple[Slot, ...]
    unusable: tuple[tuple[Candidate, str], ...]
    changes_at: datetime | None


def handling_occurrence(ws: sched.WindowSchedule, now: datetime) -> tuple[sched.Occurrence, bool] | None:
    """The occurrence in which work on a target can happen: the open one if work may start now, else the next."""
    state = sched.window_state(ws, now)
    if state.can_start_work and state.open is not None:
        return state.open, True
    upcoming = sched.next_occurrences(ws, now, 1)
    return (upcoming[0], False) if upcoming else None


def rank(windows: Iterable[Candidate], now: datetime) -> Ranked:
    """Each window's handling occurrence at `now`, best first; the order of `windows` does not matter."""
    slots: list[Slot] = []
    unusable: list[tuple[Candidate, str]] = []
    changes: list[datetime] = []
    for window in windows:
        problem = selector_problem(window.selector)
        if problem is not None or isinstance(window.schedule, str):
            unusable.append((window, problem or str(window.schedule)))
            continue
        suspended = window.suspend or window.schedule.suspend
        ws = replace(window.schedule, suspend=False)  # ranked by its schedule: suspending never moves a target
        ad_hoc = window.ad_hoc
        if ad_hoc is not None and ad_hoc.start <= now < ad_hoc.end:
            found: tuple[sched.Occurrence, bool] | None = ad_hoc, True
            changes.append(ad_hoc.end)
        else:
            found = handling_occurrence(ws, now)
            changes.append(sched.window_state(ws, now).next_change)
        if found is None:
            unusable.append((window, "the schedule has no upcoming occurrence"))
            continue
        occurrence, open_now = found
        slots.append(Slot(window, occurrence, open_now and not suspended))
    slots.sort(key=lambda s: s.rank)
    unusable.sort(key=lambda u: u[0].name)
    return Ranked(tuple(slots), tuple(unusable), min((c for c in changes if c > now), default=None))


def choose(ranked: Ranked, labels: Mapping[str, str]) -> Assignment:
    """The first ranked window that selects `labels`; the other selecting ones and the unusable ones with it."""
    selecting = [s for s in ranked.slots if matches(s.candidate.selector, labels)]
    ignored = tuple(
        Ignored(c.name, problem)
        for c, problem in ranked.unusable
        if selector_problem(c.selector) is not None or matches(c.selector, labels)
    )
    if not selecting:
        return Assignment(None, None, ignored=ignored)
    best, *rest = selecting
    suspended = best.candidate.suspend or (
        isinstance(best.candidate.schedule, sched.WindowSchedule) and best.candidate.schedule.suspend
    )
    return Assignment(
        best.candidate.name,
        best.occurrence,
        best.open_now,
        suspended,
        tuple(s.candidate.name for s in rest),
        ignored,
    )


def assign(windows: Iterable[Candidate], labels: Mapping[str, str], now: datetime) -> Assignment:
    """The window that handles a target with these labels at `now` (see the module docstring for the rule)."""
    return choose(rank(windows, now), labels)


def parse_schedule(spec: Mapping[str, Any]) -> sched.WindowSchedule | str:
    """A MaintenanceWindow spec's schedule (or a ClusterMaintenanceWindow's: its namespaceSelector is the
    caller's), or why the spec is invalid."""
    try:
        schedule_spec = {k: v for k, v in spec.items() if k != "namespaceSelector"}
        return MaintenanceWindowSpec.model_validate(schedule_spec).window_schedule()
    except ValidationError as err:
        return describe_errors(err)
    except sched.ScheduleError as err:
        return str(err)


def ad_hoc_occurrence(status: Mapping[str, Any]) -> sched.Occurrence | None:
    """The run-now occurrence a window's status records (open or not), or None."""
    ad_hoc = recorded(status)
    return ad_hoc.occurrence if ad_hoc is not None else None


def candidate(
    name: str, spec: Mapping[str, Any], status: Mapping[str, Any], schedule: sched.WindowSchedule | str | None = None
) -> Candidate:
    """A MaintenanceWindow object as assignment sees it (`schedule`: already parsed by the caller, else parsed),
    with the run-now occurrence its status records.

    One conversion for the operator and the CLI, so both rank exactly the same windows.
    """
    return window_candidate(name, spec, ad_hoc_occurrence(status), schedule)


def window_candidate(
    name: str,
    spec: Mapping[str, Any],
    ad_hoc: sched.Occurrence | None,
    schedule: sched.WindowSchedule | str | None = None,
    *,
    cluster: bool = False,
) -> Candidate:
    """A window as assignment sees it from its spec and its run-now occurrence (the window's own task has that
    typed; `candidate` reads another window's from its status).

    A cluster window's `name` is qualified (`ClusterMaintenanceWindow/<name>`), so it never equals a namespaced
    window's, and its selector leaves out the targets labelled `maintenance.ops.dev/window: none`.
    """
    selector = spec.get("selector") or {}
    return Candidate(
        name,
        cluster_selector(selector) if cluster else selector,
        parse_schedule(spec) if schedule is None else schedule,
        bool(spec.get("suspend")),
        cluster=cluster,
        ad_hoc=ad_hoc,
    )


def cluster_selector(selector: Mapping[str, Any]) -> dict[str, Any]:
    """A cluster window's selector: the spec's, and not labelled `maintenance.ops.dev/window: none`."""
    opt_out = {"key": names.LABEL_WINDOW, "operator": "NotIn", "values": [names.WINDOW_NONE]}
    return {**selector, "matchExpressions": [*(selector.get("matchExpressions") or []), opt_out]}
