"""One task per MaintenanceWindow: sleep until the next boundary, then plan -> restart -> notify -> status.

The task wakes at exact wall-clock instants computed by `schedule` (occurrence start and end, exclusion edges,
notice time, rollout deadlines) and whenever a selected workload or the window itself changes; it never polls.
Each pass re-derives everything from the window and the workload index, so a crash loses nothing.
"""

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.windows import MaintenanceWindowSpec
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.notifier import Notifier
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.scheduled import ScheduledWindow
from maintenance_operator.kube import events, pods, workloads
from maintenance_operator.kube.client import ApiError, Forbidden
from maintenance_operator.planning.targets import pod_replacement as replacement
from maintenance_operator.planning.targets import selectors
from maintenance_operator.planning.targets.workloads import Rollout, Workload
from maintenance_operator.planning.times import format_time, parse_time
from maintenance_operator.planning.windows import assignment, missed, occurrence, restarts
from maintenance_operator.planning.windows import status as window_status
from maintenance_operator.planning.windows.occurrence import OpenOccurrence

log = logging.getLogger(__name__)

STATUS_MIN_INTERVAL = 1.0  # seconds between status writes while an occurrence is busy
RUNNING = "Running"  # lastRun.result while restarts of the occurrence may still start or finish


class WindowRunner(ScheduledWindow):
    kind = names.MAINTENANCE_WINDOW

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        super().__init__(runtime, body)
        self._candidate: tuple[Mapping[str, Any], Any, assignment.Candidate] | None = None
        self._shared = self.candidate  # as the other windows last heard of it (start() wakes them)
        self._elsewhere: list[tuple[Workload, str]] = []  # selected, due, but handled by another window
        self._started: dict[tuple[str, str, str], Workload] = {}  # restarts sent, not yet seen in the index
        self._patch_failed: dict[tuple[str, str, str], Workload] = {}
        self._denied: dict[tuple[str, str, str], str] = {}  # restarts refused with 403 in this occurrence: why
        # target -> the occurrence its finished restart was last reported for: a target's restart names one
        # occurrence, and a newer restart replaces it, so no older one can be reported for it again.
        self._reported: dict[tuple[str, str, str], str] = {}
        self._reporting: str | None = None  # the occurrence `_report` last followed
        self._occurrence_id: str | None = None
        self._running_since: datetime | None = None  # this task's first pass: what opened before is caught up
        self._missed_counted: set[str] = set()  # counted, and still after `handledThrough` (a write may fail)
        self.notifier = Notifier(self)

    async def stop(self) -> None:
        await super().stop()
        await self.notifier.stop()
        metrics.forget_window(self.namespace, self.name)
        self.runtime.wake_namespace_windows(self.namespace)  # what it handled goes to another window

    def start(self) -> None:
        super().start()
        self.runtime.wake_namespace_windows(self.namespace)  # it may take targets from the others

    def update(self, body: Mapping[str, Any]) -> None:
        super().update(body)
        self._share_candidate()

    def _share_candidate(self) -> None:
        """Wake the namespace's windows when this one's spec or run-now occurrence changed: who handles what may
        change for each of them."""
        if self.candidate is not self._shared:
            self._shared = self.candidate
            self.runtime.wake_namespace_windows(self.namespace)

    @property
    def candidate(self) -> assignment.Candidate:
        """This window as assignment sees it: from its body and its latest status, rebuilt only when they change."""
        current = self._status.get("currentOccurrence")
        cached = self._candidate
        if cached is None or cached[0] is not self.body or cached[1] != current:
            spec = self.body.get("spec") or {}
            made = assignment.candidate(self.name, spec, self._status)
            if cached is not None and cached[2] == made:
                made = cached[2]  # the same object: the runtime's ranking of the namespace stays valid
            self._candidate = cached = (self.body, current, made)
        return cached[2]

    # -- the pass ------------------------------------------------------------------------------------------
    async def _pass(self) -> datetime | None:
        """One reconcile pass; returns when the next pass is due at the latest (None: only on a change)."""
        now = self.runtime.clock()
        generation = self.body["metadata"].get("generation")
        parsed = self.parse_spec(MaintenanceWindowSpec)
        if isinstance(parsed, str):
            await self._invalid(parsed, generation, now)
            return None
        spec, ws = parsed
        metrics.invalid_windows.labels(self.namespace, self.name).set(0)

        current = await self.current_occurrence(ws, now)
        self._share_candidate()  # a run-now occurrence just opened takes this window's targets from the others
        state = sched.window_state(ws, now)
        policy = restarts.Policy(
            always=spec.policy == "Always",
            concurrency=spec.concurrency,
            stop_on_failure=spec.on_failure == "Stop",
            rollout_timeout=sched.parse_duration(spec.rollout_timeout),
        )
        occ_id = current.id if current is not None else None
        if occ_id != self._occurrence_id:
            self._occurrence_id = occ_id
            self._started.clear()
            self._patch_failed.clear()
            self._denied.clear()
        can_start = occurrence.blocked_by(ws, state, current, now)
        ranked = self.runtime.ranked_windows(self.namespace, now)
        targets = self._targets(occ_id, ranked, policy)
        blocked = self.runtime.snapshotting_in(self.namespace)  # databases with a backup snapshot running
        finishing = self._finishing(current)
        step = restarts.plan(targets, occ_id, can_start, policy, now, blocked, finishing, self.stamp)

        if step.start and occ_id is not None:
            await self._restart(step.start, occ_id, now)
            again = self._targets(occ_id, ranked, policy)
            step = restarts.plan(again, occ_id, can_start, policy, now, blocked, finishing, self.stamp)
        if (followed := occ_id or finishing) is not None:
            self._report(step, followed, now)
            await self._replace_pods(step.in_flight, followed, now)

        upcoming = sched.next_occurrences(ws, now, window_status.NEXT_SHOWN)
        notice_at = await self._notices(spec, ws, current, upcoming, targets, policy, now)
        decided = self._while_down(ws, targets, policy, now)
        last_run = self._run_summary(current, finishing, decided, step)
        new_status = window_status.maintenance_status(
            previous=self._status,
            generation=generation,
            upcoming=upcoming,
            current=current,
            step=step,
            problem=None,
            now=now,
            last_run=last_run,
            notice_problem=self._notice_problem(spec, now, generation),
            elsewhere=self._elsewhere,
            forbidden=next(iter(self._denied.values()), None),
            handled_through=decided.handled_through,
            missed=[o.id for o in decided.missed],
        )
        self._export(upcoming, current, step)
        busy = bool(step.in_flight or step.start)
        # What was decided about missed occurrences is written at once, so it is never decided (counted) twice.
        throttle = (
            busy and not decided.missed and new_status.get("handledThrough") == self._status.get("handledThrough")
        )
        await self.write_status(new_status, min_interval=STATUS_MIN_INTERVAL if throttle else 0.0)

        # ranked.changes_at: another window opening or closing may move targets to or from this one.
        candidates = [state.next_change, step.next_deadline, notice_at, ranked.changes_at]
        if current is not None:
            candidates.append(current.end)
        if busy:
            # A pending status write, or a restart whose watch event we have not seen yet.
            candidates.append(now + timedelta(seconds=STATUS_MIN_INTERVAL))
        return min((c for c in candidates if c is not None and c > now), default=None)

    def _targets(self, occ_id: str | None, ranked: assignment.Ranked, policy: restarts.Policy) -> list[Workload]:
        """Selected workloads this window handles, with restarts we sent but have not seen in the watch yet counted
        as in flight; the due ones another window handles go to `_elsewhere` and are never touched."""
        found = []
        self._elsewhere = []
        for w in self.runtime.workloads(self.namespace):
            if not selectors.matches(self._selector, w.labels):
                continue
            handler = assignment.choose(ranked, w.labels).window
            if handler is not None and handler != self.name:
                if restarts.is_due(w, policy):
                    self._elsewhere.append((w, handler))
                continue
            if w.key in self._patch_failed:
                found.append(self._patch_failed[w.key])
            elif w.key in self._started and (occ_id is None or not w.restarted_in(self.stamp, occ_id)):
                found.append(self._started[w.key])
            else:
                self._started.pop(w.key, None)
                found.append(w)
        return found

    def _while_down(
        self, ws: sched.WindowSchedule, targets: list[Workload], policy: restarts.Policy, now: datetime
    ) -> missed.Decision:
        """Occurrences that passed while the operator was down: the missed ones reported (Warning Event, counter),
        each once; the open one, if it started then, is announced as caught up (this pass runs it)."""
        since = missed.handled_since(
            parse_time(self._status.get("handledThrough")),
            (self._status.get("lastRun") or {}).get("occurrence"),
            parse_time(self.body["metadata"].get("creationTimestamp")),
        )
        taken = {w.occurrence for w in targets if w.occurrence and w.restarted_in(self.stamp, w.occurrence)}
        if self._running_since is None:
            self._running_since = now
        decided = missed.decide(ws, since, targets, policy, taken, now, self._running_since)
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
        return decided

    def _finishing(self, current: OpenOccurrence | None) -> str | None:
        """The occurrence that closed with rollouts in flight: they are followed until each one finishes."""
        previous = self._status.get("lastRun") or {}
        return previous.get("occurrence") if current is None and previous.get("result") == RUNNING else None

    def _run_summary(
        self,
        current: OpenOccurrence | None,
        finishing: str | None,
        decided: missed.Decision,
        step: restarts.Step,
    ) -> dict[str, Any] | None:
        """`lastRun`: the open occurrence's run, else the newest missed occurrence (newer than any that closed
        while the operator ran), else the closed one whose rollouts are finishing; None keeps the previous one."""
        if current is not None:
            return self._last_run(current.id, format_time(current.start), step)
        if decided.missed:
            return self._missed_run(decided.missed[-1], step)
        if finishing is not None:
            started = (self._status.get("lastRun") or {}).get("started")
            return self._last_run(finishing, started, step)
        return None

    @staticmethod
    def _missed_run(occurrence: sched.Occurrence, step: restarts.Step) -> dict[str, Any]:
        """A missed occurrence reads as the last run (so `MaintenanceMissed` is True): nothing restarted in it, and
        what is pending now was skipped."""
        return {
            "occurrence": occurrence.id,
            "started": format_time(occurrence.start),
            "restarted": 0,
            "failed": 0,
            "skipped": len(step.waiting) + len(step.start),
            "result": window_status.MISSED,
        }

    @property
    def stamp(self) -> str:
        """How this window's restarts name it (`restarted-by`, `occurrence-window`)."""
        return f"{self.kind}/{self.name}"

    async def _restart(self, targets: list[Workload], occ_id: str, now: datetime) -> None:
        window = self.stamp

        async def one(w: Workload) -> None:
            try:
                await workloads.restart(self.runtime.client, w, window, occ_id, now)
            except ApiError as err:
                if isinstance(err, Forbidden):
                    self._denied[w.key] = self.forbidden(err, now)
                else:
                    log.warning("restart of %s/%s failed: %s", w.namespace, w.ref, err)
                self._patch_failed[w.key] = replace(
                    w, occurrence=occ_id, occurrence_window=window, rollout=Rollout.FAILED, restarted_at=now
                )
                self.runtime.spawn(
                    events.emit(
                        self.runtime.client,
                        self.involved,
                        "RestartFailed",
                        f"could not restart {w.ref}: {err.message}",
                        now,
                        warning=True,
                    )
                )
                return
            log.info("restarted %s/%s for occurrence %s of %s", w.namespace, w.ref, occ_id, window)

        for w in targets:
            self._started[w.key] = replace(
                w, occurrence=occ_id, occurrence_window=window, restarted_at=now, rollout=Rollout.PROGRESSING
            )
        await asyncio.gather(*(one(w) for w in targets))

    async def _replace_pods(self, in_flight: list[Workload], occ_id: str, now: datetime) -> None:
        """OnDelete StatefulSets this window restarted: evict the next pod still on an older revision, one at a
        time (`planning.pod_replacement`); the StatefulSet controller recreates it from the new one."""
        for w in in_flight:
            if not w.on_delete or w.key in self._patch_failed:
                continue
            try:
                chosen = replacement.next_to_replace(
                    await pods.of_workload(self.runtime.client, w), w.revision, w.replicas
                )
                if chosen is None or not await pods.evict(self.runtime.client, w.namespace, chosen.name):
                    continue
            except ApiError as err:
                if isinstance(err, Forbidden):
                    self._denied[w.key] = self.forbidden(err, now)
                log.warning("replacing a pod of %s/%s failed: %s", w.namespace, w.ref, err)
                continue
            log.info("evicted pod %s/%s of OnDelete %s for occurrence %s", w.namespace, chosen.name, w.ref, occ_id)
            involved = events.ref("apps/v1", w.kind, w.namespace, w.name, w.uid)
            message = (
                f"evicted pod {chosen.name} (revision {chosen.revision}) so that it is recreated from revision "
                f"{w.revision}: updateStrategy OnDelete, restarted by {self.stamp} in occurrence {occ_id}"
            )
            key = f"PodEvicted{self.stamp}{w.key}{chosen.name}{w.revision}"
            self.runtime.spawn(
                events.emit(self.runtime.client, involved, "MaintenancePodEvicted", message, now, key=key)
            )

    def _report(self, step: restarts.Step, occ_id: str, now: datetime) -> None:
        """Events and metrics once per target and occurrence for finished restarts."""
        if occ_id != self._reporting:
            self._reporting = occ_id
            self._forget_gone(occ_id)
        for w, ok in [(w, True) for w in step.succeeded] + [(w, False) for w in step.failed]:
            key = (*w.key, occ_id)
            if self._reported.get(w.key) == occ_id:
                continue
            self._reported[w.key] = occ_id
            result = "succeeded" if ok else "failed"
            metrics.restarts.labels(self.namespace, self.name, result).inc()
            if w.restarted_at is not None:
                metrics.restart_duration.labels(self.namespace, self.name).observe(
                    max(0.0, (now - w.restarted_at).total_seconds())
                )
            api_version = "apps/v1"
            involved = events.ref(api_version, w.kind, w.namespace, w.name, w.uid)
            if ok:
                reason, message = (
                    "MaintenanceCompleted",
                    f"restarted by {self.kind}/{self.name} in occurrence {occ_id}; rollout complete",
                )
            else:
                reason, message = (
                    "MaintenanceFailed",
                    f"rollout after the restart by {self.kind}/{self.name} in occurrence {occ_id} did not "
                    "complete in time; maintenance stays pending",
                )
            # The key names the window: another window's occurrence may have the same id (a run-now in one second).
            event_key = f"{reason}{self.stamp}{key}"
            self.runtime.spawn(
                events.emit(self.runtime.client, involved, reason, message, now, warning=not ok, key=event_key)
            )

    def _forget_gone(self, followed: str) -> None:
        """Forget what was reported for deleted targets (but not for the occurrence followed now: a target deleted
        and recreated with its restart stamp in it would be reported again)."""
        gone = [
            key for key, occ_id in self._reported.items() if occ_id != followed and self.runtime.workload(*key) is None
        ]
        for key in gone:
            del self._reported[key]

    @staticmethod
    def _last_run(occurrence_id: str, started: str | None, step: restarts.Step) -> dict[str, Any]:
        if step.in_flight or step.start:
            result = RUNNING
        elif step.failed:
            result = "Failed"
        elif step.waiting:
            result = "Incomplete"
        else:
            result = "Succeeded"
        return {
            "occurrence": occurrence_id,
            "started": started,
            "restarted": len(step.succeeded),
            "failed": len(step.failed),
            "skipped": len(step.waiting),
            "result": result,
        }

    # -- notices -------------------------------------------------------------------------------------------
    async def _notices(
        self,
        spec: MaintenanceWindowSpec,
        ws: sched.WindowSchedule,
        current: OpenOccurrence | None,
        upcoming: list[sched.Occurrence],
        targets: list[Workload],
        policy: restarts.Policy,
        now: datetime,
    ) -> datetime | None:
        """Send due notices; return when the next notice becomes due.

        Notices announce an occurrence ahead of time: none while one is open (its targets are being handled, and
        a run-now occurrence would only add two Events and a PATCH per target); after it closes, what is left is
        announced for the next one. None while the window is suspended (nothing would happen then): unsuspending
        it changes the window, which wakes a pass that sends what is due.
        """
        announced = upcoming[0] if current is None and upcoming and not ws.suspend else None
        return await self.notifier.notices(spec, ws, announced, policy, targets, now)

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

    def _export(self, upcoming: list[sched.Occurrence], current: OpenOccurrence | None, step: restarts.Step) -> None:
        if upcoming:
            metrics.next_window_start.labels(self.namespace, self.name).set(upcoming[0].start.timestamp())
        metrics.window_open.labels(self.namespace, self.name).set(1 if current is not None else 0)
        # Labelled by why the target is not done (a bounded set), not by the users' free-text reason.
        by_reason: dict[str, int] = {"in-progress": len(step.in_flight) + len(step.start)}
        by_reason["failed"] = len(step.failed)
        for wait in step.wait_reasons.values():
            by_reason[wait.value] = by_reason.get(wait.value, 0) + 1
        metrics.set_pending(self.namespace, self.name, {k: v for k, v in by_reason.items() if v})
