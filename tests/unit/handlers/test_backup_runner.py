"""The BackupRunner is not a writer of ManagedDatabase status: it shows its next start (`next_start`, which the
database side reads) and wakes the databases it selects when that changes; against the fake API."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.backup_runner import BackupRunner
from maintenance_operator.handlers.runtime import Runtime
from tests.unit.handlers.fake_runtime import Clock, clock_of, fake_runtime, state_of
from tests.unit.handlers.test_backup_catch_up import backup_window

NS = "team-a"
GROUP = f"/apis/maintenance.ops.dev/v1alpha1/namespaces/{NS}"
SNAPSHOTS = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots"
STATEFULSETS = f"/apis/apps/v1/namespaces/{NS}/statefulsets"
START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # before the daily 13:00-14:00 occurrence


class Database:
    def __init__(self, name: str, labels: Mapping[str, str], namespace: str = NS) -> None:
        self.namespace, self.name, self.wakes = namespace, name, 0
        self.body: Mapping[str, Any] = {"metadata": {"name": name, "namespace": namespace, "labels": labels}}

    def wake(self) -> None:
        self.wakes += 1


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    async with fake_runtime(NS, Clock(START)) as rt:
        state = state_of(rt)
        state.collections[SNAPSHOTS] = {}
        state.put(f"{GROUP}/manageddatabases", {"metadata": {"name": "orders", "namespace": NS}})
        state.put(
            STATEFULSETS,
            {
                "metadata": {"name": "orders", "namespace": NS, "generation": 1},
                "spec": {"replicas": 1},
                "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1},
            },
        )
        await rt.cache.start()
        yield rt
    for family in (metrics.snapshots, metrics.missed_backups, metrics.retention_deletions):
        family.remove_by_labels({"namespace": NS})


def runner(rt: Runtime) -> BackupRunner:
    body = backup_window()
    state_of(rt).put(f"{GROUP}/backupwindows", body)
    return BackupRunner(rt, copy.deepcopy(body))


def finish_snapshots(rt: Runtime, at: datetime) -> None:
    for snapshot in state_of(rt).collections[SNAPSHOTS].values():
        snapshot.setdefault("status", {"readyToUse": True, "creationTime": at.strftime("%Y-%m-%dT%H:%M:%SZ")})


def ready_counted() -> float:
    return (
        REGISTRY.get_sample_value(
            "maintenance_backup_snapshots_total", {"namespace": NS, "window": "daily", "result": "ready"}
        )
        or 0.0
    )


def database_writes(rt: Runtime) -> list[tuple[str, str]]:
    return [(m, p) for m, p in state_of(rt).requests if "manageddatabases" in p and m != "GET"]


async def test_next_start_is_the_next_occurrence_and_wakes_only_the_selected_databases(runtime: Runtime) -> None:
    selected, other, elsewhere = (
        Database("orders", {"backup": "daily"}),
        Database("other", {}),
        Database("orders", {"backup": "daily"}, "team-b"),
    )
    runtime.database_runners.update({"uid-orders": selected, "uid-other": other, "uid-b": elsewhere})
    window = runner(runtime)
    assert window.next_start is None, "before the first pass"
    await window._pass()
    assert window.next_start == START + timedelta(hours=1)
    assert (selected.wakes, other.wakes, elsewhere.wakes) == (1, 0, 0)
    await window._pass()
    assert selected.wakes == 1, "unchanged: no wake"
    clock_of(runtime).at = START + timedelta(hours=1, minutes=5)  # open: the next start is tomorrow's
    await window._pass()
    assert window.next_start == START + timedelta(days=1, hours=1)
    assert selected.wakes == 2
    await window.stop()
    assert window.next_start is None and selected.wakes == 3, "a stopped window backs nothing up any more"


async def test_an_invalid_spec_has_no_next_start(runtime: Runtime) -> None:
    window = runner(runtime)
    await window._pass()
    assert window.next_start is not None
    window.body = {**window.body, "spec": {**window.body["spec"], "schedule": "not a schedule"}}
    await window._pass()
    assert window.next_start is None


async def test_a_backup_writes_no_database_status_and_counts_each_ready_snapshot_once(runtime: Runtime) -> None:
    runtime.database_runners["uid-orders"] = Database("orders", {"backup": "daily"})
    window, clock = runner(runtime), clock_of(runtime)
    for minutes in (65, 66, 67, 68):
        clock.at = START + timedelta(minutes=minutes)
        await window._pass()
        finish_snapshots(runtime, clock.at)
    clock.at = START + timedelta(hours=2, minutes=5)
    await window._pass()
    assert database_writes(runtime) == []
    assert len(state_of(runtime).collections[SNAPSHOTS]) == 1
    status = state_of(runtime).collections[f"{GROUP}/backupwindows"]["daily"]["status"]
    assert status["lastRun"]["result"] == "Succeeded"
    assert ready_counted() == 1


async def test_a_restarted_operator_does_not_count_a_backup_the_database_already_shows(runtime: Runtime) -> None:
    db = Database("orders", {"backup": "daily"})
    runtime.database_runners["uid-orders"] = db
    window, clock = runner(runtime), clock_of(runtime)
    clock.at = START + timedelta(minutes=65)
    await window._pass()
    finish_snapshots(runtime, clock.at)
    (name,) = state_of(runtime).collections[SNAPSHOTS]
    db.body = {**db.body, "status": {"lastBackup": {"snapshot": name}}}
    restarted = BackupRunner(runtime, copy.deepcopy(window.body))
    clock.at += timedelta(minutes=1)
    await restarted._pass()
    assert ready_counted() == 0
