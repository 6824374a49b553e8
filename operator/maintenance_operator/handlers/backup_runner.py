"""One task per BackupWindow: in each occurrence, a VolumeSnapshot of every selected database's data volume.

Snapshot names come from the database, the claim and the occurrence id, so a repeated pass (or a restarted
operator) never duplicates one. The window's status keeps the last run as `Running` until the occurrence is
finalized, so a crash between the end of a window and its report loses nothing; occurrences missed while the
operator was down are reported once (`handledThrough`). Snapshots are listed only while there is work. The
window writes only its own status: a database's `lastBackup`, `nextBackupWindow` and `BackupConfigured` are the
DatabaseRunner's, which reads `next_start` and `candidate` here.

`BackupScope` (`backup_scope.py`) is one namespace's part of a pass (gather, `planning.backups.decide`, apply all
but the status): a BackupWindow has one, a ClusterBackupWindow (`cluster_backup_runner`) one per namespace.
"""

import logging
from abc import abstractmethod
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.windows import BackupWindowSpec
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.backup_scope import BackupScope, labels_of
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.scheduled import ScheduledWindow
from maintenance_operator.kube import snapshots
from maintenance_operator.planning.backups import decide as backup_pass
from maintenance_operator.planning.backups import handling
from maintenance_operator.planning.backups import inputs as pass_inputs
from maintenance_operator.planning.backups import status as backup_status
from maintenance_operator.planning.backups.inputs import Look

log = logging.getLogger(__name__)

NO_SNAPSHOT_API = (
    f"the API server does not serve volumesnapshots.{names.SNAPSHOT_API_VERSION}: install the CSI snapshot CRDs "
    "and snapshot-controller (and a CSI driver that supports snapshots) to take backups"
)


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
