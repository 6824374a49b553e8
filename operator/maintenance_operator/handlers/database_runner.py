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
from maintenance_operator.planning.databases import manifests, versions
from maintenance_operator.planning.databases.engines import engine
from maintenance_operator.planning.databases.quantities import parse_quantity
from maintenance_operator.planning.databases.status import (
    WindowSlot,
    announced_done,
    database_status,
    image_version,
    maintenance_annotations,
)
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.times import format_time, parse_time

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

    async def stop(self) -> None:
        await super().stop()
        metrics.forget_database(self.namespace, self.name)

    # -- the pass ------------------------------------------------------------------------------------------
    async def _pass(self) -> datetime | None:
        now = self.clock()
        body = self.body
        generation = body["metadata"].get("generation")
        try:
            spec = ManagedDatabaseSpec.model_validate(body.get("spec") or {})
        except ValidationError as err:
            await self._fail("InvalidSpec", describe_errors(err), generation, now)
            return None
        if problem := manifests.name_problem(self.name):
            await self._fail("InvalidName", problem, generation, now)
            return None
        self.engine_name = spec.engine
        eng = engine(spec.engine)
        sts_name = manifests.statefulset_name(self.name)
        live = self.runtime.workload("StatefulSet", self.namespace, sts_name)
        running = image_version(live.image) if live is not None else None
        decision = versions.decide(spec.engine, running, spec.version)
        retry_at: datetime | None = None
        blocked: tuple[str, str] | None = None

        if live is None:
            if isinstance(decision, versions.Refused):
                await self._fail(decision.reason.value, decision.message, generation, now, decision=decision)
                return None
            version = decision.version if isinstance(decision, versions.Unchanged) else spec.version
            if spec.restore_from is not None:
                blocked = await self._restore(spec, now)
                if blocked is not None:
                    retry_at = now + RESTORE_RETRY
        else:
            version = running or spec.version
            if isinstance(decision, versions.UpgradePending) and spec.apply_immediately:
                version = decision.to_version
            if isinstance(decision, versions.Refused):
                self.forget_told("VersionRefused", f"refused{generation}".__eq__)  # the generation only grows
                self.event("VersionRefused", decision.message, now, warning=True, once=f"refused{generation}")

        if blocked is None:
            await self._reconcile_children(spec, version, decision, live, now)
            await self._grow_storage(spec, live, now)
        slot = self._window_slot(live)
        new_status = database_status(
            previous=self._status,
            generation=generation,
            title=eng.title,
            live=live,
            decision=decision,
            apply_immediately=spec.apply_immediately,
            slot=slot,
            endpoint=manifests.endpoint(self.ref, spec.engine),
            problem=blocked,
            now=now,
        )
        self._announce_transitions(new_status, eng.title, now)
        self.phase = new_status["phase"]
        self.upgrade_pending = isinstance(decision, versions.UpgradePending)
        metrics.set_database(self.namespace, self.name, spec.engine, self.phase, self.upgrade_pending)
        await self.write_status(new_status)
        return retry_at

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
        if snapshot is None:
            message = f"VolumeSnapshot {snapshot_name} not found in namespace {self.namespace}; nothing was created"
        elif not (snapshot.get("status") or {}).get("readyToUse"):
            message = f"VolumeSnapshot {snapshot_name} is not readyToUse yet; nothing was created"
        else:
            claim = manifests.restored_claim(self.ref, spec, snapshot_name)
            if await objects.create_once(self.runtime.client, claim):
                self.event("Restoring", f"data volume {claim['metadata']['name']} created from {snapshot_name}", now)
            return None
        self.event("RestoreBlocked", message, now, warning=True, once=f"restore{snapshot_name}")
        return ("RestoreSnapshotNotReady", message)

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
        for service in (
            manifests.headless_service(self.ref, spec.engine),
            manifests.client_service(self.ref, spec.engine),
        ):
            await self._apply(service)

        if live is not None and self._claim_size is None:
            current = await objects.get(client, paths.workload("StatefulSet", self.namespace, live.name)) or {}
            templates = (current.get("spec") or {}).get("volumeClaimTemplates") or [{}]
            self._claim_size = (
                ((templates[0].get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")
            )
        sts = manifests.statefulset(self.ref, spec, version, claim_size=self._claim_size)
        meta = sts["metadata"]
        user_labels = self.body["metadata"].get("labels") or {}
        # The database's own labels on its StatefulSet: a window selecting the database selects this.
        meta["labels"] = {**user_labels, **meta["labels"]}
        db_annotations = self.body["metadata"].get("annotations") or {}
        db_required = (db_annotations.get(names.ANNOTATION_REQUIRED) or "").strip() or None
        db_since = parse_time(db_annotations.get(names.ANNOTATION_REQUIRED_SINCE))
        if db_required and db_since is None:
            await status.patch_annotations(
                client, self.kind, self.namespace, self.name, {names.ANNOTATION_REQUIRED_SINCE: format_time(now)}
            )
            db_since = now
        completed = parse_time(db_annotations.get(names.ANNOTATION_COMPLETED_AT))
        if (
            db_required
            and announced_done(live, db_since)
            and (completed is None or (db_since and completed < db_since))
        ):
            # Recorded on the database too, so `kubectl maintenance dbs` (which reads only it) sees it done.
            assert live is not None
            done = {
                names.ANNOTATION_COMPLETED_AT: format_time(now),
                names.ANNOTATION_COMPLETED_BY: live.restarted_by or "self-service",
            }
            await status.patch_annotations(client, self.kind, self.namespace, self.name, dict(done))
        annotations = maintenance_annotations(
            decision, spec.apply_immediately, db_required, db_since, live, spec.engine, now
        )
        if annotations:
            meta["annotations"] = annotations
        if live is None:
            self._claim_size = spec.storage.size
        sts_path = paths.for_manifest(sts)
        created = live is None and sts_path not in self._applied
        if live is not None and live.generation != self._sts_generation:
            self._applied.pop(sts_path, None)  # changed by someone else: re-apply, correcting drift in our fields
        written = await self._apply(sts)
        if written is not None:
            self._sts_generation = (written.get("metadata") or {}).get("generation")
        if created:
            self.event(
                "Provisioning", f"StatefulSet {meta['name']} created with {engine(spec.engine).image_ref(version)}", now
            )

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
        if live is None or self._claim_size is None:
            return
        wanted, have = parse_quantity(spec.storage.size), parse_quantity(self._claim_size)
        if wanted is None or have is None or wanted <= have:
            return
        claim = manifests.claim_resize(self.ref, spec.storage.size)
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
