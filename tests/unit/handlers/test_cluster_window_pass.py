"""A ClusterMaintenanceWindow's pass against the fake API: it restarts what no window of the target's namespace
selects, in every namespace its namespaceSelector covers, leaves out `window: none`, and lists what a namespaced
window handles as handled there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.handlers.cluster_window_runner import ClusterWindowRunner
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.window_runner import WindowRunner
from tests.unit.handlers.fake_runtime import fake_runtime, state_of
from tests.unit.planning.factories import deployment

TEAMS = ("team-a", "team-b", "team-c")  # team-c's labels leave it out of the cluster window
NOW = datetime(2026, 12, 1, 12, 10, tzinfo=UTC)  # inside the 12:00-13:00 occurrence
DUE = {"maintenance.ops.dev/required": "security", "maintenance.ops.dev/required-since": "2026-12-01T10:00:00Z"}
CLUSTER_WINDOWS = "/apis/maintenance.ops.dev/v1alpha1/clustermaintenancewindows"


def deployments(ns: str) -> str:
    return f"/apis/apps/v1/namespaces/{ns}/deployments"


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    async with fake_runtime(TEAMS, lambda: NOW, acting=True) as rt:
        yield rt


def cluster_window() -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "ClusterMaintenanceWindow",
        "metadata": {"name": "platform-default", "uid": "uid-cmw", "generation": 1},
        "spec": {
            "schedule": "0 12 * * *",
            "duration": "1h",
            "selector": {},
            "namespaceSelector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["frozen"]}]},
            "concurrency": 10,
        },
    }


def team_window(ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "MaintenanceWindow",
        "metadata": {"name": "own", "namespace": ns, "uid": f"uid-own-{ns}", "generation": 1},
        "spec": {"schedule": "0 3 1 1 *", "duration": "1h", "selector": {"matchLabels": {"team": "own"}}},
    }


async def test_the_cluster_window_takes_what_no_namespaced_window_selects(runtime: Runtime) -> None:
    state = state_of(runtime)
    for ns in TEAMS:
        labels = {"tier": "frozen"} if ns == "team-c" else {}
        state.put("/api/v1/namespaces", {"metadata": {"name": ns, "uid": f"uid-{ns}", "labels": labels}})
        state.put(deployments(ns), deployment("web", namespace=ns, annotations=DUE))
    state.put(deployments("team-a"), deployment("own", namespace="team-a", labels={"team": "own"}, annotations=DUE))
    opted_out = {"maintenance.ops.dev/window": "none"}
    state.put(deployments("team-b"), deployment("optout", namespace="team-b", labels=opted_out, annotations=DUE))
    await runtime.cache.start()
    await asyncio.wait_for(runtime.cache.synced.wait(), 2)
    own = WindowRunner(runtime, team_window("team-a"))
    runtime.window_runners[own.uid] = own
    state.put(CLUSTER_WINDOWS, cluster_window())
    runner = ClusterWindowRunner(runtime, cluster_window())
    runtime.window_runners[runner.uid] = runner

    await runner._pass()
    patched = sorted(p for m, p in state.requests if m == "PATCH" and "/deployments/" in p)
    assert patched == [f"{deployments('team-a')}/web", f"{deployments('team-b')}/web"]
    status = state.collections[CLUSTER_WINDOWS]["platform-default"]["status"]
    assert sorted((p["namespace"], p["name"]) for p in status["pending"]) == [("team-a", "web"), ("team-b", "web")]
    assert [(e["namespace"], e["name"], e["window"]) for e in status["handledElsewhere"]] == [("team-a", "own", "own")]
    assert runtime.window_for("team-a", {}).window == "ClusterMaintenanceWindow/platform-default"
    assert runtime.window_for("team-c", {}).window is None, "team-c's labels leave it out"
