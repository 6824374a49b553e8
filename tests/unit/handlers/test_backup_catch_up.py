"""A BackupWindow occurrence missed while the operator was down is reported once, so it must count every selected
database, including those kopf has not delivered yet just after a start; against the fake API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.handlers.backup_runner import BackupRunner
from maintenance_operator.handlers.runtime import Runtime
from tests.unit.handlers.fake_runtime import fake_runtime
from tests.unit.kube.fake_api import FakeKubeClient

NS = "team-a"
GROUP = "/apis/maintenance.ops.dev/v1alpha1/namespaces/team-a"
NOW = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # the 13:00-14:00 occurrence closed while the operator was down


def backup_window() -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "BackupWindow",
        "metadata": {
            "name": "daily",
            "namespace": NS,
            "uid": "uid-daily",
            "generation": 1,
            "creationTimestamp": "2026-12-01T09:00:00Z",
        },
        "spec": {"schedule": "0 13 * * *", "duration": "1h", "selector": {"matchLabels": {"backup": "daily"}}},
    }


def database(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "ManagedDatabase",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "labels": labels},
        "spec": {"engine": "postgresql", "version": "16.4"},
    }


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    async with fake_runtime(NS, lambda: NOW) as rt:
        yield rt


async def test_a_missed_occurrence_counts_databases_kopf_has_not_delivered_yet(runtime: Runtime) -> None:
    assert isinstance(runtime.client, FakeKubeClient)
    state = runtime.client.state
    state.put(f"{GROUP}/backupwindows", backup_window())
    state.put(f"{GROUP}/manageddatabases", database("orders", {"backup": "daily"}))
    state.put(f"{GROUP}/manageddatabases", database("other", {}))
    state.collections["/apis/snapshot.storage.k8s.io/v1/namespaces/team-a/volumesnapshots"] = {}
    assert runtime.database_runners == {}, "no database task yet: kopf's events are still to come"
    runner = BackupRunner(runtime, backup_window())
    await runner._pass()
    status = state.collections[f"{GROUP}/backupwindows"]["daily"]["status"]
    assert status["missedOccurrences"] == ["20261201T1300Z"]
    assert (status["lastRun"]["result"], status["lastRun"]["failed"]) == ("Missed", 1), "orders, not other"
