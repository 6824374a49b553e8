"""One task per ManagedDatabase: own its StatefulSet, Services and Secret, and publish its status.

The StatefulSet always runs the version it runs now (read from the live object in the workload index); a
version change becomes pending maintenance on the StatefulSet's annotations, which the MaintenanceWindow then
installs in its window with the same single PATCH as any restart. Writes happen only when something changed.
"""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from maintenance_operator.api import names
from maintenance_operator.api.base import describe_errors
from maintenance_operator.api.database import ManagedDatabaseSpec
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.task_loop import TaskLoop
from maintenance_operator.kube import events, objects, paths, status
from maintenance_operator.kube.client import ApiError
from maintenance_operator.planning.databases import children, manifests, versions
from maintenance_operator.planning.databases.backups import last_backup
from maintenance_operator.planning.databases.engines import engine
from maintenance_operator.planning.databases.status import (
    NO_BACKUP_WINDOW,
    WindowSlot,
    database_status,
    image_version,
)
from maintenance_operator.planning.targets.workloads import Workload

log = logging.getLogger(__name__)

RESTORE_RETRY = timedelta(seconds=5)


class DatabaseRunner(TaskLoop):
    kind = names.MANAGED_DATABASE

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        super().__init__(runtime, body)
        self.ref = manifests.DatabaseRef(self.name, self.namespace, self.uid)
        self._applied: dict[str, Any] = {}  # path -> manifest last applied: re-apply only on a change
        self._secret_done = False
        self._claim_size: str | None = None  # the live StatefulSet's claim template size (immutable)
        self._sts_generation: int | None = None  # the StatefulSet's generation after our last apply
        self.phase = "Pending"
        self.engine_name = ""
        self.upgrade_pending = False
        self._labels: Mapping[str, str] | None = None  # as the last pass saw them

    async def stop(self) -> None:
        await super().stop()
        metrics.forget_database(self.namespace, self.name)
        metrics.forget_backup_configured(self.namespace, self.name)
        self.runtime.wake_cluster_backups()  # one database fewer to back up

    def _labels_seen(self) -> Mapping[str, str]:
        """Its labels; a change (or its first pass) wakes the cluster backup windows: they may handle it now."""
        labels: Mapping[str, str] = self.body["metadata"].get("labels") or {}
        if labels != self._labels:
            self._labels = dict(labels)
            self.runtime.wake_cluster_backups()
        return labels

    # -- the pass ------------------------------------------------------------------------------------------
    async def _pass(self) -> datetime | None:
        now = self.clock()
        generation = self.body["metadata"].get("generation")
        self._labels_seen()
        try:
            spec = ManagedDatabaseSpec.model_validate(self.body.get("spec") or {})
        except ValidationError as err:
            await self._fail("InvalidSpec", describe_errors(err), generation, now)
            return None
        if problem := manifests.name_problem(self.name):
            await self._fail("InvalidName", problem, generation, now)
            return None
        self.engine_name = spec.engine
        live = self.runtime.workload("StatefulSet", self.namespace, manifests.statefulset_name(self.name))
        running = image_version(live.image) if live is not None else None
        decision = versions.decide(spec.engine, running, spec.version)
        if live is None and isinstance(decision, versions.Refused):
            await self._fail(decision.reason.value, decision.message, generation, now, decision=decision)
            return None
        blocked = await self._restore(spec, now) if live is None and spec.restore_from is not None else None
        if blocked is None:
            version = self._version_to_run(spec, decision, live, running, generation, now)
            await self._reconcile_children(spec, version, decision, live, now)
            await self._grow_storage(spec, live, now)
        await self._publish(spec, generation, live, decision, blocked, now)
        return now + RESTORE_RETRY if blocked is not None else None

    def _version_to_run(
        self,
        spec: ManagedDatabaseSpec,
        decision: versions.VersionDecision,
        live: Workload | None,
        running: str | None,
        generation: int | None,
        now: datetime,
    ) -> str:
        """What the StatefulSet runs: what it runs now, unless an upgrade applies immediately (or it is new)."""
        if live is None:
            return decision.version if isinstance(decision, versions.Unchanged) else spec.version
        if isinstance(decision, versions.Refused):
            self.forget_told("VersionRefused", f"refused{generation}".__eq__)  # the generation only grows
            self.event("VersionRefused", decision.message, now, warning=True, once=f"refused{generation}")
        if isinstance(decision, versions.UpgradePending) and spec.apply_immediately:
            return decision.to_version
        return running or spec.version

    async def _publish(
        self,
        spec: ManagedDatabaseSpec,
        generation: int | None,
        live: Workload | None,
        decision: versions.VersionDecision,
        blocked: tuple[str, str] | None,
        now: datetime,
    ) -> None:
        """The status (this task is its one writer), the Events of its transitions, the metrics."""
        eng = engine(spec.engine)
        backup = last_backup(self.name, self.runtime.cache.snapshots(self.namespace), self._status.get("lastBackup"))
        labels = self.body["metadata"].get("labels") or {}
        backed_up = self.runtime.backup_handling(self.namespace, labels)
        new_status = database_status(
            previous=self._status,
            generation=generation,
            title=eng.title,
            live=live,
            decision=decision,
            apply_immediately=spec.apply_immediately,
            slot=self._window_slot(live),
            endpoint=manifests.endpoint(self.ref, spec.engine),
            problem=blocked,
            now=now,
            last_backup=backup,
            next_backup_window=self.runtime.next_backup_window(self.namespace, labels),
            backup=backed_up,
        )
        self._announce_transitions(new_status, eng.title, now)
        self._announce_backups(backed_up.configured, backed_up.why_none, now)
        metrics.backup_configured.labels(self.namespace, self.name).set(int(backed_up.configured))
        self.phase = new_status["phase"]
        self.upgrade_pending = isinstance(decision, versions.UpgradePending)
        metrics.set_database(self.namespace, self.name, spec.engine, self.phase, self.upgrade_pending)
        if backup is not None:
            metrics.last_backup.labels(self.namespace, self.name).set(backup.time.timestamp())
        await self.write_status(new_status)

    def _window_slot(self, live: Workload | None) -> WindowSlot | None:
        if live is None:
            return None
        found = self.runtime.window_for(self.namespace, live.labels)
        if found.window is None or found.occurrence is None:
            return None
        return WindowSlot(found.window, found.occurrence.start, suspended=found.suspended)

    async def _restore(self, spec: ManagedDatabaseSpec, now: datetime) -> tuple[str, str] | None:
        """Create the data volume from the snapshot before anything else; (reason, message) while it cannot be."""
        assert spec.restore_from is not None
        snapshot_name = spec.restore_from.volume_snapshot_name
        snapshot = await objects.get(self.runtime.client, paths.volume_snapshot(self.namespace, snapshot_name))
        message = children.restore_problem(self.namespace, snapshot_name, snapshot)
        if message is None:
            claim = manifests.restored_claim(self.ref, spec, snapshot_name)
            if await objects.create_once(self.runtime.client, claim):
                self.event("Restoring", f"data volume {claim['metadata']['name']} created from {snapshot_name}", now)
            return None
        self.event("RestoreBlocked", message, now, warning=True, once=f"restore{snapshot_name}")
        return (children.RESTORE_BLOCKED, message)

    async def _reconcile_children(
        self,
        spec: ManagedDatabaseSpec,
        version: str,
        decision: versions.VersionDecision,
        live: Workload | None,
        now: datetime,
    ) -> None:
        client = self.runtime.client
        if not self._secret_done:
            secret = manifests.secret(self.ref, spec.engine, manifests.random_password)
            if await objects.create_once(client, secret):
                self.event("CredentialsCreated", f"generated credentials in Secret {secret['metadata']['name']}", now)
            self._secret_done = True
        if live is not None and self._claim_size is None:
            current = await objects.get(client, paths.workload("StatefulSet", self.namespace, live.name)) or {}
            self._claim_size = children.template_claim_size(current)
        plan = children.decide(self.ref, spec, version, decision, live, self._claim_size, self.body["metadata"], now)
        for service in plan.services:
            await self._apply(service)
        if plan.database_annotations:
            await status.patch_annotations(client, self.kind, self.namespace, self.name, plan.database_annotations)
        self._claim_size = plan.claim_size
        sts_path = paths.for_manifest(plan.statefulset)
        created = live is None and sts_path not in self._applied
        if live is not None and live.generation != self._sts_generation:
            self._applied.pop(sts_path, None)  # changed by someone else: re-apply, correcting drift in our fields
        written = await self._apply(plan.statefulset)
        if written is not None:
            self._sts_generation = (written.get("metadata") or {}).get("generation")
        if created:
            image = engine(spec.engine).image_ref(version)
            self.event("Provisioning", f"StatefulSet {plan.statefulset['metadata']['name']} created with {image}", now)

    async def _apply(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """Server-side apply unless this exact manifest was applied last; returns the object when written."""
        path = paths.for_manifest(manifest)
        if self._applied.get(path) == manifest:
            return None
        written = await objects.apply(self.runtime.client, manifest)
        self._applied[path] = manifest
        return written

    async def _grow_storage(self, spec: ManagedDatabaseSpec, live: Workload | None, now: datetime) -> None:
        """The claim template cannot change: a larger size is applied to the data PVC, where the class allows it."""
        claim = children.claim_to_grow(self.ref, spec.storage.size, self._claim_size) if live is not None else None
        if claim is None:
            return
        path = paths.for_manifest(claim)
        if self._applied.get(path) == claim:
            return
        for reason in ("StorageNotExpanded", "StorageExpanding"):  # told once per apply of a new size
            self.forget_told(reason, f"grow{spec.storage.size}".__eq__)
        try:
            await objects.apply(self.runtime.client, claim)
        except ApiError as err:
            self.event(
                "StorageNotExpanded",
                f"cannot grow {path.rsplit('/', 1)[-1]}: {err.message}",
                now,
                warning=True,
                once=f"grow{spec.storage.size}",
            )
        else:
            self.event(
                "StorageExpanding",
                f"data volume requested at {spec.storage.size}",
                now,
                once=f"grow{spec.storage.size}",
            )
        self._applied[path] = claim

    def _announce_backups(self, configured: bool, why_none: str, now: datetime) -> None:
        """A Warning when BackupConfigured becomes False (its status says it was not False before), once until it
        is True again."""
        if configured:
            self.forget_told(NO_BACKUP_WINDOW, lambda _: False)
            return
        before = next(
            (c for c in self._status.get("conditions") or () if c.get("type") == names.CONDITION_BACKUP_CONFIGURED),
            None,
        )
        if before is None or before.get("status") != "False":
            self.event(NO_BACKUP_WINDOW, why_none, now, warning=True, once="no-backup")

    def _announce_transitions(self, new: Mapping[str, Any], title: str, now: datetime) -> None:
        before, after = self._status.get("currentVersion"), new.get("currentVersion")
        if after and before and after != before:
            # Seen again only while the status that says `after` is not written yet.
            self.forget_told("Upgraded", f"upgraded{after}".__eq__)
            self.event("Upgraded", f"{title} upgraded from {before} to {after}", now, once=f"upgraded{after}")
        if new.get("phase") == "Ready" and self._status.get("phase") != "Ready" and before is None:
            self.event("Ready", f"{title} {after} is ready at {new.get('endpoint')}", now, once="ready")

    async def _fail(
        self,
        reason: str,
        message: str,
        generation: int | None,
        now: datetime,
        decision: versions.VersionDecision | None = None,
    ) -> None:
        new_status = database_status(
            previous=self._status,
            generation=generation,
            title="database",
            live=None,
            decision=decision or versions.Refused(versions.Refusal.UNKNOWN_VERSION, message),
            apply_immediately=False,
            slot=None,
            endpoint="",
            problem=(reason, message),
            now=now,
        )
        self.phase = "Failed"
        await self.write_status(new_status)
        self.forget_told(reason, f"fail{generation}".__eq__)  # the generation only grows
        self.event(reason, message, now, warning=True, once=f"fail{generation}")


def database_deleted(runtime: Runtime, body: Mapping[str, Any]) -> None:
    """Say what happened to the data: the StatefulSet's retention policy keeps or deletes it with the owner."""
    meta = body.get("metadata") or {}
    name, namespace = meta.get("name", ""), meta.get("namespace", "")
    claim = manifests.data_claim_name(name)
    if (body.get("spec") or {}).get("onDelete") == "Delete":
        message = f"ManagedDatabase {name} deleted with its data volume {claim} (onDelete: Delete)"
    else:
        message = f"ManagedDatabase {name} deleted; its data volume {claim} is kept (onDelete: Retain)"
    involved = events.ref(names.API_VERSION, names.MANAGED_DATABASE, namespace, name, meta.get("uid", ""))
    runtime.spawn(events.emit(runtime.client, involved, "Deleted", message, runtime.clock()))
