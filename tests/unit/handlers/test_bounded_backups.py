"""Months of daily backups keep a BackupWindow's memory bounded (issue 13): the snapshots it recorded, the
snapshot Events it told once and the missed occurrences it reported are forgotten once they are gone, and none is
told or counted twice; against the fake API."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.backup_runner import BackupRunner
from maintenance_operator.handlers.runtime import Runtime
from tests.unit.handlers.fake_runtime import Clock, fake_runtime, state_of
from tests.unit.handlers.test_backup_catch_up import backup_window as daily
from tests.unit.handlers.test_bounded_windows import event_posts
from tests.unit.kube.fake_api import FakeState

NS = "unit-test-bounded"
GROUP = f"/apis/maintenance.ops.dev/v1alpha1/namespaces/{NS}"
STATEFULSETS = f"/apis/apps/v1/namespaces/{NS}/statefulsets"
SNAPSHOTS = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots"
EVENTS = f"/api/v1/namespaces/{NS}/events"
DATABASES = ("orders", "users", "stock")
FIRST = datetime(2026, 12, 1, tzinfo=UTC)


class Database:
    """What a ManagedDatabase task shows a BackupWindow: its body (whose status never catches up here)."""

    def __init__(self, name: str) -> None:
        self.namespace, self.name = NS, name
        self.body: Mapping[str, Any] = {"metadata": {"name": name, "namespace": NS, "labels": {"backup": "daily"}}}

    def wake(self) -> None:
        pass


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    state = FakeState()
    async with fake_runtime(NS, Clock(FIRST), state=state) as rt:
        await _databases(rt, state)
        yield rt
    for family in (metrics.snapshots, metrics.missed_backups, metrics.retention_deletions):
        family.remove_by_labels({"namespace": NS})
    metrics.last_backup.remove_by_labels({"namespace": NS})


async def _databases(rt: Runtime, state: FakeState) -> None:
    for name in DATABASES:
        state.put(f"{GROUP}/manageddatabases", {"metadata": {"name": name, "namespace": NS}})
        state.put(
            STATEFULSETS,
            {
                "metadata": {"name": name, "namespace": NS, "generation": 1},
                "spec": {"replicas": 1},
                "status": {
                    "observedGeneration": 1,
                    "replicas": 1,
                    "updatedReplicas": 1,
                    "readyReplicas": 1,
                    "currentRevision": "r1",
                    "updateRevision": "r1",
                },
            },
        )
        rt.database_runners[f"uid-{name}"] = Database(name)
    state.collections[SNAPSHOTS] = {}
    await rt.cache.start()
    await asyncio.wait_for(rt.cache.synced.wait(), 2)


def backup_window(rt: Runtime) -> BackupRunner:
    """The daily window of the catch-up test, here with retention and created on the first day."""
    body = daily()
    body["metadata"].update(namespace=NS, creationTimestamp="2026-12-01T00:00:00Z")
    body["spec"]["retention"] = {"keepLast": 2}
    state_of(rt).put(f"{GROUP}/backupwindows", body)
    return BackupRunner(rt, copy.deepcopy(body))


def told(state: FakeState, reason: str) -> list[str]:
    return [e["message"] for e in state.collections.get(EVENTS, {}).values() if e["reason"] == reason]


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"namespace": NS, "window": "daily", **labels}) or 0.0


def finish_snapshots(state: FakeState, at: datetime, *, fail: bool) -> None:
    for snapshot in state.collections[SNAPSHOTS].values():
        if "status" not in snapshot:
            ready = {"readyToUse": True, "creationTime": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
            snapshot["status"] = {"readyToUse": False, "error": {"message": "disk on fire"}} if fail else ready


async def a_day(rt: Runtime, runner: BackupRunner, day: int, *, fail: bool) -> None:
    """One daily occurrence: snapshots taken (or failing, retried), then the window closes."""
    clock, state = rt.clock, state_of(rt)
    assert isinstance(clock, Clock)
    opened = FIRST + timedelta(days=day, hours=13)
    for minute in (5, 6, 7, 8):  # take, see ready or failed (retry), see again (retention), and again
        clock.at = opened + timedelta(minutes=minute, seconds=day % 7)
        await runner._pass()
        finish_snapshots(state, clock.at, fail=fail)
    clock.at = opened + timedelta(hours=1, minutes=5)
    await runner._pass()  # closed: the run is finished and reported
    await runner._pass()


async def test_daily_backups_with_retention_keep_memory_bounded_and_tell_each_deletion_once(
    runtime: Runtime,
) -> None:
    state, runner = state_of(runtime), backup_window(runtime)
    days = 20
    for day in range(days):
        await a_day(runtime, runner, day, fail=False)
        assert len(runner._scope._recorded) <= len(DATABASES) * 2, "only snapshots still listed"
        assert len(runner._told.get("SnapshotDeleted", ())) <= len(DATABASES), "only deletions still listed"
    await runtime.drain_background(timeout=1.0)
    assert len(state.collections[SNAPSHOTS]) == 2 * len(DATABASES), "keepLast: 2"
    deleted = told(state, "SnapshotDeleted")
    assert len(deleted) == len(set(deleted)) == (days - 2) * len(DATABASES)
    assert counted("maintenance_backup_snapshots_total", result="ready") == days * len(DATABASES)
    assert counted("maintenance_backup_missed_total") == 0, told(state, "BackupMissed")
    assert event_posts(state) == len(state.collections[EVENTS]), "no Event was sent twice"
    await runner.stop()
    assert counted("maintenance_backup_snapshots_total", result="ready") == 0, "a deleted window leaves no series"


async def test_failing_backups_are_told_once_per_snapshot_and_missed_once_per_occurrence(runtime: Runtime) -> None:
    state, runner = state_of(runtime), backup_window(runtime)
    days = 15
    for day in range(days):
        await a_day(runtime, runner, day, fail=True)
        for reason in ("SnapshotFailed", "SnapshotAbandoned"):
            assert len(runner._told.get(reason, ())) <= len(DATABASES), reason
        assert len(runner._told.get("BackupMissed", ())) <= 1
        assert len(runner._scope._retried) <= len(DATABASES)
    await runtime.drain_background(timeout=1.0)
    failed = told(state, "SnapshotFailed")
    assert len(failed) == days * len(DATABASES), "one per snapshot name, however often it is retried"
    assert len(told(state, "BackupMissed")) == days
    assert counted("maintenance_backup_missed_total") == days
    assert event_posts(state) == len(state.collections[EVENTS]), "no Event was sent twice"
    await runner.stop()
