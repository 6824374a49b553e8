"""One namespace's part of a backup window's pass: gather, `planning.backups.decide`, apply all but the status.

A BackupWindow has one; a ClusterBackupWindow (`cluster_backup_runner`) one per namespace it backs up. What it
remembers between passes (retried and counted snapshots) is its namespace's alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.windows import BackupWindowSpec
from maintenance_operator.handlers import metrics
from maintenance_operator.kube import objects, paths, snapshots
from maintenance_operator.kube.client import ApiError
from maintenance_operator.planning.backups import decide as backup_pass
from maintenance_operator.planning.backups.decide import Decision
from maintenance_operator.planning.backups.inputs import BackupInputs, Look
from maintenance_operator.planning.backups.retention import RetentionPolicy
from maintenance_operator.planning.backups.snapshots import SnapshotRecord, snapshot_record
from maintenance_operator.planning.targets.workloads import Rollout

if TYPE_CHECKING:
    from maintenance_operator.handlers.backup_runner import BackupTask

log = logging.getLogger(__name__)

SNAPSHOT_EVENTS = ("SnapshotFailed", "SnapshotAbandoned", "SnapshotDeleted")  # told once per snapshot name
MISSED = "BackupMissed"


class BackupScope:
    """One namespace's part of a backup window's pass, and what it remembers between passes.

    Its Events are the window's, each told once per key; a cluster window's keys carry the namespace, since two
    namespaces may have snapshots of one name. Its metrics are labelled (namespace, the window's label).
    """

    def __init__(self, window: BackupTask, namespace: str) -> None:
        self.window = window
        self.namespace = namespace
        self._key = f"{namespace}/" if window.cluster else ""
        self._retried: Mapping[str, datetime] = {}  # failed snapshot -> its last retry, while RETRY_EVERY holds it
        self._recorded: frozenset[str] = frozenset()  # ready snapshots counted, while they are listed
        self._seeded = False  # _recorded holds what the databases showed before this process counted
        self.retention_due = True
        self.databases = 0  # it backed up at its last pass

    async def decide(
        self,
        spec: BackupWindowSpec,
        ws: sched.WindowSchedule,
        lk: Look,
        generation: int | None,
        databases: Mapping[str, Mapping[str, Any]],
        now: datetime,
    ) -> Decision | None:
        """The part's Decision; None when the API server does not serve snapshots."""
        if lk.lists_databases:
            databases = await self._with_listed_databases(databases)
        self.databases = len(databases)
        records: list[SnapshotRecord] | None = None
        retention = None
        if lk.lists_snapshots(self.retention_due):
            records = await self._snapshots()
            if records is None:
                return None
            if self.retention_due:
                self.retention_due = False
                retention = RetentionPolicy.from_spec(spec.retention)
        return backup_pass.decide(self._inputs(ws, lk, generation, databases, records, retention), now)

    def _inputs(
        self,
        ws: sched.WindowSchedule,
        lk: Look,
        generation: int | None,
        databases: Mapping[str, Mapping[str, Any]],
        records: list[SnapshotRecord] | None,
        retention: RetentionPolicy | None,
    ) -> BackupInputs:
        runtime = self.window.runtime
        live = {name: runtime.workload("StatefulSet", self.namespace, name) for name in databases}
        if records is not None and not self._seeded:  # counted before a restart: the databases show them
            shown = ((b.get("status") or {}).get("lastBackup") or {} for b in databases.values())
            self._recorded, self._seeded = frozenset(str(s["snapshot"]) for s in shown if s.get("snapshot")), True
        return BackupInputs(
            window=self.window.window_label,
            ws=ws,
            look=lk,
            status=self.window._status,
            generation=generation,
            databases=tuple(databases),
            with_volume=frozenset(name for name, w in live.items() if w is not None),
            rolling_out=frozenset(
                name for name, w in live.items() if w is not None and w.rollout is not Rollout.COMPLETE
            ),
            records=records,
            retention=retention,
            retried=self._retried,
            recorded=self._recorded,
        )

    async def _snapshots(self) -> list[SnapshotRecord] | None:
        """The namespace's managed snapshots; None when the API server does not serve them."""
        try:
            listed = await snapshots.list_managed(self.window.runtime.client, self.namespace)
        except ApiError as err:
            if err.status != 404:
                raise
            return None
        return [snapshot_record(o) for o in listed]

    async def _with_listed_databases(self, known: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
        """`known` and the namespace's listed databases it backs up: a run's end and a missed occurrence are
        reported once, and just after a start kopf may not have delivered every database yet (its watches are
        apart from the windows'), which would count too few."""
        client = self.window.runtime.client
        listed = await objects.list_items(client, paths.custom(names.MANAGED_DATABASE, self.namespace))
        selected = {o["metadata"]["name"]: o for o in listed if self.window.backs_up(self.namespace, labels_of(o))}
        return {**selected, **known}

    def _event(self, reason: str, message: str, now: datetime, *, warning: bool = False, once: str) -> None:
        where = f"{self.namespace}: " if self._key else ""
        self.window.event(reason, where + message, now, warning=warning, once=self._key + once)

    def _forget(self, reason: str, keep: Any) -> None:
        """Forget this part's keys of `reason` that `keep` refuses (a cluster window's other parts keep theirs)."""
        key = self._key
        self.window.forget_told(reason, lambda k: not k.startswith(key) or keep(k[len(key) :]))

    async def apply(self, decision: Decision, spec: BackupWindowSpec, now: datetime) -> None:
        """Everything the Decision says but the window's status (its task writes that)."""
        client, ns, window = self.window.runtime.client, self.namespace, self.window.window_label
        if (forget := decision.forget) is not None:
            for reason in SNAPSHOT_EVENTS:
                self._forget(reason, forget.snapshots.__contains__)
            self._forget(MISSED, forget.reportable)
        for deletion in decision.deletions:
            await snapshots.delete(client, ns, deletion.name)
            metrics.retention_deletions.labels(ns, window, str(deletion.reason)).inc()
            self._event("SnapshotDeleted", f"{deletion.name}: {deletion.detail}", now, once=deletion.name)
        for missed in decision.missed:
            self._report_missed(missed.occurrence, missed.why, now)
        for name in decision.abandon:
            await snapshots.delete(client, ns, name)
            self._event("SnapshotAbandoned", f"{name} was not ready when the window closed; deleted", now, once=name)

        async def create(request: Any) -> None:
            if await snapshots.create(client, ns, request, spec.volume_snapshot_class_name):
                metrics.snapshots.labels(ns, window, "created").inc()

        await asyncio.gather(*(create(r) for r in decision.create))
        self._retried = decision.retried
        for retry in decision.retry:
            metrics.snapshots.labels(ns, window, "failed").inc()
            # One Event per snapshot name: retries every RETRY_EVERY would otherwise flood the namespace.
            message = f"snapshot {retry.name} failed ({retry.error}); retrying"
            self._event("SnapshotFailed", message, now, warning=True, once=retry.name)
            await snapshots.delete(client, ns, retry.name)
        self.release(decision.snapshotting)
        if decision.saw_ready:
            self.retention_due = True
        for _ in decision.newly_ready:
            metrics.snapshots.labels(ns, window, "ready").inc()
        if decision.forget is not None:
            self._recorded = decision.recorded

    def _report_missed(self, occ_id: str, why: str, now: datetime) -> None:
        if self._key + occ_id not in self.window._told.get(MISSED, ()):  # counted with its Event, once each
            metrics.missed_backups.labels(self.namespace, self.window.window_label).inc()
        self._event(MISSED, f"occurrence {occ_id}: backup missed: {why}", now, warning=True, once=occ_id)

    def release(self, in_progress: frozenset[str]) -> None:
        """Tell MaintenanceWindows which databases have a snapshot running (they wait to restart those)."""
        runtime, uid = self.window.runtime, self.window.uid
        mine = {(self.namespace, db, uid) for db in in_progress}
        stale = {k for k in runtime.snapshotting if k[2] == uid and k[0] == self.namespace} - mine
        if stale or mine - runtime.snapshotting:
            runtime.snapshotting -= stale
            runtime.snapshotting |= mine
            runtime.wake_namespace_windows(self.namespace)


def labels_of(body: Mapping[str, Any]) -> Mapping[str, str]:
    return (body.get("metadata") or {}).get("labels") or {}
