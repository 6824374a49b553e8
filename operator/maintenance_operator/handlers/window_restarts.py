"""The restarts one MaintenanceWindow sends: the PATCHes, the pod evictions of OnDelete StatefulSets, and the
Events and metrics of finished restarts, with what the window task remembers of them between passes.

The decisions are `planning.windows.decide`'s; this is the I/O that carries them out and the memory the workload
index cannot hold yet (a restart sent whose watch event has not arrived, a PATCH refused, what was reported).
"""

import asyncio
import logging
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.kube import events, pods, workloads
from maintenance_operator.kube.client import ApiError, Forbidden
from maintenance_operator.planning.targets import pod_replacement as replacement
from maintenance_operator.planning.targets.workloads import Rollout, Workload
from maintenance_operator.planning.windows import restarts

log = logging.getLogger(__name__)

Key = tuple[str, str, str]


class Window(Protocol):
    runtime: Runtime
    namespace: str
    name: str

    @property
    def stamp(self) -> str: ...

    @property
    def involved(self) -> dict[str, str]: ...

    def forbidden(self, err: Forbidden, now: datetime) -> str: ...


class WindowRestarts:
    def __init__(self, window: Window) -> None:
        self.window = window
        self.occurrence: str | None = None  # the open occurrence the memories below are about
        self.started: dict[Key, Workload] = {}  # restarts sent, not yet seen in the index
        self.patch_failed: dict[Key, Workload] = {}
        self.denied: dict[Key, str] = {}  # restarts refused with 403 in this occurrence: why
        # target -> the occurrence its finished restart was last reported for: a target's restart names one
        # occurrence, and a newer restart replaces it, so no older one can be reported for it again.
        self.reported: dict[Key, str] = {}
        self._reporting: str | None = None  # the occurrence `report` last followed

    @property
    def runtime(self) -> Runtime:
        return self.window.runtime

    @property
    def forbidden(self) -> str | None:
        """Why a restart or an eviction of this occurrence was refused (the first one), or None."""
        return next(iter(self.denied.values()), None)

    def follow(self, occurrence_id: str | None) -> None:
        """Forget what was sent in an occurrence that is no longer the open one."""
        if occurrence_id != self.occurrence:
            self.occurrence = occurrence_id
            self.started.clear()
            self.patch_failed.clear()
            self.denied.clear()

    def seen(self, keys: frozenset[Key]) -> None:
        """The index shows these restarts: it is the record now."""
        for key in keys:
            self.started.pop(key, None)

    async def send(self, targets: tuple[Workload, ...], occ_id: str, now: datetime) -> restarts.Sent:
        """PATCH each target's restart; a failed PATCH leaves the target's rollout failed in this occurrence."""
        stamp = self.window.stamp
        for w in targets:
            self.started[w.key] = replace(
                w, occurrence=occ_id, occurrence_window=stamp, restarted_at=now, rollout=Rollout.PROGRESSING
            )
        await asyncio.gather(*(self._send_one(w, occ_id, now) for w in targets))
        return restarts.Sent(
            restarted=tuple(self.started[w.key] for w in targets if w.key not in self.patch_failed),
            failed=tuple(self.patch_failed[w.key] for w in targets if w.key in self.patch_failed),
        )

    async def _send_one(self, w: Workload, occ_id: str, now: datetime) -> None:
        stamp = self.window.stamp
        try:
            await workloads.restart(self.runtime.client, w, stamp, occ_id, now)
        except ApiError as err:
            if isinstance(err, Forbidden):
                self.denied[w.key] = self.window.forbidden(err, now)
            else:
                log.warning("restart of %s/%s failed: %s", w.namespace, w.ref, err)
            self.patch_failed[w.key] = replace(
                w, occurrence=occ_id, occurrence_window=stamp, rollout=Rollout.FAILED, restarted_at=now
            )
            message = f"could not restart {w.ref}: {err.message}"
            self.runtime.spawn(
                events.emit(self.runtime.client, self.window.involved, "RestartFailed", message, now, warning=True)
            )
            return
        log.info("restarted %s/%s for occurrence %s of %s", w.namespace, w.ref, occ_id, stamp)

    async def replace_pods(self, in_flight: list[Workload], occ_id: str, now: datetime) -> None:
        """OnDelete StatefulSets this window restarted: evict the next pod still on an older revision, one at a
        time (`planning.pod_replacement`); the StatefulSet controller recreates it from the new one."""
        client, stamp = self.runtime.client, self.window.stamp
        for w in in_flight:
            if not w.on_delete or w.key in self.patch_failed:
                continue
            try:
                chosen = replacement.next_to_replace(await pods.of_workload(client, w), w.revision, w.replicas)
                if chosen is None or not await pods.evict(client, w.namespace, chosen.name):
                    continue
            except ApiError as err:
                if isinstance(err, Forbidden):
                    self.denied[w.key] = self.window.forbidden(err, now)
                log.warning("replacing a pod of %s/%s failed: %s", w.namespace, w.ref, err)
                continue
            log.info("evicted pod %s/%s of OnDelete %s for occurrence %s", w.namespace, chosen.name, w.ref, occ_id)
            involved = events.ref("apps/v1", w.kind, w.namespace, w.name, w.uid)
            message = (
                f"evicted pod {chosen.name} (revision {chosen.revision}) so that it is recreated from revision "
                f"{w.revision}: updateStrategy OnDelete, restarted by {stamp} in occurrence {occ_id}"
            )
            key = f"PodEvicted{stamp}{w.key}{chosen.name}{w.revision}"
            self.runtime.spawn(events.emit(client, involved, "MaintenancePodEvicted", message, now, key=key))

    def report(self, step: restarts.Step, occ_id: str, now: datetime) -> None:
        """Events and metrics once per target and occurrence for finished restarts."""
        if occ_id != self._reporting:
            self._reporting = occ_id
            self._forget_gone(occ_id)
        window = self.window
        for w, ok in [(w, True) for w in step.succeeded] + [(w, False) for w in step.failed]:
            if self.reported.get(w.key) == occ_id:
                continue
            self.reported[w.key] = occ_id
            metrics.restarts.labels(window.namespace, window.name, "succeeded" if ok else "failed").inc()
            if w.restarted_at is not None:
                metrics.restart_duration.labels(window.namespace, window.name).observe(
                    max(0.0, (now - w.restarted_at).total_seconds())
                )
            if ok:
                reason = "MaintenanceCompleted"
                message = f"restarted by {window.stamp} in occurrence {occ_id}; rollout complete"
            else:
                reason = "MaintenanceFailed"
                message = (
                    f"rollout after the restart by {window.stamp} in occurrence {occ_id} did not complete in time; "
                    "maintenance stays pending"
                )
            involved = events.ref("apps/v1", w.kind, w.namespace, w.name, w.uid)
            # The key names the window: another window's occurrence may have the same id (a run-now in one second).
            key = f"{reason}{window.stamp}{(*w.key, occ_id)}"
            self.runtime.spawn(
                events.emit(self.runtime.client, involved, reason, message, now, warning=not ok, key=key)
            )

    def _forget_gone(self, followed: str) -> None:
        """Forget what was reported for deleted targets (but not for the occurrence followed now: a target deleted
        and recreated with its restart stamp in it would be reported again)."""
        gone = [key for key, occ in self.reported.items() if occ != followed and self.runtime.workload(*key) is None]
        for key in gone:
            del self.reported[key]
