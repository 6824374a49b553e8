"""Every kopf decorator of the operator, in one place; each delegates to a module that does the work.

kopf serves only the operator's own resources, with watch-event handlers alone: it then writes nothing to the
objects it watches (no finalizers, no progress annotations), so 100 idle windows cost no API writes. Workloads,
their revisions and snapshots come from the operator's own cache (`kube/cache.py`), not from kopf indexes.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from maintenance_operator.api import names
from maintenance_operator.handlers import runtime as rt
from maintenance_operator.handlers.announcement_runner import AnnouncementRunner
from maintenance_operator.handlers.backup_runner import BackupRunner, BackupTask
from maintenance_operator.handlers.cluster_backup_runner import ClusterBackupRunner
from maintenance_operator.handlers.cluster_window_runner import ClusterWindowRunner
from maintenance_operator.handlers.database_runner import DatabaseRunner, database_deleted
from maintenance_operator.handlers.task_loop import TaskLoop
from maintenance_operator.handlers.window_runner import WindowRunner
from maintenance_operator.kube.credentials import Credentials, read_token

log = logging.getLogger(__name__)


def build_registry(
    runtime: rt.Runtime,
    creds: Credentials,
    on_cleanup: Callable[[], Awaitable[None]],
    *,
    watch_timeout: int = 300,
) -> kopf.OperatorRegistry:
    """The handlers close over `runtime`: no process-global to install first. `on_cleanup` runs after every task
    has stopped, before the client closes (it releases the Lease and stops the cache)."""
    registry = kopf.OperatorRegistry()
    _register_login(registry, creds)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False  # our own Events carry precise reasons
        settings.peering.standalone = True
        settings.watching.server_timeout = watch_timeout

    _register_windows(registry, runtime)
    _register_databases(registry, runtime)
    _register_backups(registry, runtime)
    _register_cluster_backups(registry, runtime)
    _register_announcements(registry, runtime)
    _register_cleanup(registry, runtime, on_cleanup)
    return registry


def _register_login(registry: kopf.OperatorRegistry, creds: Credentials) -> None:
    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        """kopf calls this at start and again after any of its requests got a 401, so a token file is read here,
        each time: a rotated token is then what kopf retries with (it refuses to retry with the rejected one)."""
        token = creds.token
        if creds.token_path:
            try:
                token = read_token(creds.token_path) or token
            except OSError as err:
                log.warning("kopf login: cannot read the API token file %s (%s)", creds.token_path, err)
            log.info("kopf login: using the token in %s", creds.token_path)
        return kopf.ConnectionInfo(
            server=creds.server,
            ca_path=creds.ca_path,
            insecure=creds.insecure,
            scheme="Bearer" if token else None,
            token=token,
            certificate_path=creds.cert_path,
            private_key_path=creds.key_path,
            default_namespace=creds.namespace,
        )


def _register_announcements(registry: kopf.OperatorRegistry, runtime: rt.Runtime) -> None:
    @kopf.on.event(names.GROUP, names.VERSION, names.PLURALS[names.MAINTENANCE], registry=registry)
    async def maintenance_event(type: str, body: kopf.Body, **_: Any) -> None:
        task = runtime.announcement_runners.get(body.metadata.uid or "")
        deleted = await _track(runtime, runtime.announcement_runners, AnnouncementRunner, type, body)
        if deleted and isinstance(task, AnnouncementRunner):
            await task.withdraw()  # deleted, not the operator stopping: its nodes go back as found


def _register_cleanup(
    registry: kopf.OperatorRegistry, runtime: rt.Runtime, on_cleanup: Callable[[], Awaitable[None]]
) -> None:
    @kopf.on.cleanup(registry=registry)
    async def shutdown(**_: Any) -> None:
        for runner in list(runtime.window_runners.values()):
            if isinstance(runner, WindowRunner):
                await runner.stop()
        runtime.window_runners.clear()
        for task in [
            *runtime.database_runners.values(),
            *runtime.backup_runners.values(),
            *runtime.announcement_runners.values(),
        ]:
            if isinstance(task, DatabaseRunner | BackupTask | AnnouncementRunner):
                await task.stop()
        runtime.database_runners.clear()
        runtime.backup_runners.clear()
        runtime.announcement_runners.clear()
        await runtime.drain_background(timeout=5.0)
        await on_cleanup()
        await runtime.client.close()


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


def _register_windows(registry: kopf.OperatorRegistry, runtime: rt.Runtime) -> None:
    @kopf.on.event(names.GROUP, names.VERSION, names.PLURALS[names.MAINTENANCE_WINDOW], registry=registry)
    async def maintenance_window_event(type: str, body: kopf.Body, **_: Any) -> None:
        await _track(runtime, runtime.window_runners, WindowRunner, type, body)
        runtime.wake_databases(body.metadata.namespace or "")  # their status names the next window

    @kopf.on.event(names.GROUP, names.VERSION, names.PLURALS[names.CLUSTER_MAINTENANCE_WINDOW], registry=registry)
    async def cluster_maintenance_window_event(type: str, body: kopf.Body, **_: Any) -> None:
        await _track(runtime, runtime.window_runners, ClusterWindowRunner, type, body)


def _register_databases(registry: kopf.OperatorRegistry, runtime: rt.Runtime) -> None:
    @kopf.on.event(names.GROUP, names.VERSION, names.PLURALS[names.MANAGED_DATABASE], registry=registry)
    async def managed_database_event(type: str, body: kopf.Body, **_: Any) -> None:
        if await _track(runtime, runtime.database_runners, DatabaseRunner, type, body, stop_on_deleting=False):
            database_deleted(runtime, body)
        if runtime.announcements:  # they match a database by its own labels: its coverage may have changed
            runtime.wake_announcements()
            runtime.wake_namespace_windows(body.metadata.namespace or "")


def _register_backups(registry: kopf.OperatorRegistry, runtime: rt.Runtime) -> None:
    generations: dict[str, Any] = {}  # uid -> the generation last seen: its own status writes change nothing

    @kopf.on.event(names.GROUP, names.VERSION, names.PLURALS[names.BACKUP_WINDOW], registry=registry)
    async def backup_window_event(type: str, body: kopf.Body, **_: Any) -> None:
        await _track(runtime, runtime.backup_runners, BackupRunner, type, body)
        uid, generation = body.metadata.uid or "", body.metadata.get("generation")
        if type == "DELETED" or generations.get(uid) != generation:
            # The databases it selects may move to or from a cluster window.
            runtime.wake_cluster_backups()
        if type == "DELETED":
            generations.pop(uid, None)
        else:
            generations[uid] = generation


def _register_cluster_backups(registry: kopf.OperatorRegistry, runtime: rt.Runtime) -> None:
    """ClusterBackupWindows share `backup_runners` (namespace ""); each pass wakes the databases that joined or
    left it. A namespace's labels decide what the cluster windows handle: a change wakes them."""
    runtime.cache.namespace_listeners.append(runtime.backup_namespace_changed)

    @kopf.on.event(names.GROUP, names.VERSION, names.PLURALS[names.CLUSTER_BACKUP_WINDOW], registry=registry)
    async def cluster_backup_window_event(type: str, body: kopf.Body, **_: Any) -> None:
        await _track(runtime, runtime.backup_runners, ClusterBackupRunner, type, body)
