"""A window's pass over an OnDelete StatefulSet it restarted: which eviction it sends, against the fake API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.window_runner import WindowRunner
from tests.unit.handlers.fake_runtime import fake_runtime
from tests.unit.handlers.test_forbidden import WINDOWS, ready, window_body
from tests.unit.kube.fake_api import FakeState

NS = "team-a"
STATEFULSETS = f"/apis/apps/v1/namespaces/{NS}/statefulsets"
PODS = f"/api/v1/namespaces/{NS}/pods"
NOW = datetime(2026, 12, 1, 12, 10, tzinfo=UTC)  # inside the window's 12:00 occurrence
OCCURRENCE = "20261201T1200Z"
OLD, NEW = "db-6b7f", "db-9c2d"


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    async with fake_runtime(NS, lambda: NOW, acting=True) as rt:
        yield rt


def restarted_statefulset(updated: int) -> dict[str, Any]:
    """Restarted by the window in this occurrence: a new update revision, `updated` pods on it, all ready."""
    return {
        "metadata": {
            "name": "db",
            "namespace": NS,
            "uid": "uid-db",
            "generation": 2,
            "labels": {"tier": "web"},
            "annotations": {
                "maintenance.ops.dev/required": "security",
                "maintenance.ops.dev/required-since": "2026-12-01T10:00:00Z",
                "maintenance.ops.dev/restarted-by": "MaintenanceWindow/weekly 2026-12-01T12:05:00Z",
            },
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "db"}},
            "updateStrategy": {"type": "OnDelete"},
            "template": {
                "metadata": {
                    "annotations": {
                        "kubectl.kubernetes.io/restartedAt": "2026-12-01T12:05:00Z",
                        "maintenance.ops.dev/occurrence": OCCURRENCE,
                        "maintenance.ops.dev/occurrence-window": "MaintenanceWindow/weekly",
                    }
                }
            },
        },
        "status": {
            "observedGeneration": 2,
            "replicas": 3,
            "readyReplicas": 3,
            "updatedReplicas": updated,
            "currentRevision": OLD,
            "updateRevision": NEW,
        },
    }


def pod(ordinal: int, revision: str, is_ready: bool = True, owner: str = "uid-db") -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"db-{ordinal}",
            "namespace": NS,
            "labels": {"app": "db", "controller-revision-hash": revision},
            "ownerReferences": [{"kind": "StatefulSet", "name": "db", "uid": owner}],
        },
        "status": {"conditions": [{"type": "Ready", "status": "True" if is_ready else "False"}]},
    }


async def one_pass(runtime: Runtime, *pods: dict[str, Any], updated: int = 0) -> list[str]:
    """The pods the pass evicted."""
    state = runtime.client.state  # type: ignore[attr-defined]
    assert isinstance(state, FakeState)
    state.put(STATEFULSETS, restarted_statefulset(updated))
    for p in pods:
        state.put(PODS, p)
    state.put(WINDOWS, window_body())
    await runtime.cache.start()
    await asyncio.wait_for(runtime.cache.synced.wait(), 2)
    await WindowRunner(runtime, window_body())._pass()
    return [p.removeprefix(PODS + "/").removesuffix("/eviction") for m, p in state.requests if p.endswith("/eviction")]


async def test_the_highest_ordinal_on_the_old_revision_is_evicted(runtime: Runtime) -> None:
    assert await one_pass(runtime, pod(0, OLD), pod(1, OLD), pod(2, OLD)) == ["db-2"]


async def test_then_the_next_one(runtime: Runtime) -> None:
    assert await one_pass(runtime, pod(0, OLD), pod(1, OLD), pod(2, NEW), updated=1) == ["db-1"]


async def test_nothing_while_a_new_pod_is_not_ready(runtime: Runtime) -> None:
    assert await one_pass(runtime, pod(0, OLD), pod(1, OLD), pod(2, NEW, is_ready=False), updated=1) == []


async def test_pods_of_another_owner_are_not_counted_nor_evicted(runtime: Runtime) -> None:
    stranger = pod(5, OLD, owner="uid-other")
    assert await one_pass(runtime, pod(0, NEW), pod(1, NEW), pod(2, NEW), stranger, updated=2) == []


async def test_an_eviction_refused_by_rbac_names_the_permission(runtime: Runtime) -> None:
    state = runtime.client.state  # type: ignore[attr-defined]
    state.forbidden.add(("POST", PODS))
    assert await one_pass(runtime, pod(0, OLD), pod(1, OLD), pod(2, OLD)) == ["db-2"]
    condition = ready(state.collections[WINDOWS]["weekly"])
    assert (condition["status"], condition["reason"]) == ("False", "Forbidden")
    assert condition["message"].endswith("may not create pods/eviction in namespace team-a")
