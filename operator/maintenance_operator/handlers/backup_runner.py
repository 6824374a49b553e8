"""One task per BackupWindow: in each occurrence, a VolumeSnapshot of every selected database's data volume.

Snapshot names come from the database, the claim and the occurrence id, so a repeated pass (or a restarted
operator) never duplicates one. The window's status keeps the last run as `Running` until the occurrence is
finalized, so a crash between the end of a window and its report loses nothing; occurrences missed while the
operator was down are reported once (`handledThrough`). Snapshots are listed only while there is work. The
window writes only its own status: a database's `lastBackup` and `nextBackupWindow` are the DatabaseRunner's, which
reads `next_start` here.
"""

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.windows import BackupWindowSpec
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.scheduled import ScheduledWindow
from maintenance_operator.kube import objects, paths, snapshots
from maintenance_operator.kube.client import ApiError
from maintenance_operator.planning.backups import decide as backup_pass
from maintenance_operator.planning.backups import inputs as pass_inputs
from maintenance_operator.planning.backups import status as backup_status
from maintenance_operator.planning.backups.decide import Decision
from maintenance_operator.planning.backups.inputs import BackupInputs, Look
from maintenance_operator.planning.backups.retention import RetentionPolicy
from maintenance_operator.planning.backups.snapshots import SnapshotRecord, snapshot_record
from maintenance_operator.planning.targets.workloads import Rollout

log = logging.getLogger(__name__)

NO_SNAPSHOT_API = (
    f"the API server does not serve volumesnapshots.{names.SNAPSHOT_API_VERSION}: install the CSI snapshot CRDs "
    "and snapshot-controller (and a CSI driver that supports snapshots) to take backups"
)
SNAPSHOT_EVENTS = ("SnapshotFailed", "SnapshotAbandoned", "SnapshotDeleted")  # told once per snapshot name


