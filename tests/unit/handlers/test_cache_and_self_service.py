"""The cache feeding self-service and the backup coordination, against the fake API (no cluster)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.handlers.cache_events import CacheEvents
from maintenance_operator.handlers.runtime import Runtime
from tests.unit.handlers.fake_runtime import fake_runtime, until
from tests.unit.kube.fake_api import FakeKubeClient

NS = "shop"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
REPLICASETS = f"/apis/apps/v1/namespaces/{NS}/replicasets"
STATEFULSETS = f"/apis/apps/v1/namespaces/{NS}/statefulsets"
SNAPSHOTS = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots"
SINCE = "2026-12-01T10:00:00Z"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def web(revision: str = "2") -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web",
            "namespace": NS,
            "uid": "uid-web",
            "generation": 2,
            "annotations": {
                "maintenance.ops.dev/required": "security",
                "maintenance.ops.dev/required-since": SINCE,
                "deployment.kubernetes.io/revision": revision,
            },
        },
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2},
    }


def replicaset(name: str, revision: str, created: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"uid-{name}",
            "creationTimestamp": created,
            "annotations": {"deployment.kubernetes.io/revision": revision},
            "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "uid-web", "controller": True}],
        }
    }


_EVENTS: dict[int, CacheEvents] = {}


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    async with fake_runtime(NS, lambda: NOW) as rt:
        _EVENTS[id(rt)] = CacheEvents(rt)
        _EVENTS[id(rt)].subscribe()
        yield rt
        del _EVENTS[id(rt)]


def patches(rt: Runtime) -> list[str]:
    assert isinstance(rt.client, FakeKubeClient)
    return [path for method, path in rt.client.state.requests if method == "PATCH"]


async def start(rt: Runtime) -> None:
    await rt.cache.start()
    await asyncio.wait_for(rt.cache.synced.wait(), 2)
    rt.acting.set()
    _EVENTS[id(rt)].sweep()  # what the operator does once it acts


async def test_a_redeploy_after_the_announcement_is_credited_from_its_replicaset(runtime: Runtime) -> None:
    state = runtime.client.state  # type: ignore[attr-defined]
    state.put(DEPLOYMENTS, web())
    state.put(REPLICASETS, replicaset("web-old", "1", "2026-11-01T00:00:00Z"))
    state.put(REPLICASETS, replicaset("web-new", "2", "2026-12-01T11:00:00Z"))
    await start(runtime)
    await until(
        lambda: "maintenance.ops.dev/completed-by" in state.collections[DEPLOYMENTS]["web"]["metadata"]["annotations"]
    )
    annotations = state.collections[DEPLOYMENTS]["web"]["metadata"]["annotations"]
    assert annotations["maintenance.ops.dev/completed-by"] == "self-service"
    assert annotations["maintenance.ops.dev/completed-at"] == "2026-12-01T12:00:00Z"
    assert [p for m, p in state.requests if m == "GET" and "/pods" in p] == [], "no pod LIST"


async def test_an_older_revision_is_not_credited_until_a_newer_replicaset_appears(runtime: Runtime) -> None:
    state = runtime.client.state  # type: ignore[attr-defined]
    state.put(DEPLOYMENTS, web())
    state.put(REPLICASETS, replicaset("web-2", "2", "2026-11-30T00:00:00Z"))  # before the announcement
    await start(runtime)
    await asyncio.sleep(0.05)
    assert patches(runtime) == []
    # A rollout: the controller creates revision 3, then the Deployment reports it.
    state.emit(REPLICASETS, "ADDED", replicaset("web-3", "3", "2026-12-01T11:30:00Z"))
    state.emit(DEPLOYMENTS, "MODIFIED", web(revision="3"))
    await until(lambda: len(patches(runtime)) == 1)
    await asyncio.sleep(0.05)
    assert len(patches(runtime)) == 1, "credited once, however many events follow"


async def test_databases_with_a_snapshot_in_progress_are_blocked_from_the_cluster_state(runtime: Runtime) -> None:
    state = runtime.client.state  # type: ignore[attr-defined]
    labels = {"maintenance.ops.dev/database": "orders"}
    state.put(STATEFULSETS, {"metadata": {"name": "orders", "namespace": NS, "uid": "uid-orders", "labels": labels}})
    snapshot = {
        "metadata": {
            "name": "orders-data-orders-0-20261201t1300z",
            "namespace": NS,
            "uid": "uid-snap",
            "labels": {**labels, "app.kubernetes.io/managed-by": "maintenance-operator"},
        },
        "status": {"readyToUse": False},
    }
    state.put(SNAPSHOTS, snapshot)
    await start(runtime)
    assert runtime.snapshotting_in(NS) == {("StatefulSet", NS, "orders")}
    state.emit(SNAPSHOTS, "MODIFIED", {**snapshot, "status": {"readyToUse": True}})
    await until(lambda: runtime.snapshotting_in(NS) == frozenset())
