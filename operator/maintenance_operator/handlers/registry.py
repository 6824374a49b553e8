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
from maintenance_operator.handlers.database_runner import DatabaseRunner, database_deleted
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
        settings.batching.batch_window = 0.05
        settings.watching.server_timeout = 300

    for kind, plural in (("Deployment", "deployments"), ("StatefulSet", "statefulsets")):
        _register_workload(registry, kind, plural)

    @kopf.on.event(names.GROUP, names.VERSION, names.PLURALS[names.MAINTENANCE_WINDOW], registry=registry)
    async def maintenance_window_event(
        type: str,
        body: kopf.Body,
        **kwargs: Any,
    ) -> None:
        runtime = rt.current()
        _ensure_indexes(runtime, kwargs)
        uid = body.metadata.uid
        if uid is None:
            return
        if type == "DELETED" or body.metadata.get("deletionTimestamp"):
            runner = runtime.windows.pop(uid, None)
            if isinstance(runner, WindowRunner):
                await runner.stop()
            return
        snapshot = dict(body)
        existing = runtime.windows.get(uid)
        if isinstance(existing, WindowRunner):
            existing.update(snapshot)
        else:
            runner = WindowRunner(runtime, snapshot)
            runtime.windows[uid] = runner
            runner.start()
        runtime.wake_databases(body.metadata.namespace or "")  # their status names the next window

    _register_databases(registry)

    @kopf.on.cleanup(registry=registry)
    async def shutdown(**_: Any) -> None:
        runtime = rt.current()
        for runner in list(runtime.windows.values()):
            if isinstance(runner, WindowRunner):
                await runner.stop()
        runtime.windows.clear()
        for db in list(runtime.databases.values()):
            if isinstance(db, DatabaseRunner):
                await db.stop()
        runtime.databases.clear()
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
        if type == "DELETED":
            self_service.forget(w.uid)
            return
        try:
            await self_service.on_workload(runtime, w, runtime.clock())
        except Exception as err:
            log.warning("%s/%s: self-service check failed: %s", w.namespace, w.ref, err)


def _ensure_indexes(runtime: rt.Runtime, kwargs: dict[str, Any]) -> None:
    """kopf passes its live indexes by handler id; they are complete before any event handler runs."""
    if not runtime.indexes:
        runtime.indexes = [kwargs[f"workloads_by_namespace_{k}"] for k in ("deployment", "statefulset")]


def _register_databases(registry: kopf.OperatorRegistry) -> None:
    @kopf.on.event(names.GROUP, names.VERSION, names.PLURALS[names.MANAGED_DATABASE], registry=registry)
    async def managed_database_event(type: str, body: kopf.Body, **kwargs: Any) -> None:
        runtime = rt.current()
        _ensure_indexes(runtime, kwargs)
        uid = body.metadata.uid
        if uid is None:
            return
        if type == "DELETED":
            runner = runtime.databases.pop(uid, None)
            if isinstance(runner, DatabaseRunner):
                await runner.stop()
                database_deleted(runtime, body)
            return
        existing = runtime.databases.get(uid)
        if isinstance(existing, DatabaseRunner):
            existing.update(dict(body))
        else:
            runner = DatabaseRunner(runtime, dict(body))
            runtime.databases[uid] = runner
            runner.start()
