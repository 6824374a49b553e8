"""One task per BackupWindow: in each occurrence, a VolumeSnapshot of every selected database's data volume.

Snapshot names come from the database, the claim and the occurrence id, so a repeated pass (or a restarted
operator) never duplicates one. The window's status keeps the last run as `Running` until the occurrence is
finalized, so a crash between the end of a window and its report loses nothing; occurrences missed while the
operator was down are reported once (`handledThrough`). Snapshots are listed only while there is work. The
window writes only its own status: a database's `lastBackup`, `nextBackupWindow` and `BackupConfigured` are the
DatabaseRunner's, which reads `next_start` and `candidate` here.

`BackupScope` is one namespace's part of a pass (gather, `planning.backups.decide`, apply all but the status):
a BackupWindow has one, a ClusterBackupWindow (`cluster_backup_runner`) one per namespace it backs up.
"""

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.windows import BackupWindowSpec
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.scheduled import ScheduledWindow
from maintenance_operator.kube import objects, paths, snapshots
from maintenance_operator.kube.client import ApiError
from maintenance_operator.planning.backups import decide as backup_pass
from maintenance_operator.planning.backups import handling
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
MISSED = "BackupMissed"


class PassStart(NamedTuple):
    """A pass over a valid spec starts from these: the databases it backs up (`backed_up`: namespace -> name ->
    object; `uids`: their tasks')."""

    spec: BackupWindowSpec
    ws: sched.WindowSchedule
    lk: Look
    generation: int | None
    backed_up: dict[str, dict[str, Mapping[str, Any]]]
    uids: frozenset[str]


