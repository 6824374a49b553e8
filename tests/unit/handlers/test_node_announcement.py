"""A node announcement's task against the fake API: the workloads with pods on the node become pending (without
a write to them), the node is cordoned once and marked drained when emptied, and withdrawn it is uncordoned as
found; without --node-maintenance the announcement is refused and no node is touched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.handlers.announcement_runner import AnnouncementRunner
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.kube.cache import ClusterCache
from tests.unit.handlers.fake_runtime import state_of, until
from tests.unit.kube.fake_api import FakeKubeClient, FakeState
from tests.unit.planning.factories import deployment

NS = "team-n"
NOW = datetime(2026, 12, 1, 12, 10, tzinfo=UTC)
NODES = "/api/v1/nodes"
PODS = f"/api/v1/namespaces/{NS}/pods"
MAINTENANCES = "/apis/maintenance.ops.dev/v1alpha1/maintenances"


async def started(enabled: bool) -> Runtime:
    client = FakeKubeClient(FakeState())
    rt = Runtime(client=client, cache=ClusterCache(client, [NS], nodes=enabled), clock=lambda: NOW)
    rt.node_maintenance = enabled
    rt.acting.set()
    state = client.state
    state.put("/api/v1/namespaces", {"metadata": {"name": NS, "uid": "uid-ns", "labels": {}}})
    for name, labels in (("n1", {"rack": "7"}), ("n2", {"rack": "8"})):
        state.put(NODES, {"metadata": {"name": name, "uid": f"uid-{name}", "labels": labels}, "spec": {}})
    for name in ("web", "api"):
        state.put(f"/apis/apps/v1/namespaces/{NS}/deployments", deployment(name, namespace=NS))
    state.put(PODS, pod("web-1", "n1", "web"))
    state.put(PODS, pod("api-1", "n2", "api"))
    await rt.cache.start()
    await asyncio.wait_for(rt.cache.synced.wait(), 2)
    return rt


def pod(name: str, node: str, deployment_name: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"uid-{name}",
            "labels": {"pod-template-hash": "abc12"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": f"{deployment_name}-abc12", "controller": True}],
        },
        "spec": {"nodeName": node},
        "status": {"phase": "Running"},
    }


BODY = {
    "apiVersion": "maintenance.ops.dev/v1alpha1",
    "kind": "Maintenance",
    "metadata": {"name": "rack-7", "uid": "uid-rack", "generation": 1, "creationTimestamp": "2026-12-01T11:00:00Z"},
    "spec": {"reason": "hardware", "targets": {"nodes": {"matchLabels": {"rack": "7"}}}},
}


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    rt = await started(enabled=True)
    try:
        yield rt
    finally:
        await rt.cache.stop()
        await rt.drain_background(timeout=1.0)


def node_patches(rt: Runtime) -> list[tuple[str, Any]]:
    return [
        (s.path.rpartition("/")[2], s.body)
        for s in state_of(rt).sent
        if s.method == "PATCH" and s.path.startswith(NODES)
    ]


async def test_the_workloads_on_the_node_are_pending_and_the_node_is_cordoned_drained_and_left_as_found(
    runtime: Runtime,
) -> None:
    state_of(runtime).put(MAINTENANCES, BODY)
    runner = AnnouncementRunner(runtime, BODY)
    assert {w.name for w in runtime.workloads(NS) if w.required} == {"web"}, "api's pod is on n2"
    await runner._pass()
    assert node_patches(runtime) == [
        (
            "n1",
            {
                "spec": {"unschedulable": True},
                "metadata": {"annotations": {"maintenance.ops.dev/cordoned-by": "Maintenance/rack-7"}},
            },
        )
    ]
    status = state_of(runtime).collections[MAINTENANCES]["rack-7"]["status"]
    assert status["affected"] == [f"{NS}/Deployment/web"]
    assert [(n["name"], n["podsLeft"]) for n in status["nodes"]] == [("n1", 1)]

    state_of(runtime).collections[PODS].pop("web-1")
    state_of(runtime).emit(PODS, "DELETED", pod("web-1", "n1", "web"))  # web restarted: its pod moved off
    await until(lambda: all(p.node != "n1" for p in runtime.cache.placements()))
    await runner._pass()
    drained = node_patches(runtime)[-1]
    assert drained[0] == "n1" and "maintenance.ops.dev/drained" in drained[1]["metadata"]["annotations"]
    assert {w.name for w in runtime.workloads(NS) if w.required} == {"web"}, "still covered (recorded) until done"

    await until(lambda: "maintenance.ops.dev/drained" in runtime.cache.nodes()["n1"].annotations)
    await runner.stop()
    assert node_patches(runtime)[-1] == drained, "stopping (the operator going down) leaves the node as it is"
    await runner.withdraw()
    uncordon = node_patches(runtime)[-1]
    assert uncordon == (
        "n1",
        {
            "spec": {"unschedulable": False},
            "metadata": {"annotations": {"maintenance.ops.dev/cordoned-by": None, "maintenance.ops.dev/drained": None}},
        },
    )


async def test_without_node_maintenance_a_node_announcement_is_refused_and_no_node_touched() -> None:
    rt = await started(enabled=False)
    try:
        state_of(rt).put(MAINTENANCES, BODY)
        runner = AnnouncementRunner(rt, BODY)
        await runner._pass()
        [ready] = state_of(rt).collections[MAINTENANCES]["rack-7"]["status"]["conditions"]
        assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
        assert "--node-maintenance" in ready["message"]
        assert node_patches(rt) == []
    finally:
        await rt.cache.stop()
        await rt.drain_background(timeout=1.0)
