"""What a MaintenanceWindow says about the occurrences that passed while the operator was down.

The same decision as a BackupWindow's (`catchup.catch_up`): the occurrence still open when the operator starts is
run then, late (the catch-up: the window task runs it like any open occurrence, and the occurrence stamps on the
targets make sure no target is restarted twice); every closed one is missed, reported once, and its pending targets
wait for the next occurrence. One difference: a maintenance occurrence is only missed when it would have had work.
The operator cannot know what was pending in the past, so it decides from the targets the window handles now: an
occurrence counts as missed when one of them is still due and was already due before the occurrence closed
(announced before its end; with `policy: Always` every target is due in every occurrence). An occurrence with
nothing to do, or whose targets the users maintained themselves during the downtime, left nothing undone and is not
reported.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from maintenance_operator.planning.catchup import catch_up
from maintenance_operator.planning.targets.pending import pending
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.windows.restarts import Policy
from maintenance_operator.schedule import Occurrence, WindowSchedule, id_start, previous_occurrence


@dataclass(frozen=True)
class Decision:
    """``catch_up``: the open occurrence started while the operator was down. ``missed``: closed occurrences with
    work left undone, oldest first, each reported once. ``handled_through``: the new `status.handledThrough`."""

    catch_up: Occurrence | None
    missed: tuple[Occurrence, ...]
    handled_through: datetime | None


def handled_since(handled_through: datetime | None, last_run: str | None, created: datetime | None) -> datetime | None:
    """Where the search for missed occurrences starts.

    A window written by an operator older than `handledThrough` has none: its `lastRun` (written in every
    occurrence that operator saw open) stands in, so an upgrade does not report every occurrence since the
    window's creation as missed.
    """
    if handled_through is not None:
        return handled_through
    known = [t for t in (id_start(last_run), created) if t is not None]
    return max(known, default=None)


def left_work(occurrence: Occurrence, targets: Iterable[Workload], policy: Policy) -> bool:
    """A target that is still due was due before the occurrence closed: the occurrence would have handled it."""
    for w in targets:
        if policy.always:
            return True
        p = pending(w)
        if p is not None and p.since < occurrence.end:
            return True
    return False


def decide(
    ws: WindowSchedule,
    since: datetime | None,
    targets: Collection[Workload],
    policy: Policy,
    taken: Collection[str],
    now: datetime,
    running_since: datetime,
) -> Decision:
    """``since``: `handled_since`; ``taken``: occurrence ids the window's targets carry (restarted in them);
    ``running_since``: when this process began handling the window (an occurrence open before that is caught up).

    An occurrence the operator saw open is handled (its own run reports it), so `handledThrough` moves to the
    latest start at or before ``now``, whether or not anything was missed.
    """
    latest = previous_occurrence(ws, now)
    if since is None:  # a window without a creation time: nothing to compare with
        return Decision(None, (), latest.start if latest else None)
    decided = catch_up(ws, since, taken, now)
    missed = tuple(o for o in decided.missed if left_work(o, targets, policy))
    late = decided.run if decided.run is not None and decided.run.start < running_since else None
    through = max(since, latest.start) if latest is not None else since
    return Decision(late, missed, through)