class BackupTask(ScheduledWindow):
    """What a BackupWindow and a ClusterBackupWindow task share: validation, the candidate the handling rule
    reads, and waking the databases it backs up when that set or its next start changes."""

    cluster = False

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        super().__init__(runtime, body)
        self._checked_class: tuple[int | None, str | None] | None = None
        self._next_start: datetime | None = None
        self._backed_up: frozenset[str] = frozenset()  # uids of the databases it backed up at its last pass
        self._problem: str | None = None  # why its spec is invalid, as its last pass found
        self._candidate: tuple[Mapping[str, Any], str | None, handling.BackupCandidate] | None = None

    @property
    def window_label(self) -> str:
        """Its identity in its snapshots' `maintenance.ops.dev/backup-window` label (retention and catch-up count
        only the snapshots labelled so)."""
        return self.name

    @property
    def next_start(self) -> datetime | None:
        """The start of the next occurrence as the last pass computed it (a database's `nextBackupWindow`); None
        while the spec is invalid or before the first pass."""
        return self._next_start

    @property
    def candidate(self) -> handling.BackupCandidate:
        """The window as `planning.backups.handling` sees it (parsed once per version of the spec)."""
        spec = self.body.get("spec") or {}
        cached = self._candidate
        if cached is None or cached[0] is not spec or cached[1] != self._problem:
            cached = (
                spec,
                self._problem,
                handling.candidate(self.name, spec, cluster=self.cluster, problem=self._problem),
            )
            self._candidate = cached
        return cached[2]

    @abstractmethod
    def backs_up(self, namespace: str, labels: Mapping[str, str]) -> bool:
        """Whether this window backs up a database of `namespace` with these labels."""

    async def stop(self) -> None:
        await super().stop()
        self._show(None, frozenset())

    def backed_up(self) -> tuple[dict[str, dict[str, Mapping[str, Any]]], frozenset[str]]:
        """The databases it backs up, from the database tasks' watch bodies: namespace -> name -> object, and
        their tasks' uids."""
        found: dict[str, dict[str, Mapping[str, Any]]] = {}
        uids = set()
        for uid, db in self.runtime.database_runners.items():
            if self.backs_up(db.namespace, labels_of(db.body)):
                found.setdefault(db.namespace, {})[db.name] = db.body
                uids.add(uid)
        return found, frozenset(uids)

    def _show(self, start: datetime | None, backed_up: frozenset[str]) -> None:
        """Wake the databases that joined or left it, and all of them when its next start changed: each shows
        whether it is backed up, by whom, and when next."""
        changed = backed_up ^ self._backed_up if start == self._next_start else backed_up | self._backed_up
        self._next_start, self._backed_up = start, backed_up
        for uid in changed:
            if (db := self.runtime.database_runners.get(uid)) is not None:
                db.wake()

    async def _pass(self) -> datetime | None:
        now = self.clock()
        generation = self.body["metadata"].get("generation")
        valid = await self._validated(generation, now)
        if valid is None:
            return None
        spec, ws = valid
        current = await self.current_occurrence(ws, now)  # recorded before its trigger is removed
        lk = pass_inputs.look(ws, self._status, self.body["metadata"].get("creationTimestamp"), current, now)
        backed_up, uids = self.backed_up()
        return await self._run(PassStart(spec, ws, lk, generation, backed_up, uids), now)

    @abstractmethod
    async def _run(self, p: PassStart, now: datetime) -> datetime | None:
        """The pass over a valid spec: the databases it backs up (`backed_up`, their tasks' `uids`) decided and
        applied, the status written; when to look again."""

    async def _validated(
        self, generation: int | None, now: datetime
    ) -> tuple[BackupWindowSpec, sched.WindowSchedule] | None:
        """The spec and its schedule, or None after reporting precisely what is wrong."""
        parsed = self.parse_spec(handling.spec_model(cluster=self.cluster))
        if isinstance(parsed, str):
            await self._invalid(parsed, generation, now)
            return None
        spec, ws = parsed
        problem = handling.candidate(self.name, self.body.get("spec") or {}, cluster=self.cluster).problem
        if problem or (problem := await self._class_problem(spec.volume_snapshot_class_name, generation)):
            await self._invalid(problem, generation, now)
            return None
        if self._problem is not None:
            self._problem = None
            self.runtime.wake_cluster_backups()  # a valid BackupWindow takes its databases from the cluster's
        return spec, ws

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

    async def _invalid(self, message: str, generation: int | None, now: datetime, *, spec_problem: bool = True) -> None:
        """Ready=False with `message`; with `spec_problem` the window backs up nothing until its spec is fixed (a
        missing snapshot API is no fault of the spec: its databases stay its own)."""
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
        if spec_problem and self._problem != message:
            self._problem = message
            self.runtime.wake_cluster_backups()  # a BackupWindow's databases may move to a cluster window
        self._show(None, frozenset())
        self.forget_told("InvalidSpec", f"invalid{generation}".__eq__)  # the generation only grows
        self.event("InvalidSpec", message, now, warning=True, once=f"invalid{generation}")


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


class BackupRunner(BackupTask):
    """Gathers a pass's inputs, lets `planning.backups.decide` decide, applies the Decision."""

    kind = names.BACKUP_WINDOW

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        super().__init__(runtime, body)
        self._scope = BackupScope(self, self.namespace)

    def backs_up(self, namespace: str, labels: Mapping[str, str]) -> bool:
        return namespace == self.namespace and self._problem is None and self.selects(labels)

    async def stop(self) -> None:
        await super().stop()
        self._scope.release(frozenset())
        metrics.forget_backup_window(self.namespace, self.name)

    async def _run(self, p: PassStart, now: datetime) -> datetime | None:
        spec, ws, lk, generation, backed_up, uids = p
        decision = await self._scope.decide(spec, ws, lk, generation, backed_up.get(self.namespace, {}), now)
        if decision is None:
            await self._invalid(NO_SNAPSHOT_API, generation, now, spec_problem=False)
            return now + backup_pass.RETRY_EVERY * 6  # the CRDs may be installed later
        await self._scope.apply(decision, spec, now)
        await self.write_status(decision.status)
        self._show(decision.next_start, uids)
        return decision.wake_at


def labels_of(body: Mapping[str, Any]) -> Mapping[str, str]:
    return (body.get("metadata") or {}).get("labels") or {}
