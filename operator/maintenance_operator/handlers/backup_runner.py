"""One task per BackupWindow: in each occurrence, a VolumeSnapshot of every selected database's data volume.

Snapshot names come from the database, the claim and the occurrence id, so a repeated pass (or a restarted
operator) never duplicates one. The window's status keeps the last run as `Running` until the occurrence is
finalized, so a crash between the end of a window and its report loses nothing; occurrences missed while the
operator was down are reported once (`handledThrough`). Snapshots are listed only while there is work.
"""

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.windows import BackupWindowSpec
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.scheduled import ScheduledWindow
from maintenance_operator.kube import objects, paths, snapshots, status
from maintenance_operator.kube.client import ApiError
from maintenance_operator.planning.backups import status as backup_status
from maintenance_operator.planning.backups.retention import RetentionPolicy, plan_retention
from maintenance_operator.planning.backups.snapshots import (
    DataVolume,
    SnapshotRecord,
    label_value,
    plan_snapshots,
    snapshot_name,
    snapshot_record,
)
from maintenance_operator.planning.catchup import catch_up
from maintenance_operator.planning.databases.manifests import data_claim_name
from maintenance_operator.planning.targets.workloads import Rollout
from maintenance_operator.planning.times import format_time, parse_time
from maintenance_operator.planning.windows import occurrence
from maintenance_operator.planning.windows import status as window_status
from maintenance_operator.planning.windows.occurrence import OpenOccurrence

log = logging.getLogger(__name__)

NO_SNAPSHOT_API = (
    f"the API server does not serve volumesnapshots.{names.SNAPSHOT_API_VERSION}: install the CSI snapshot CRDs "
    "and snapshot-controller (and a CSI driver that supports snapshots) to take backups"
)
RETRY_EVERY = timedelta(seconds=10)  # between attempts at a failed snapshot inside the window
SNAPSHOT_EVENTS = ("SnapshotFailed", "SnapshotAbandoned", "SnapshotDeleted")  # told once per snapshot name
PROGRESS_CHECK = timedelta(seconds=5)  # a safety net: snapshot watch events wake the task first


