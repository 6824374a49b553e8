"""A ManagedDatabase's task is the one writer of its status, backups included: `lastBackup` from the snapshot
cache, `nextBackupWindow` from the BackupWindows that select it; against the fake API."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from maintenance_operator.api import names
from maintenance_operator.api.database import ManagedDatabaseSpec
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.cache_events import CacheEvents
from maintenance_operator.handlers.database_runner import DatabaseRunner
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.planning.backups import handling
from maintenance_operator.planning.databases import manifests
from maintenance_operator.planning.times import format_time
from tests.unit.handlers.fake_runtime import fake_runtime, state_of, until
from tests.unit.kube.fake_api import FakeState
from tests.unit.planning.factories import statefulset_status

NS = "unit-test-db-backups"
DATABASES = f"/apis/maintenance.ops.dev/v1alpha1/namespaces/{NS}/manageddatabases"
STATUS = f"{DATABASES}/orders/status"
SNAPSHOTS = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
NEXT = datetime(2026, 12, 2, 3, tzinfo=UTC)
GAUGE = "maintenance_backup_last_success_timestamp_seconds"
BODY: dict[str, Any] = {
    "apiVersion": names.API_VERSION,
    "kind": names.MANAGED_DATABASE,
    "metadata": {"name": "orders", "namespace": NS, "uid": "uid-orders", "generation": 1, "labels": {"tier": "a"}},
    "spec": {"engine": "postgresql", "version": "16.4", "storage": {"size": "1Gi"}},
}


class BackupWindowStub:
    """What a BackupWindow task shows the databases: whom it selects and when it next starts."""

    def __init__(self, name: str, next_start: datetime | None, tier: str = "a") -> None:
        self.namespace, self.name, self.tier = NS, name, tier
        self._next_start = next_start

    @property
    def candidate(self) -> handling.BackupCandidate:
        return handling.BackupCandidate(self.name, {"matchLabels": {"tier": self.tier}})

    @property
    def next_start(self) -> datetime | None:
        return self._next_start

    def wake(self) -> None:
        pass


def snapshot(name: str, created: datetime, *, ready: bool = True, failed: bool = False) -> dict[str, Any]:
    labels = {names.LABEL_MANAGED_BY: names.MANAGED_BY_VALUE, names.LABEL_DATABASE: "orders"}
    status: dict[str, Any] = {"readyToUse": ready, "creationTime": format_time(created)}
    if failed:
        status["error"] = {"message": "disk on fire"}
    return {"metadata": {"name": name, "namespace": NS, "labels": labels}, "status": status}


def children(state: FakeState) -> None:
    """The database's Services and its running StatefulSet, as a previous pass left them."""
    ref = manifests.DatabaseRef("orders", NS, "uid-orders")
    spec = ManagedDatabaseSpec.model_validate(BODY["spec"])
    sts = manifests.statefulset(ref, spec, "16.4")
    sts["metadata"].update(generation=1)
    sts["status"] = statefulset_status()
    for manifest in (sts, manifests.headless_service(ref, "postgresql"), manifests.client_service(ref, "postgresql")):
        state.put(manifests_collection(manifest), manifest)


def manifests_collection(manifest: Mapping[str, Any]) -> str:
    plural = {"StatefulSet": "statefulsets", "Service": "services"}[manifest["kind"]]
    group = "/apis/apps/v1" if manifest["kind"] == "StatefulSet" else "/api/v1"
    return f"{group}/namespaces/{NS}/{plural}"


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    state = FakeState()
    state.put(DATABASES, copy.deepcopy(BODY))
    children(state)
    state.put(SNAPSHOTS, snapshot("orders-data-1", NOW - timedelta(days=2)))
    state.put(SNAPSHOTS, snapshot("orders-data-2", NOW - timedelta(days=1)))
    state.put(SNAPSHOTS, snapshot("orders-data-3", NOW - timedelta(hours=1), ready=True, failed=True))
    async with fake_runtime(NS, lambda: NOW, state=state) as rt:
        rt.backup_runners["uid-later"] = BackupWindowStub("later", NEXT + timedelta(days=1))
        rt.backup_runners["uid-daily"] = BackupWindowStub("daily", NEXT)
        rt.backup_runners["uid-invalid"] = BackupWindowStub("invalid", None)
        rt.backup_runners["uid-other"] = BackupWindowStub("other", NOW, tier="b")  # does not select it
        await rt.cache.start()
        await asyncio.wait_for(rt.cache.synced.wait(), 2)
        yield rt
    metrics.forget_database(NS, "orders")


def status_patches(state: FakeState) -> list[Any]:
    return [s.body for s in state.sent if s.method == "PATCH" and s.path == STATUS]


async def test_the_database_task_writes_its_newest_usable_snapshot_and_next_backup_window(runtime: Runtime) -> None:
    state = state_of(runtime)
    runner = DatabaseRunner(runtime, copy.deepcopy(BODY))
    await runner._pass()
    written = state.collections[DATABASES]["orders"]["status"]
    assert written["lastBackup"] == {"time": format_time(NOW - timedelta(days=1)), "snapshot": "orders-data-2"}
    assert written["nextBackupWindow"] == format_time(NEXT)
    assert written["phase"] == "Ready"
    assert len(status_patches(state)) == 1, "one writer, one write"
    sample = REGISTRY.get_sample_value(GAUGE, {"namespace": NS, "database": "orders"})
    assert sample == (NOW - timedelta(days=1)).timestamp()
    await runner._pass()
    assert len(status_patches(state)) == 1, "nothing changed: nothing written"
    await runner.stop()
    assert REGISTRY.get_sample_value(GAUGE, {"namespace": NS, "database": "orders"}) is None, "deleted: no series"


async def test_a_new_snapshot_in_the_cache_wakes_the_database_task(runtime: Runtime) -> None:
    state = state_of(runtime)
    CacheEvents(runtime).subscribe()
    runner = DatabaseRunner(runtime, copy.deepcopy(BODY))
    runtime.database_runners[runner.uid] = runner
    runtime.acting.set()
    runner.start()
    try:
        await until(lambda: "lastBackup" in (state.collections[DATABASES]["orders"].get("status") or {}))
        state.emit(SNAPSHOTS, "ADDED", snapshot("orders-data-4", NOW - timedelta(minutes=5)))

        def newest() -> Any:
            return state.collections[DATABASES]["orders"]["status"]["lastBackup"]["snapshot"]

        await until(lambda: newest() == "orders-data-4")
    finally:
        await runner.stop()


class Counting:
    def __init__(self, name: str) -> None:
        self.namespace, self.name, self.woken = NS, name, 0
        self.body: Mapping[str, Any] = {}

    def wake(self) -> None:
        self.woken += 1


def test_a_snapshot_wakes_only_its_own_database(runtime: Runtime) -> None:
    """200 databases in a namespace and a backup burst: each snapshot event wakes one task, not all 200."""
    orders, users = Counting("orders"), Counting("users")
    runtime.database_runners.update({"uid-orders": orders, "uid-users": users})
    runtime.wake_database_of_snapshot(NS, "orders")
    runtime.wake_database_of_snapshot(NS, None)
    runtime.wake_database_of_snapshot("elsewhere", "users")
    assert (orders.woken, users.woken) == (1, 0)
