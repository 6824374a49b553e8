"""One MaintenanceWindow pass, decided: what to restart, announce and report, the status, and when to wake next.

Pure, so every pass's outcome is table-tested. The runner gathers `Inputs` (the parsed spec, the open occurrence,
the workloads its selector matches, the namespace's ranking, what it remembers of the restarts it sent), sends the
`Decision`'s restarts, and takes `Decision.after(sent)`: the same decision with those restarts started, which is
what it reports, evicts pods for, writes in the status and exports, without planning the targets again.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api.windows import MaintenanceWindowSpec, RunSummary
from maintenance_operator.planning.targets import selectors
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.times import parse_time
from maintenance_operator.planning.windows import assignment, missed, restarts, run_summary
from maintenance_operator.planning.windows import status as window_status
from maintenance_operator.planning.windows.occurrence import OpenOccurrence, blocked_by

Key = tuple[str, str, str]
STATUS_MIN_INTERVAL = timedelta(seconds=1)  # between status writes while an occurrence is busy


def policy_of(spec: MaintenanceWindowSpec) -> restarts.Policy:
    return restarts.Policy(
        always=spec.policy == "Always",
        concurrency=spec.concurrency,
        stop_on_failure=spec.on_failure == "Stop",
        rollout_timeout=sched.parse_duration(spec.rollout_timeout),
    )


@dataclass(frozen=True)
class Inputs:
    """What one pass decides from. `previous` is the status as last written (its conditions, `lastRun` and
    `handledThrough` carry on); `started` and `patch_failed` are the restarts sent in the open occurrence that the
    workload index may not show yet, as sent; `running_since` is this task's first pass (what opened before it is
    caught up). `ranked`: each target's namespace's windows ranked (one namespace for a MaintenanceWindow, every
    covered one for a cluster window, which is `cluster`)."""

    window: str  # the window's name, as the ranking names it
    stamp: str  # how its restarts name it: `MaintenanceWindow/<name>`
    spec: MaintenanceWindowSpec
    schedule: sched.WindowSchedule
    current: OpenOccurrence | None
    previous: Mapping[str, Any]
    generation: int | None
    created: datetime | None
    running_since: datetime
    selected: Sequence[Workload]
    ranked: Mapping[str, assignment.Ranked]  # by namespace
    blocked: frozenset[Key] = frozenset()  # databases with a backup snapshot running
    started: Mapping[Key, Workload] | None = None
    patch_failed: Mapping[Key, Workload] | None = None
    cluster: bool = False


@dataclass(frozen=True)
class Handled:
    """The selected workloads this window handles (restarts sent but not yet in the index as sent), the due ones
    another window handles (with that window: listed, never touched), and the sent restarts the index now shows."""

    targets: tuple[Workload, ...]
    elsewhere: tuple[tuple[Workload, str], ...]
    seen: frozenset[Key]


def handled(inputs: Inputs, policy: restarts.Policy) -> Handled:
    occurrence_id = inputs.current.id if inputs.current is not None else None
    started, failed = inputs.started or {}, inputs.patch_failed or {}
    targets: list[Workload] = []
    elsewhere: list[tuple[Workload, str]] = []
    seen: set[Key] = set()
    for w in inputs.selected:
        ranking = inputs.ranked.get(w.namespace)
        handler = assignment.choose(ranking, w.labels).window if ranking is not None else inputs.window
        if handler is not None and handler != inputs.window:
            if restarts.is_due(w, policy):
                elsewhere.append((w, handler))
        elif w.key in failed:
            targets.append(failed[w.key])
        elif w.key in started and (occurrence_id is None or not w.restarted_in(inputs.stamp, occurrence_id)):
            targets.append(started[w.key])
        else:
            if w.key in started:
                seen.add(w.key)
            targets.append(w)
    return Handled(tuple(targets), tuple(elsewhere), frozenset(seen))


def selected(workloads: Sequence[Workload], selector: Mapping[str, Any]) -> list[Workload]:
    return [w for w in workloads if selectors.matches(selector, w.labels)]


@dataclass(frozen=True)
class Decision:
    """`restart`: the targets to PATCH now; `step`: every target classified; `missed`: what passed while the
    operator was down (`since`: where that search started); `finishing`: the closed occurrence still followed."""

    inputs: Inputs
    now: datetime
    policy: restarts.Policy
    state: sched.WindowState
    handled: Handled
    finishing: str | None
    step: restarts.Step
    restart: tuple[Workload, ...]

    # What only the report needs is computed when first read, after the restarts went out: at a boundary where 50
    # windows open at once, the schedule arithmetic of each pass must not delay the others' PATCHes.
    @cached_property
    def upcoming(self) -> tuple[sched.Occurrence, ...]:
        return tuple(sched.next_occurrences(self.inputs.schedule, self.now, window_status.NEXT_SHOWN))

    @cached_property
    def since(self) -> datetime | None:
        """Where the search for occurrences missed while the operator was down starts."""
        return since_handled(self.inputs)

    @cached_property
    def missed(self) -> missed.Decision:
        return while_down(self.inputs, self.handled.targets, self.policy, self.now)

    @property
    def occurrence_id(self) -> str | None:
        return self.inputs.current.id if self.inputs.current is not None else None

    @property
    def followed(self) -> str | None:
        """The occurrence whose restarts are reported and whose OnDelete pods are replaced."""
        return self.occurrence_id or self.finishing

    @property
    def announce(self) -> sched.Occurrence | None:
        """The occurrence notices announce: none while one is open (its targets are being handled, and a run-now
        occurrence would only add two Events and a PATCH per target); after it closes, the next one. None while the
        window is suspended (nothing would happen then): unsuspending it wakes a pass that sends what is due."""
        if self.inputs.current is None and self.upcoming and not self.inputs.schedule.suspend:
            return self.upcoming[0]
        return None

    def after(self, sent: restarts.Sent) -> "Decision":
        """This decision once `restart` was sent: those targets count as started (or failed), nothing is left to
        send."""
        if self.occurrence_id is None or not self.restart:
            return self
        step = restarts.started(self.step, sent, self.occurrence_id, self.policy, self.inputs.blocked)
        return replace(self, step=step, restart=())

    @property
    def last_run(self) -> RunSummary | None:
        previous_run = self.inputs.previous.get("lastRun") or {}
        return run_summary.last_run(self.inputs.current, self.finishing, self.missed, self.step, previous_run)

    def status(self, *, notice_problem: str | None = None, forbidden: str | None = None) -> dict[str, Any]:
        """The status to write; `notice_problem` and `forbidden` are what the apply step learned (a webhook that
        may not or cannot be called, a restart or eviction refused with 403)."""
        return window_status.maintenance_status(
            previous=self.inputs.previous,
            generation=self.inputs.generation,
            upcoming=self.upcoming,
            current=self.inputs.current,
            step=self.step,
            problem=None,
            now=self.now,
            last_run=self.last_run,
            notice_problem=notice_problem,
            elsewhere=self.handled.elsewhere,
            forbidden=forbidden,
            handled_through=self.missed.handled_through,
            missed=[o.id for o in self.missed.missed],
            with_namespace=self.inputs.cluster,
        )

    @property
    def busy(self) -> bool:
        return bool(self.step.in_flight or self.step.start)

    def throttled(self, status: Mapping[str, Any]) -> bool:
        """Whether the status write may wait for STATUS_MIN_INTERVAL: only progress of a busy occurrence. What was
        decided about missed occurrences is written at once, so it is never decided (counted) twice."""
        unchanged = status.get("handledThrough") == self.inputs.previous.get("handledThrough")
        return self.busy and not self.missed.missed and unchanged

    def pending_by_reason(self) -> dict[str, int]:
        """Targets not done, by why (a bounded set, not the users' free-text reason): the pending metric."""
        step = self.step
        by_reason: dict[str, int] = {"in-progress": len(step.in_flight) + len(step.start), "failed": len(step.failed)}
        for wait in step.wait_reasons.values():
            by_reason[wait.value] = by_reason.get(wait.value, 0) + 1
        return {k: v for k, v in by_reason.items() if v}

    def next_pass(self, notice_at: datetime | None = None) -> datetime | None:
        """When the next pass is due at the latest (None: only on a change); `notice_at`: the next notice."""
        current = self.inputs.current
        # ranked.changes_at: another window opening or closing may move targets to or from this one.
        changes = (r.changes_at for r in self.inputs.ranked.values())
        candidates = [self.state.next_change, self.step.next_deadline, notice_at, *changes]
        if current is not None:
            candidates.append(current.end)
        if self.busy:
            # A pending status write, or a restart whose watch event we have not seen yet.
            candidates.append(self.now + STATUS_MIN_INTERVAL)
        return min((c for c in candidates if c is not None and c > self.now), default=None)


def while_down(inputs: Inputs, targets: Sequence[Workload], policy: restarts.Policy, now: datetime) -> missed.Decision:
    """Occurrences that passed while the operator was down (missed) and the open one if it started then."""
    since = since_handled(inputs)
    taken = {w.occurrence for w in targets if w.occurrence and w.restarted_in(inputs.stamp, w.occurrence)}
    return missed.decide(inputs.schedule, since, targets, policy, taken, now, inputs.running_since)


def since_handled(inputs: Inputs) -> datetime | None:
    previous = inputs.previous
    last_run = (previous.get("lastRun") or {}).get("occurrence")
    return missed.handled_since(parse_time(previous.get("handledThrough")), last_run, inputs.created)


def decide(inputs: Inputs, now: datetime) -> Decision:
    """The pass at `now`: targets classified once (`restarts.plan`), notices, misses, and the status they make."""
    policy = policy_of(inputs.spec)
    ws, current = inputs.schedule, inputs.current
    state = sched.window_state(ws, now)
    mine = handled(inputs, policy)
    finishing = run_summary.finishing(current, inputs.previous.get("lastRun") or {})
    occurrence_id = current.id if current is not None else None
    can_start = blocked_by(ws, state, current, now)
    step = restarts.plan(mine.targets, occurrence_id, can_start, policy, now, inputs.blocked, finishing, inputs.stamp)
    return Decision(
        inputs=inputs,
        now=now,
        policy=policy,
        state=state,
        handled=mine,
        finishing=finishing,
        step=step,
        restart=tuple(step.start) if occurrence_id is not None else (),
    )