class BackupRunner(ScheduledWindow):
    """Gathers a pass's inputs, lets `planning.backups.decide` decide, applies the Decision."""

    kind = names.BACKUP_WINDOW

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        super().__init__(runtime, body)
        self._retried: Mapping[str, datetime] = {}  # failed snapshot -> its last retry, while RETRY_EVERY holds it
        self._recorded: frozenset[str] = frozenset()  # ready snapshots counted, while they are listed
        self._seeded = False  # _recorded holds what the databases showed before this process counted
        self._checked_class: tuple[int | None, str | None] | None = None
        self._retention_due = True
        self._next_start: datetime | None = None

    @property
    def next_start(self) -> datetime | None:
        """The start of the next occurrence as the last pass computed it (a database's `nextBackupWindow`); None
        while the spec is invalid or before the first pass."""
        return self._next_start

    async def stop(self) -> None:
        await super().stop()
        self._release(frozenset())
        self._set_next_start(None)
        metrics.forget_backup_window(self.namespace, self.name)

    # -- the pass ------------------------------------------------------------------------------------------
    async def _pass(self) -> datetime | None:
        now = self.clock()
        generation = self.body["metadata"].get("generation")
        valid = await self._validated(generation, now)
        if valid is None:
            return None
        spec, ws = valid
        current = await self.current_occurrence(ws, now)
        lk = pass_inputs.look(ws, self._status, self.body["metadata"].get("creationTimestamp"), current, now)
        databases = self._databases()
        if lk.lists_databases:
            databases = await self._with_listed_databases(databases)
        records: list[SnapshotRecord] | None = None
        retention = None
        if lk.lists_snapshots(self._retention_due):
            records = await self._snapshots()
            if records is None:
                await self._invalid(NO_SNAPSHOT_API, generation, now)
                return now + backup_pass.RETRY_EVERY * 6  # the CRDs may be installed later
            if self._retention_due:
                self._retention_due = False
                retention = RetentionPolicy.from_spec(spec.retention)
        decision = backup_pass.decide(self._inputs(ws, lk, generation, databases, records, retention), now)
        await self._apply(decision, spec, now)
        return decision.wake_at

    def _inputs(
        self,
        ws: sched.WindowSchedule,
        lk: Look,
        generation: int | None,
        databases: Mapping[str, Mapping[str, Any]],
        records: list[SnapshotRecord] | None,
        retention: RetentionPolicy | None,
    ) -> BackupInputs:
        live = {name: self.runtime.workload("StatefulSet", self.namespace, name) for name in databases}
        if records is not None and not self._seeded:  # counted before a restart: the databases show them
            shown = ((b.get("status") or {}).get("lastBackup") or {} for b in databases.values())
            self._recorded, self._seeded = frozenset(str(s["snapshot"]) for s in shown if s.get("snapshot")), True
        return BackupInputs(
            window=self.name,
            ws=ws,
            look=lk,
            status=self._status,
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
            listed = await snapshots.list_managed(self.runtime.client, self.namespace)
        except ApiError as err:
            if err.status != 404:
                raise
            return None
        return [snapshot_record(o) for o in listed]

    async def _apply(self, decision: Decision, spec: BackupWindowSpec, now: datetime) -> None:
        client, ns = self.runtime.client, self.namespace
        if (forget := decision.forget) is not None:
            for reason in SNAPSHOT_EVENTS:
                self.forget_told(reason, forget.snapshots.__contains__)
            self.forget_told("BackupMissed", forget.reportable)
        for deletion in decision.deletions:
            await snapshots.delete(client, ns, deletion.name)
            metrics.retention_deletions.labels(ns, self.name, str(deletion.reason)).inc()
            self.event("SnapshotDeleted", f"{deletion.name}: {deletion.detail}", now, once=deletion.name)
        for missed in decision.missed:
            self._report_missed(missed.occurrence, missed.why, now)
        for name in decision.abandon:
            await snapshots.delete(client, ns, name)
            self.event("SnapshotAbandoned", f"{name} was not ready when the window closed; deleted", now, once=name)

        async def create(request: Any) -> None:
            if await snapshots.create(client, ns, request, spec.volume_snapshot_class_name):
                metrics.snapshots.labels(ns, self.name, "created").inc()

        await asyncio.gather(*(create(r) for r in decision.create))
        self._retried = decision.retried
        for retry in decision.retry:
            metrics.snapshots.labels(ns, self.name, "failed").inc()
            # One Event per snapshot name: retries every RETRY_EVERY would otherwise flood the namespace.
            message = f"snapshot {retry.name} failed ({retry.error}); retrying"
            self.event("SnapshotFailed", message, now, warning=True, once=retry.name)
            await snapshots.delete(client, ns, retry.name)
        self._release(decision.snapshotting)
        if decision.saw_ready:
            self._retention_due = True
        for _ in decision.newly_ready:
            metrics.snapshots.labels(ns, self.name, "ready").inc()
        if decision.forget is not None:
            self._recorded = decision.recorded
        await self.write_status(decision.status)
        self._set_next_start(decision.next_start)

    def _set_next_start(self, start: datetime | None) -> None:
        """The databases this window selects show its next start: wake them when it changes."""
        if start == self._next_start:
            return
        self._next_start = start
        for db in self.runtime.database_runners.values():
            if db.namespace == self.namespace and self.selects(_labels(db.body)):
                db.wake()

    async def _validated(
        self, generation: int | None, now: datetime
    ) -> tuple[BackupWindowSpec, sched.WindowSchedule] | None:
        """The spec and its schedule, or None after reporting precisely what is wrong."""
        parsed = self.parse_spec(BackupWindowSpec)
        if isinstance(parsed, str):
            await self._invalid(parsed, generation, now)
            return None
        spec, ws = parsed
        if problem := await self._class_problem(spec.volume_snapshot_class_name, generation):
            await self._invalid(problem, generation, now)
            return None
        return spec, ws

    async def _with_listed_databases(self, known: dict[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
        """`known` and the namespace's listed selected databases: a run's end and a missed occurrence are reported
        once, and just after a start kopf may not have delivered every database yet (its watches are apart from
        the BackupWindows'), which would count too few."""
        listed = await objects.list_items(self.runtime.client, paths.custom(names.MANAGED_DATABASE, self.namespace))
        selected = {o["metadata"]["name"]: o for o in listed if self.selects(_labels(o))}
        return {**selected, **known}

    def _databases(self) -> dict[str, Mapping[str, Any]]:
        """Selected ManagedDatabases of the namespace (name -> object), from the database tasks' watch bodies."""
        return {
            db.name: db.body
            for db in self.runtime.database_runners.values()
            if db.namespace == self.namespace and self.selects(_labels(db.body))
        }

    def _report_missed(self, occ_id: str, why: str, now: datetime) -> None:
        if occ_id not in self._told.get("BackupMissed", ()):  # counted with its Event, once per occurrence
            metrics.missed_backups.labels(self.namespace, self.name).inc()
        self.event("BackupMissed", f"occurrence {occ_id}: backup missed: {why}", now, warning=True, once=occ_id)

    def _release(self, in_progress: frozenset[str]) -> None:
        """Tell MaintenanceWindows which databases have a snapshot running (they wait to restart those)."""
        mine = {(self.namespace, db, self.uid) for db in in_progress}
        stale = {k for k in self.runtime.snapshotting if k[2] == self.uid} - mine
        if stale or mine - self.runtime.snapshotting:
            self.runtime.snapshotting -= stale
            self.runtime.snapshotting |= mine
            self.runtime.wake_namespace_windows(self.namespace)

    async def _class_problem(self, name: str | None, generation: int | None) -> str | None:
        """A named VolumeSnapshotClass must exist (checked once per generation)."""
        if name is None:
            return None
        if self._checked_class == (generation, name):
            return None
        if not await snapshots.class_exists(self.runtime.client, name):
            return f"spec.volumeSnapshotClassName: VolumeSnapshotClass {name!r} does not exist in the cluster"
        self._checked_class = (generation, name)
        return None

    async def _invalid(self, message: str, generation: int | None, now: datetime) -> None:
        new_status = backup_status.backup_status(
            previous=self._status,
            generation=generation,
            upcoming=[],
            current=None,
            last_run=None,
            handled_through=None,
            missed=[],
            problem=message,
            now=now,
        )
        await self.write_status(new_status)
        self._set_next_start(None)
        self.forget_told("InvalidSpec", f"invalid{generation}".__eq__)  # the generation only grows
        self.event("InvalidSpec", message, now, warning=True, once=f"invalid{generation}")


def _labels(body: Mapping[str, Any]) -> Mapping[str, str]:
    return (body.get("metadata") or {}).get("labels") or {}
