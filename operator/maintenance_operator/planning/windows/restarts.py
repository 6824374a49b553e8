"""Which targets a window restarts now, which are in flight, and why the others wait.

`plan` is pure and called once per pass: the state it works from (which occurrence restarted a target, when, how
its rollout stands) lives in the workloads themselves, so a restarted operator carries on exactly where the
previous one stopped, never restarting a target twice for one occurrence. `started` is the plan once its restarts
were sent, so the pass's status counts them without planning again.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from maintenance_operator import schedule as sched
from maintenance_operator.planning.targets.pending import pending
from maintenance_operator.planning.targets.workloads import Rollout, Workload


class Wait(StrEnum):
    """Why a pending target waits in an occurrence that lets work start; the schedule's own reasons (closed,
    excluded, suspended) are `schedule.WindowReason`. Both are shown in status and `kubectl maintenance apps`."""

    CONCURRENCY = "waiting-for-concurrency"
    STOPPED_AFTER_FAILURE = "stopped-after-failure"
    PAUSED = "paused"
    BLOCKED = "blocked"


Reason = sched.WindowReason | Wait


@dataclass(frozen=True)
class Policy:
    always: bool = False
    concurrency: int = 1
    stop_on_failure: bool = True
    rollout_timeout: timedelta = timedelta(minutes=10)


@dataclass
class Step:
    start: list[Workload] = field(default_factory=list)
    in_flight: list[Workload] = field(default_factory=list)
    succeeded: list[Workload] = field(default_factory=list)
    failed: list[Workload] = field(default_factory=list)
    waiting: list[Workload] = field(default_factory=list)  # due but not started now, in plan order
    wait_reasons: dict[tuple[str, str, str], Reason] = field(default_factory=dict)  # why each of `waiting` waits
    next_deadline: datetime | None = None

    @property
    def settled(self) -> bool:
        """Nothing running and nothing more this occurrence will start."""
        return not self.start and not self.in_flight and all(w in _FINAL for w in self.wait_reasons.values())


_FINAL: set[Reason] = {
    Wait.STOPPED_AFTER_FAILURE,
    Wait.PAUSED,
    sched.WindowReason.OUTSIDE_WINDOW,
    sched.WindowReason.EXCLUDED,
    sched.WindowReason.SUSPENDED,
}


def is_due(w: Workload, policy: Policy) -> bool:
    return policy.always or pending(w) is not None


def timed_out(w: Workload, policy: Policy, now: datetime) -> bool:
    return w.restarted_at is not None and now - w.restarted_at > policy.rollout_timeout


def plan(
    targets: Iterable[Workload],
    occurrence_id: str | None,
    can_start: sched.WindowReason | None,
    policy: Policy,
    now: datetime,
    blocked: frozenset[tuple[str, str, str]] = frozenset(),
    finishing: str | None = None,
    window: str | None = None,
) -> Step:
    """Classify every target for the occurrence; `can_start` is None when new work may start, else why not.

    `finishing` is the occurrence that closed with rollouts still in flight: while none is open, its restarts are
    still followed to success, failure or timeout, so a rollout that completes after the window closed is reported
    once and stops being pending. `window` is the planning window as its restarts name it (`MaintenanceWindow/x`):
    a restart another window stamped with the same occurrence id is not this one's. Targets are taken in a stable
    order (namespace, kind, name) so restarts are predictable.
    """
    step = Step()
    candidates: list[Workload] = []
    followed = occurrence_id if occurrence_id is not None else finishing
    for w in _ordered(targets):
        if followed is not None and w.restarted_in(window, followed):
            if w.rollout is Rollout.COMPLETE:
                step.succeeded.append(w)
            elif w.rollout is Rollout.FAILED or timed_out(w, policy, now):
                step.failed.append(w)
            else:
                step.in_flight.append(w)
                if w.restarted_at is not None:
                    deadline = w.restarted_at + policy.rollout_timeout
                    step.next_deadline = min(step.next_deadline or deadline, deadline)
        elif is_due(w, policy):
            candidates.append(w)
    _classify(step, candidates, occurrence_id, can_start, policy, blocked)
    return step


def _classify(
    step: Step,
    candidates: Iterable[Workload],
    occurrence_id: str | None,
    can_start: sched.WindowReason | None,
    policy: Policy,
    blocked: frozenset[tuple[str, str, str]],
) -> None:
    """Start the due `candidates` the slots left by `step`'s in-flight ones allow; the others wait, each with why."""
    slots = policy.concurrency - len(step.in_flight)
    stopped = policy.stop_on_failure and bool(step.failed)
    for w in candidates:
        why: Reason | None
        if w.paused:
            why = Wait.PAUSED
        elif can_start is not None or occurrence_id is None:
            why = can_start or sched.WindowReason.OUTSIDE_WINDOW
        elif stopped:
            why = Wait.STOPPED_AFTER_FAILURE
        elif w.key in blocked:
            why = Wait.BLOCKED
        elif slots > 0:
            why = None
            slots -= 1
        else:
            why = Wait.CONCURRENCY
        if why is None:
            step.start.append(w)
        else:
            step.wait_reasons[w.key] = why
            step.waiting.append(w)


@dataclass(frozen=True)
class Sent:
    """What sending `Step.start` did: each target as it stands after its restart PATCH (stamped with the occurrence
    and rolling out), and the ones whose PATCH failed (their rollout counts as failed in this occurrence)."""

    restarted: tuple[Workload, ...] = ()
    failed: tuple[Workload, ...] = ()


def _ordered(targets: Iterable[Workload]) -> list[Workload]:
    return sorted(targets, key=lambda t: (t.namespace, t.kind, t.name))


def started(
    step: Step,
    sent: Sent,
    occurrence_id: str,
    policy: Policy,
    blocked: frozenset[tuple[str, str, str]] = frozenset(),
) -> Step:
    """`step` once its `start` targets were sent: the restarted ones in flight, the failed PATCHes failed, and the
    targets that waited classified again against that (a failure stops the rest; slots may be left over).

    The same step `plan` makes from the targets as they stand after the PATCHes, without planning them again.
    """
    after = Step(
        in_flight=_ordered([*step.in_flight, *sent.restarted]),
        succeeded=list(step.succeeded),
        failed=_ordered([*step.failed, *sent.failed]),
        next_deadline=step.next_deadline,
    )
    for w in sent.restarted:
        if w.restarted_at is not None:
            deadline = w.restarted_at + policy.rollout_timeout
            after.next_deadline = min(after.next_deadline or deadline, deadline)
    _classify(after, step.waiting, occurrence_id, None, policy, blocked)
    return after
