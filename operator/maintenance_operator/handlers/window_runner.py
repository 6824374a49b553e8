"""One task per MaintenanceWindow: sleep until the next boundary, then decide -> restart -> notify -> status.

The task wakes at exact wall-clock instants computed by `schedule` (occurrence start and end, exclusion edges,
notice time, rollout deadlines) and whenever a selected workload or the window itself changes; it never polls.
Each pass re-derives everything from the window and the workload index (`planning.windows.decide`), so a crash
loses nothing; this module gathers the pass's inputs and carries out its decision.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.windows import MaintenanceWindowSpec
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.notifier import Notifier
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.scheduled import ScheduledWindow
from maintenance_operator.handlers.window_restarts import WindowRestarts
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.times import format_time, parse_time
from maintenance_operator.planning.windows import assignment, decide
from maintenance_operator.planning.windows import status as window_status
from maintenance_operator.planning.windows.occurrence import OpenOccurrence

STATUS_MIN_INTERVAL = decide.STATUS_MIN_INTERVAL.total_seconds()


class Scope(TypedDict):
    """What a window's pass covers (`decide.Inputs` fields): one namespace, or every one a cluster window covers."""

    selected: list[Workload]
    ranked: dict[str, assignment.Ranked]
    blocked: frozenset[tuple[str, str, str]]


