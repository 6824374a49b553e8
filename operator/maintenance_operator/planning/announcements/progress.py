"""How far an announcement has got: each covered target's state, counted, and what is left by namespace.

Counted from the workloads themselves (their restarts and rollouts, as the cache holds them), never from what the
operator remembers doing, so a new leader reports the same progress.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from maintenance_operator.planning.announcements.matching import Announcement, for_announcement
from maintenance_operator.planning.targets.pending import done_by_window, is_done
from maintenance_operator.planning.targets.workloads import Rollout, Workload

# A status lists at most this many namespaces, and this many targets in each: the counts are always complete.
NAMESPACES_LISTED = 20
TARGETS_LISTED = 10


class State(StrEnum):
    DONE_BY_WINDOW = "done-by-window"
    DONE_BY_SELF_SERVICE = "done-by-self-service"
    FAILED = "failed"  # its rollout failed: still pending
    PENDING = "pending"


def state(w: Workload, a: Announcement) -> State:
    view = for_announcement(w, a)
    if is_done(view):
        return State.DONE_BY_WINDOW if done_by_window(view) else State.DONE_BY_SELF_SERVICE
    return State.FAILED if w.rollout is Rollout.FAILED else State.PENDING


@dataclass
class Left:
    """One namespace's targets still to do: all counted, the first TARGETS_LISTED named (`deployment/web`)."""

    namespace: str
    count: int = 0
    targets: list[str] = field(default_factory=list)


@dataclass
class Progress:
    total: int = 0
    done_by_window: int = 0
    done_by_self_service: int = 0
    pending: int = 0  # failed ones included
    failed: int = 0
    overdue: int = 0  # pending past the deadline
    left: list[Left] = field(default_factory=list)  # at most NAMESPACES_LISTED, by namespace
    left_namespaces: int = 0  # every namespace with something left

    @property
    def complete(self) -> bool:
        return self.pending == 0

    @property
    def past_deadline(self) -> bool:
        return self.overdue > 0


def progress(a: Announcement, covered: Iterable[Workload], now: datetime) -> Progress:
    """`covered` are the targets the announcement covers (`Targets.matches`); `now` decides what is overdue."""
    p = Progress()
    left: dict[str, Left] = {}
    overdue = a.deadline is not None and now >= a.deadline
    for w in sorted(covered, key=lambda t: (t.namespace, t.kind, t.name)):
        p.total += 1
        s = state(w, a)
        if s is State.DONE_BY_WINDOW:
            p.done_by_window += 1
            continue
        if s is State.DONE_BY_SELF_SERVICE:
            p.done_by_self_service += 1
            continue
        p.pending += 1
        p.failed += s is State.FAILED
        p.overdue += overdue
        entry = left.setdefault(w.namespace, Left(w.namespace))
        entry.count += 1
        if len(entry.targets) < TARGETS_LISTED:
            entry.targets.append(w.ref)
    p.left_namespaces = len(left)
    p.left = list(left.values())[:NAMESPACES_LISTED]
    return p
