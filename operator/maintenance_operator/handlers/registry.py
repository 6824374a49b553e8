"""Every kopf decorator of the operator, in one place; each delegates to a module that does the work.

Only watch-event and index handlers: kopf then writes nothing to the objects it watches (no finalizers, no
progress annotations), so 100 idle windows and thousands of workloads cost no API writes.
"""

import logging
from typing import Any

import kopf

from maintenance_operator.api import names
from maintenance_operator.handlers import runtime as rt
from maintenance_operator.handlers import self_service
from maintenance_operator.handlers.backup_runner import BackupRunner
from maintenance_operator.handlers.database_runner import DatabaseRunner, database_deleted
from maintenance_operator.handlers.task_loop import TaskLoop
from maintenance_operator.handlers.window_runner import WindowRunner
from maintenance_operator.kube.credentials import Credentials
from maintenance_operator.planning.workloads import Workload, workload_from_object

log = logging.getLogger(__name__)


def build_registry(creds: Credentials) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(
            server=creds.server,
            ca_path=creds.ca_path,
            insecure=creds.insecure,
            scheme="Bearer" if creds.token else None,
            token=creds.token,
            certificate_path=creds.cert_path,
            private_key_path=creds.key_path,
            default_namespace=creds.namespace,
        )

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False  # our own Events carry precise reasons
        settings.peering.standalone = True
        settings.watching.server_timeout = 300

    for kind, plural in (("Deployment", "deployments"), ("StatefulSet", "statefulsets")):
        _register_workload(registry, kind, plural)

    @kopf.on.event(names.GROUP, names.VERSION, names.PLURALS[names.MAINTENANCE_WINDOW], registry=registry)
    async def maintenance_window_event(type: str, body: kopf.Body, **kwargs: Any) -> None:
        runtime = rt.current()
        _ensure_indexes(runtime, kwargs)
        await _track(runtime, runtime.windows, WindowRunner, type, body)
        runtime.wake_databases(body.metadata.namespace or "")  # their status names the next window

    _register_databases(registry)
    _register_backups(registry)

    @kopf.on.cleanup(registry=registry)
    async def shutdown(**_: Any) -> None:
        runtime = rt.current()
        for runner in list(runtime.windows.values()):
            if isinstance(runner, WindowRunner):
                await runner.stop()
        runtime.windows.clear()
        for task in [*runtime.databases.values(), *runtime.backups.values()]:
            if isinstance(task, DatabaseRunner | BackupRunner):
                await task.stop()
        runtime.databases.clear()
        runtime.backups.clear()
        await runtime.client.close()

    return registry


def _register_workload(registry: kopf.OperatorRegistry, kind: str, plural: str) -> None:
    @kopf.index("apps", "v1", plural, id=f"workloads_by_namespace_{kind.lower()}", registry=registry)
    def index(body: kopf.Body, **_: Any) -> dict[str, Workload]:
        """Namespace -> slim workload: windows pick their targets from here, no LIST per occurrence."""
        return {body.metadata.namespace or "": workload_from_object(kind, body)}

    @kopf.on.event("apps", "v1", plural, id=f"{kind.lower()}_event", registry=registry)
    async def event(
        type: str,
        body: kopf.Body,
        **_: Any,
    ) -> None:
        runtime = rt.current()
        w = workload_from_object(kind, body)
        runtime.wake_windows(w.namespace, [w.labels])
        if database := w.labels.get(names.LABEL_DATABASE):
            runtime.wake_databases(w.namespace, database)
            runtime.wake_namespace_backups(w.namespace)  # a snapshot may wait for this rollout to finish
        if type == "DELETED":
            self_service.forget(w.uid)
            return
        try:
            await self_service.on_workload(runtime, w, runtime.clock())
        except Exception as err:
            log.warning("%s/%s: self-service check failed: %s", w.namespace, w.ref, err)


async def _track(
    runtime: rt.Runtime,
    tasks: dict[str, Any],
    factory: type[TaskLoop],
    event_type: str,
    body: kopf.Body,
    *,
    stop_on_deleting: bool = True,
) -> bool:
    """One task per resource: start it, hand it each new version, stop it when the resource goes.

    Returns True when a task was stopped because its resource was deleted.
    """
    uid = body.metadata.uid
    if uid is None:
        return False
    if event_type == "DELETED" or (stop_on_deleting and body.metadata.get("deletionTimestamp")):
        task = tasks.pop(uid, None)
        if isinstance(task, TaskLoop):
            await task.stop()
            return True
        return False
    existing = tasks.get(uid)
    if isinstance(existing, TaskLoop):
        existing.update(dict(body))
    else:
        task = factory(runtime, dict(body))
        tasks[uid] = task
        task.start()
    return False


def _ensure_indexes(runtime: rt.Runtime, kwargs: dict[str, Any]) -> None:
    """kopf passes its live indexes by handler id; they are complete before any event handler runs."""
    if not runtime.indexes:
        runtime.indexes = [kwargs[f"workloads_by_namespace_{k}"] for k in ("deployment", "statefulset")]


def _register_databases(registry: kopf.OperatorRegistry) -> None:
    @kopf.on.event(names.GROUP, names.VERSION, names.PLURALS[names.MANAGED_DATABASE], registry=registry)
    async def managed_database_event(type: str, body: kopf.Body, **kwargs: Any) -> None:
        runtime = rt.current()
        _ensure_indexes(runtime, kwargs)
        if await _track(runtime, runtime.databases, DatabaseRunner, type, body, stop_on_deleting=False):
            database_deleted(runtime, body)


def _register_backups(registry: kopf.OperatorRegistry) -> None:
    @kopf.on.event(names.GROUP, names.VERSION, names.PLURALS[names.BACKUP_WINDOW], registry=registry)
    async def backup_window_event(type: str, body: kopf.Body, **kwargs: Any) -> None:
        runtime = rt.current()
        _ensure_indexes(runtime, kwargs)
        await _track(runtime, runtime.backups, BackupRunner, type, body)

    # Only the operator's own snapshots; if the snapshot CRDs are not installed, kopf serves this once they are.
    @kopf.on.event(
        names.SNAPSHOT_API_GROUP,
        "v1",
        "volumesnapshots",
        labels={names.LABEL_MANAGED_BY: names.MANAGED_BY_VALUE},
        registry=registry,
    )
    async def snapshot_event(body: kopf.Body, **_: Any) -> None:
        for runner in rt.current().backups.values():
            if isinstance(runner, BackupRunner) and runner.namespace == body.metadata.namespace:
                runner.wake_for_snapshots()