class WindowRunner(ScheduledWindow):
    kind = names.MAINTENANCE_WINDOW
    spec_model: type[MaintenanceWindowSpec] = MaintenanceWindowSpec

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        super().__init__(runtime, body)
        # The run-now occurrence as last recorded: from the cluster at first, then from each pass's open occurrence.
        self._ad_hoc = assignment.ad_hoc_occurrence(self._status)
        self._candidate: tuple[Mapping[str, Any], sched.Occurrence | None, assignment.Candidate] | None = None
        self._shared = self.candidate  # as the other windows last heard of it (start() wakes them)
        self.restarts = WindowRestarts(self)
        self._running_since: datetime | None = None  # this task's first pass: what opened before is caught up
        self._missed_counted: set[str] = set()  # counted, and still after `handledThrough` (a write may fail)
        self.notifier = Notifier(self)

    @property
    def _reported(self) -> dict[tuple[str, str, str], str]:
        """Per target, the occurrence its finished restart was last reported for."""
        return self.restarts.reported

    async def stop(self) -> None:
        await super().stop()
        await self.notifier.stop()
        metrics.forget_window(self.namespace, self.name)
        self.wake_peers()  # what it handled goes to another window

    def start(self) -> None:
        super().start()
        self.wake_peers()  # it may take targets from the others

    def wake_peers(self) -> None:
        """The windows whose targets this one's change may move: those of its namespace, and the cluster windows
        covering it."""
        self.runtime.wake_namespace_windows(self.namespace)

    def covers(self, namespace_labels: Mapping[str, str] | None) -> bool:
        return False  # ranked in its own namespace only

    def update(self, body: Mapping[str, Any]) -> None:
        super().update(body)
        self._share_candidate()

    def _share_candidate(self) -> None:
        """Wake the namespace's windows when this one's spec or run-now occurrence changed: who handles what may
        change for each of them."""
        if self.candidate is not self._shared:
            self._shared = self.candidate
            self.wake_peers()

    @property
    def candidate(self) -> assignment.Candidate:
        """This window as assignment sees it: from its body and its run-now occurrence, rebuilt only when they
        change."""
        cached = self._candidate
        if cached is None or cached[0] is not self.body or cached[1] != self._ad_hoc:
            spec = self.body.get("spec") or {}
            made = assignment.window_candidate(self.assigned_name, spec, self._ad_hoc, cluster=not self.namespace)
            if cached is not None and cached[2] == made:
                made = cached[2]  # the same object: the runtime's ranking of the namespace stays valid
            self._candidate = cached = (self.body, self._ad_hoc, made)
        return cached[2]

    @property
    def assigned_name(self) -> str:
        """How assignment names this window: its name; a cluster window's is qualified (`stamp`)."""
        return self.name

    @property
    def stamp(self) -> str:
        """How this window's restarts name it (`restarted-by`, `occurrence-window`)."""
        return f"{self.kind}/{self.name}"

    # -- the pass ------------------------------------------------------------------------------------------
    async def _pass(self) -> datetime | None:
        """One reconcile pass; returns when the next pass is due at the latest (None: only on a change)."""
        now = self.runtime.clock()
        generation = self.body["metadata"].get("generation")
        parsed = self.parse_spec(self.spec_model)
        if isinstance(parsed, str):
            await self._invalid(parsed, generation, now)
            return None
        spec, ws = parsed
        metrics.invalid_windows.labels(self.namespace, self.name).set(0)
        current = await self.current_occurrence(ws, now)
        self._ad_hoc = current.occurrence if current is not None and current.ad_hoc else None
        self._share_candidate()  # a run-now occurrence just opened takes this window's targets from the others

        decision = decide.decide(self._inputs(spec, ws, current, generation, now), now)
        self.restarts.seen(decision.handled.seen)
        if decision.restart and decision.occurrence_id is not None:
            decision = decision.after(await self.restarts.send(decision.restart, decision.occurrence_id, now))
        if (followed := decision.followed) is not None:
            self.restarts.report(decision.step, followed, now)
            await self.restarts.replace_pods(decision.step.in_flight, followed, now)
        notice_at = await self.notifier.notices(
            spec, ws, decision.announce, decision.policy, list(decision.handled.targets), now
        )
        self._report_missed(decision, now)
        new_status = decision.status(
            notice_problem=self._notice_problem(spec, now, generation), forbidden=self.restarts.forbidden
        )
        self._export(decision)
        throttle = STATUS_MIN_INTERVAL if decision.throttled(new_status) else 0.0
        await self.write_status(new_status, min_interval=throttle)
        return decision.next_pass(notice_at)

    def _inputs(
        self,
        spec: MaintenanceWindowSpec,
        ws: sched.WindowSchedule,
        current: OpenOccurrence | None,
        generation: int | None,
        now: datetime,
    ) -> decide.Inputs:
        """What this pass decides from: the window, the index, the namespace's ranking, the restarts it sent."""
        self.restarts.follow(current.id if current is not None else None)
        if self._running_since is None:
            self._running_since = now
        return decide.Inputs(
            window=self.assigned_name,
            stamp=self.stamp,
            spec=spec,
            schedule=ws,
            current=current,
            previous=self._status,
            generation=generation,
            created=parse_time(self.body["metadata"].get("creationTimestamp")),
            running_since=self._running_since,
            **self._scope(now),
            started=dict(self.restarts.started),  # copies: sending this pass's restarts adds to them
            patch_failed=dict(self.restarts.patch_failed),
            cluster=not self.namespace,
        )

    def _scope(self, now: datetime) -> Scope:
        """The pass's targets, their namespace's ranking, and the databases being backed up there."""
        return Scope(
            selected=decide.selected(self.runtime.workloads(self.namespace), self._selector),
            ranked={self.namespace: self.runtime.ranked_windows(self.namespace, now)},
            blocked=self.runtime.snapshotting_in(self.namespace),
        )

    def _report_missed(self, decision: decide.Decision, now: datetime) -> None:
        """Occurrences that passed while the operator was down: the missed ones reported (Warning Event, counter),
        each once; the open one, if it started then, is announced as caught up (this pass runs it)."""
        decided, since = decision.missed, decision.since
        for passed in decided.missed:
            if passed.id not in self._missed_counted:
                metrics.missed_windows.labels(self.namespace, self.name).inc()
            self.event(
                "MaintenanceMissed",
                f"occurrence {passed.id} ({format_time(passed.start)} to {format_time(passed.end)}) "
                "passed while the operator was not running; its pending targets wait for the next occurrence",
                now,
                warning=True,
                once=passed.id,
            )
        if decided.catch_up is not None:
            self.event(
                "CatchUp",
                f"occurrence {decided.catch_up.id} opened while the operator was not running; its pending targets "
                f"are restarted now, until {format_time(decided.catch_up.end)}",
                now,
                once=decided.catch_up.id,
            )

        def undecided(occurrence_id: str) -> bool:
            """Only an occurrence after `handledThrough` (which only grows) can be decided missed or caught up."""
            start = sched.id_start(occurrence_id)
            return since is None or start is None or start > since

        self._missed_counted = {i for i in self._missed_counted | {o.id for o in decided.missed} if undecided(i)}
        self.forget_told("MaintenanceMissed", undecided)
        self.forget_told("CatchUp", undecided)

    def _notice_problem(self, spec: MaintenanceWindowSpec, now: datetime, generation: int | None) -> str | None:
        """Why the webhook cannot be used (its host is not allowed, its Secret cannot be read), or None."""
        problem = self.notifier.host_problem(spec) or self.notifier.secret_problem
        if problem is not None:
            # The generation only grows: keys of an older one are never presented again.
            self.forget_told("NoticeWebhookRefused", lambda key: key.startswith(str(generation)))
            self.event("NoticeWebhookRefused", problem, now, warning=True, once=f"{generation}{problem}")
        return problem

    # -- status --------------------------------------------------------------------------------------------
    async def _invalid(self, message: str, generation: int | None, now: datetime) -> None:
        metrics.invalid_windows.labels(self.namespace, self.name).set(1)
        self._ad_hoc = None  # an invalid spec's status records no occurrence
        new_status = window_status.maintenance_status(
            previous=self._status,
            generation=generation,
            upcoming=[],
            current=None,
            step=None,
            problem=message,
            now=now,
            last_run=None,
        )
        await self.write_status(new_status)
        self.forget_told("InvalidSpec", f"invalid{generation}".__eq__)  # the generation only grows
        self.event("InvalidSpec", message, now, warning=True, once=f"invalid{generation}")

    def _export(self, decision: decide.Decision) -> None:
        if decision.upcoming:
            metrics.next_window_start.labels(self.namespace, self.name).set(decision.upcoming[0].start.timestamp())
        metrics.window_open.labels(self.namespace, self.name).set(1 if decision.inputs.current is not None else 0)
        metrics.set_pending(self.namespace, self.name, decision.pending_by_reason())