class BackupRunner(ScheduledWindow):
    kind = names.BACKUP_WINDOW

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        super().__init__(runtime, body)
        self._retried: dict[str, datetime] = {}  # failed snapshot -> its last retry, while RETRY_EVERY holds it back
        self._recorded: set[str] = set()  # snapshots written to their database's status, while they exist
        self._checked_class: tuple[int | None, str | None] | None = None
        self._retention_due = True

    async def stop(self) -> None:
        await super().stop()
        self._release(set())
        metrics.forget_backup_window(self.namespace, self.name)

    def wake_for_snapshots(self) -> None:
        self._retention_due = True
        self.wake()

    # -- the pass ------------------------------------------------------------------------------------------
    async def _pass(self) -> datetime | None:
        now = self.clock()
        generation = self.body["metadata"].get("generation")
        valid = await self._validated(generation, now)
        if valid is None:
            return None
        spec, ws = valid
        current = await self.current_occurrence(ws, now)
        state = sched.window_state(ws, now)
        databases = self._databases()
        previous_run = self._status.get("lastRun") or None
        finishing = (
            previous_run is not None
            and previous_run.get("result") == "Running"
            and (current is None or current.id != previous_run.get("occurrence"))
        )
        handled = parse_time(self._status.get("handledThrough")) or parse_time(
            self.body["metadata"].get("creationTimestamp")
        )
        latest = sched.previous_occurrence(ws, now)
        catch_up_due = latest is not None and latest.end <= now and (handled is None or latest.start > handled)
        if finishing or catch_up_due:
            databases = await self._with_listed_databases(databases)
        records: list[SnapshotRecord] = []
        if current is not None or finishing or catch_up_due or self._retention_due:
            try:
                listed = await snapshots.list_managed(self.runtime.client, self.namespace)
            except ApiError as err:
                if err.status != 404:
                    raise
                await self._invalid(NO_SNAPSHOT_API, generation, now)
                return now + RETRY_EVERY * 6  # the CRDs may be installed later
            records = [snapshot_record(o) for o in listed]
            self._forget_gone(ws, current, databases, records, handled, now)
            if self._retention_due:
                await self._retain(spec, databases, records, now)

        last_run: dict[str, Any] | None = None
        if finishing and previous_run is not None:
            last_run = await self._finish(previous_run["occurrence"], databases, records, now)
            if (start := sched.scheduled_start(previous_run["occurrence"])) is not None:
                handled = max(filter(None, [handled, start]))
        missed: list[str] = []
        if catch_up_due and handled is not None and latest is not None:
            missed = self._missed_while_down(ws, handled, records, now)
            handled = max(handled, latest.start)
            if missed:  # newer than a run finished above; a current occurrence's run replaces it below
                last_run = backup_status.missed_summary(missed[-1], len(databases), now)

        wake_at: list[datetime | None] = [state.next_change]
        if current is not None:
            last_run, retry_at = await self._work(
                current, occurrence.blocked_by(ws, state, current, now), databases, records, spec, now
            )
            wake_at += [current.end, retry_at]
        else:
            self._release(set())
        upcoming = sched.next_occurrences(ws, now, window_status.NEXT_SHOWN)
        await self._update_databases(databases, records, upcoming[0].start if upcoming else None, now)
        new_status = backup_status.backup_status(
            previous=self._status,
            generation=generation,
            upcoming=upcoming,
            current=current,
            last_run=last_run,
            handled_through=handled,
            missed=missed,
            problem=None,
            now=now,
        )
        await self.write_status(new_status)
        return min((t for t in wake_at if t is not None and t > now), default=None)

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

    def _forget_gone(
        self,
        ws: sched.WindowSchedule,
        current: OpenOccurrence | None,
        databases: Mapping[str, Mapping[str, Any]],
        records: list[SnapshotRecord],
        handled: datetime | None,
        now: datetime,
    ) -> None:
        """Forget snapshots and occurrences that can never be reported again, from a fresh list of the snapshots.

        A snapshot is reported (told, recorded) only while it is listed, and only an occurrence that is open (or
        may open again: the scheduled one a run-now interrupted), finishing (`lastRun`) or after `handledThrough`
        can create one or be reported missed.
        """
        opened = sched.open_occurrence(ws, now)
        live = {o for o in (current.id if current else None, opened.id if opened else None) if o}
        if (last := (self._status.get("lastRun") or {}).get("occurrence")) is not None:
            live.add(str(last))
        listed = {r.name for r in records}
        made = {snapshot_name(db, data_claim_name(db), o) for db in databases for o in live}
        for reason in SNAPSHOT_EVENTS:
            self.forget_told(reason, lambda name: name in listed or name in made)
        self._recorded &= listed

        def reportable(occurrence_id: str) -> bool:
            start = sched.id_start(occurrence_id)
            return occurrence_id in live or handled is None or start is None or start > handled

        self.forget_told("BackupMissed", reportable)

    def _missed_while_down(
        self, ws: sched.WindowSchedule, handled: datetime, records: list[SnapshotRecord], now: datetime
    ) -> list[str]:
        """Closed occurrences after `handled` that made no snapshot: reported missed, each once."""
        taken = {r.occurrence for r in records if r.window == label_value(self.name) and r.occurrence}
        decided = catch_up(ws, handled, taken, now)
        for passed in decided.missed:
            self._report_missed(passed.id, "the operator was not running during the window", now)
        return [o.id for o in decided.missed]

    async def _with_listed_databases(self, known: dict[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
        """`known` and the namespace's listed selected databases: a run's end and a missed occurrence are reported
        once, and just after a start kopf may not have delivered every database yet (its watches are apart from
        the BackupWindows'), which would count too few."""
        listed = await objects.list_items(self.runtime.client, paths.custom(names.MANAGED_DATABASE, self.namespace))
        selected = {
            o["metadata"]["name"]: o for o in listed if self.selects((o.get("metadata") or {}).get("labels") or {})
        }
        return {**selected, **known}

    def _databases(self) -> dict[str, Mapping[str, Any]]:
        """Selected ManagedDatabases of the namespace (name -> object), from the database tasks' watch bodies."""
        return {
            db.name: db.body
            for db in self.runtime.database_runners.values()
            if db.namespace == self.namespace and self.selects((db.body.get("metadata") or {}).get("labels") or {})
        }

    async def _work(
        self,
        current: OpenOccurrence,
        wait: sched.WindowReason | None,
        databases: Mapping[str, Mapping[str, Any]],
        records: list[SnapshotRecord],
        spec: BackupWindowSpec,
        now: datetime,
    ) -> tuple[dict[str, Any], datetime | None]:
        occ_id = current.id
        volumes, busy = [], set()
        for name in databases:
            live = self.runtime.workload("StatefulSet", self.namespace, name)
            if live is None:
                continue  # not created yet: it has no data volume to snapshot
            volumes.append(DataVolume(name, data_claim_name(name)))
            if live.rollout is not Rollout.COMPLETE:
                busy.add(name)
        step = plan_snapshots(volumes, self.name, occ_id, records, can_start=wait is None, busy=busy)
        client = self.runtime.client
        retry_at: datetime | None = None
        self._retried = {name: at for name, at in self._retried.items() if now - at < RETRY_EVERY}

        async def create(request: Any) -> None:
            if await snapshots.create(client, self.namespace, request, spec.volume_snapshot_class_name):
                metrics.snapshots.labels(self.namespace, self.name, "created").inc()

        await asyncio.gather(*(create(r) for r in step.create))
        for name in step.retry:
            last = self._retried.get(name)
            if last is not None and now - last < RETRY_EVERY:
                retry_at = min(filter(None, [retry_at, last + RETRY_EVERY]))
                continue
            self._retried[name] = now
            error = next((r.error for r in records if r.name == name), "")
            metrics.snapshots.labels(self.namespace, self.name, "failed").inc()
            # One Event per snapshot name: retries every RETRY_EVERY would otherwise flood the namespace.
            self.event("SnapshotFailed", f"snapshot {name} failed ({error}); retrying", now, warning=True, once=name)
            await snapshots.delete(client, self.namespace, name)
        in_progress = {r.database for r in step.create} | {
            rec.database for rec in records if rec.name in step.in_progress and rec.database
        }
        self._release(in_progress)
        if step.in_progress or step.create or step.retry:
            retry_at = min(filter(None, [retry_at, now + PROGRESS_CHECK]))
        if step.ready:
            self._retention_due = True
        summary = backup_status.run_summary(occ_id, step, closed=False, now=now)
        return summary, retry_at

    async def _finish(
        self, occ_id: str, databases: Mapping[str, Mapping[str, Any]], records: list[SnapshotRecord], now: datetime
    ) -> dict[str, Any]:
        """The occurrence closed: what has no ready snapshot is a missed backup, reported once.

        Its unfinished or failed attempts are deleted: left alone, the CSI sidecars would keep retrying them and
        take the snapshot outside the window, which is what windows exist to prevent.
        """
        volumes = [DataVolume(name, data_claim_name(name)) for name in databases]
        step = plan_snapshots(volumes, self.name, occ_id, records, can_start=False)
        summary = backup_status.run_summary(occ_id, step, closed=True, now=now)
        if summary["result"] != "Succeeded":
            ready = {r.database for r in records if r.occurrence == occ_id and r.usable}
            lacking = sorted(set(databases) - ready)
            self._report_missed(occ_id, f"no ready snapshot of {', '.join(lacking) or 'any database'}", now)
        for name in [*step.in_progress, *step.failed]:
            await snapshots.delete(self.runtime.client, self.namespace, name)
            self.event("SnapshotAbandoned", f"{name} was not ready when the window closed; deleted", now, once=name)
        return summary

    def _report_missed(self, occ_id: str, why: str, now: datetime) -> None:
        if occ_id not in self._told.get("BackupMissed", ()):  # counted with its Event, once per occurrence
            metrics.missed_backups.labels(self.namespace, self.name).inc()
        self.event("BackupMissed", f"occurrence {occ_id}: backup missed: {why}", now, warning=True, once=occ_id)

    def _release(self, in_progress: set[str]) -> None:
        """Tell MaintenanceWindows which databases have a snapshot running (they wait to restart those)."""
        mine = {(self.namespace, db, self.uid) for db in in_progress}
        stale = {k for k in self.runtime.snapshotting if k[2] == self.uid} - mine
        if stale or mine - self.runtime.snapshotting:
            self.runtime.snapshotting -= stale
            self.runtime.snapshotting |= mine
            self.runtime.wake_namespace_windows(self.namespace)

    async def _retain(
        self,
        spec: BackupWindowSpec,
        databases: Mapping[str, Mapping[str, Any]],
        records: list[SnapshotRecord],
        now: datetime,
    ) -> None:
        self._retention_due = False
        mine = label_value(self.name)
        chosen = [
            r
            for r in records
            if r.database in {label_value(d) for d in databases} and (r.window == mine or r.on_demand)
        ]
        for deletion in plan_retention(chosen, RetentionPolicy.from_spec(spec.retention), now):
            await snapshots.delete(self.runtime.client, self.namespace, deletion.name)
            metrics.retention_deletions.labels(self.namespace, self.name, str(deletion.reason)).inc()
            self.event("SnapshotDeleted", f"{deletion.name}: {deletion.detail}", now, once=deletion.name)

    async def _update_databases(
        self,
        databases: Mapping[str, Mapping[str, Any]],
        records: list[SnapshotRecord],
        next_backup: datetime | None,
        now: datetime,
    ) -> None:
        """Each database's status names its next backup window and its newest ready snapshot (lastBackup)."""
        for name, body in databases.items():
            current = body.get("status") or {}
            patch: dict[str, Any] = {}
            if next_backup is not None and current.get("nextBackupWindow") != format_time(next_backup):
                patch["nextBackupWindow"] = format_time(next_backup)
            ready = [r for r in records if r.database == label_value(name) and r.usable and r.created is not None]
            if ready:
                newest = max(ready, key=lambda r: r.created or now)
                assert newest.created is not None
                metrics.last_backup.labels(self.namespace, name).set(newest.created.timestamp())
                if (current.get("lastBackup") or {}).get(
                    "snapshot"
                ) != newest.name and newest.name not in self._recorded:
                    patch["lastBackup"] = {"time": format_time(newest.created), "snapshot": newest.name}
                    metrics.snapshots.labels(self.namespace, self.name, "ready").inc()
                    self._recorded.add(newest.name)
            if patch:
                await status.patch_status(self.runtime.client, names.MANAGED_DATABASE, self.namespace, name, patch)

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
        self.forget_told("InvalidSpec", f"invalid{generation}".__eq__)  # the generation only grows
        self.event("InvalidSpec", message, now, warning=True, once=f"invalid{generation}")
