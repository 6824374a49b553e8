"""The ClusterBackupRunner's passes against the fake API: in its occurrence it snapshots, each in its own namespace,
the databases `planning.backups.handling` gives it (namespaces its namespaceSelector matches by their labels, no
BackupWindow of theirs selecting them, not labelled `window: none`), labels them as its own, and writes one status
summing its namespaces' parts."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.backup_runner import BackupRunner
from maintenance_operator.handlers.cluster_backup_runner import ClusterBackupRunner
from maintenance_operator.handlers.runtime import Runtime
from tests.unit.handlers.fake_runtime import Clock, clock_of, fake_runtime, state_of, until
from tests.unit.handlers.test_backup_runner import Database
from tests.unit.kube.fake_api import FakeState

NAMESPACES = {"team-a": {"env": "prod"}, "team-b": {"env": "prod"}, "team-c": {"env": "dev"}}
GROUP = "/apis/maintenance.ops.dev/v1alpha1"
WINDOWS = f"{GROUP}/clusterbackupwindows"
START = datetime(2026, 12, 1, 13, 5, tzinfo=UTC)  # in the daily 13:00-14:00 occurrence
LABEL = "ClusterBackupWindow.platform"


def snapshots_path(namespace: str) -> str:
    return f"/apis/snapshot.storage.k8s.io/v1/namespaces/{namespace}/volumesnapshots"


def cluster_window() -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "ClusterBackupWindow",
        "metadata": {
            "name": "platform",
            "uid": "uid-platform",
            "generation": 1,
            "creationTimestamp": "2026-12-01T09:00:00Z",
        },
        "spec": {
            "schedule": "0 13 * * *",
            "duration": "1h",
            "namespaceSelector": {"matchLabels": {"env": "prod"}},
            "selector": {},
        },
    }


def team_window() -> dict[str, Any]:
    """team-a's own BackupWindow: it selects `backup: daily`, which the cluster window must then leave alone."""
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "BackupWindow",
        "metadata": {"name": "daily", "namespace": "team-a", "uid": "uid-daily", "generation": 1},
        "spec": {"schedule": "0 3 1 1 *", "duration": "1h", "selector": {"matchLabels": {"backup": "daily"}}},
    }


DATABASES = {  # (namespace, name): labels
    ("team-a", "orders"): {},
    ("team-a", "own"): {"backup": "daily"},
    ("team-a", "optout"): {"maintenance.ops.dev/window": "none"},
    ("team-b", "users"): {"tier": "data"},
    ("team-c", "dev"): {},  # its namespace is not env=prod
}


def put_database(state: FakeState, namespace: str, name: str, labels: Mapping[str, str]) -> None:
    meta = {"name": name, "namespace": namespace, "labels": dict(labels)}
    state.put(f"{GROUP}/namespaces/{namespace}/manageddatabases", {"metadata": meta, "spec": {"engine": "postgresql"}})
    state.put(
        f"/apis/apps/v1/namespaces/{namespace}/statefulsets",
        {
            "metadata": {"name": name, "namespace": namespace, "generation": 1, "labels": dict(labels)},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1},
        },
    )


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    async with fake_runtime(list(NAMESPACES), Clock(START)) as rt:
        state = state_of(rt)
        for ns, labels in NAMESPACES.items():
            state.put("/api/v1/namespaces", {"metadata": {"name": ns, "labels": labels}})
            state.collections[snapshots_path(ns)] = {}
        for (ns, name), labels in DATABASES.items():
            put_database(state, ns, name, labels)
            rt.database_runners[f"uid-{ns}-{name}"] = Database(name, labels, ns)
        state.put(f"{GROUP}/namespaces/team-a/backupwindows", team_window())
        rt.backup_runners["uid-daily"] = BackupRunner(rt, team_window())
        await rt.cache.start()
        yield rt
    for family in (metrics.snapshots, metrics.missed_backups, metrics.retention_deletions):
        for ns in NAMESPACES:
            family.remove_by_labels({"namespace": ns})


def made(rt: Runtime) -> dict[str, list[tuple[str, str]]]:
    """namespace -> (database, backup-window label) of each snapshot there."""
    found: dict[str, list[tuple[str, str]]] = {}
    for ns in NAMESPACES:
        for snap in state_of(rt).collections[snapshots_path(ns)].values():
            labels = snap["metadata"]["labels"]
            found.setdefault(ns, []).append(
                (labels["maintenance.ops.dev/database"], labels["maintenance.ops.dev/backup-window"])
            )
    return found


def finish_snapshots(rt: Runtime, at: datetime) -> None:
    for ns in NAMESPACES:
        for snapshot in state_of(rt).collections[snapshots_path(ns)].values():
            snapshot.setdefault("status", {"readyToUse": True, "creationTime": at.strftime("%Y-%m-%dT%H:%M:%SZ")})


async def test_it_snapshots_what_no_backup_window_handles_in_the_namespaces_it_covers(runtime: Runtime) -> None:
    state = state_of(runtime)
    state.put(WINDOWS, cluster_window())
    window = ClusterBackupRunner(runtime, copy.deepcopy(cluster_window()))
    runtime.backup_runners["uid-platform"] = window
    assert window.backs_up("team-a", {}) and not window.backs_up("team-c", {}), "by the namespaces' labels"
    assert not window.backs_up("team-a", {"backup": "daily"}), "team-a's own BackupWindow selects it"

    await window._pass()
    assert made(runtime) == {"team-a": [("orders", LABEL)], "team-b": [("users", LABEL)]}
    assert window.next_start == START.replace(hour=13, minute=0) + timedelta(days=1), "open now: tomorrow's next"

    clock = clock_of(runtime)
    finish_snapshots(runtime, clock.at)
    clock.at = START + timedelta(minutes=1)
    await window._pass()
    clock.at = START + timedelta(hours=1)  # the occurrence has closed: the run is finalized
    await window._pass()
    status = state.collections[WINDOWS]["platform"]["status"]
    assert status["lastRun"]["result"] == "Succeeded" and status["lastRun"]["snapshots"] == 2, status["lastRun"]
    assert (status["databases"], status["namespaceCount"]) == (2, 2)
    assert [(n["namespace"], n["databases"]) for n in status["namespaces"]] == [("team-a", 1), ("team-b", 1)]
    assert len(made(runtime)["team-a"]) == 1, "never twice in one occurrence"


async def test_a_namespace_relabelled_out_of_its_selector_is_no_part_of_the_next_run(runtime: Runtime) -> None:
    state = state_of(runtime)
    state.put(WINDOWS, cluster_window())
    window = ClusterBackupRunner(runtime, copy.deepcopy(cluster_window()))
    runtime.backup_runners["uid-platform"] = window
    state.emit("/api/v1/namespaces", "MODIFIED", {"metadata": {"name": "team-b", "labels": {"env": "dev"}}})
    await until(lambda: runtime.cache.namespace_labels("team-b") == {"env": "dev"})
    await window._pass()
    assert made(runtime) == {"team-a": [("orders", LABEL)]}
    status = state.collections[WINDOWS]["platform"]["status"]
    assert [n["namespace"] for n in status["namespaces"]] == ["team-a"]
