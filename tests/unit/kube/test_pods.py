"""kube.pods: the pods a workload owns (not merely matches), and evictions a PodDisruptionBudget may refuse."""

from dataclasses import replace
from typing import Any

import pytest

from maintenance_operator.kube import pods
from maintenance_operator.kube.client import ApiError, Forbidden
from tests.unit.kube.fake_api import FakeKubeClient, FakeState, Sent
from tests.unit.planning.factories import workload

PODS = "/api/v1/namespaces/shop/pods"
DB = replace(workload("db", kind="StatefulSet"), uid="uid-db", pod_selector={"app": "db", "tier": "data"})


def pod(name: str, owner: str | None = "uid-db") -> dict[str, Any]:
    owners = [{"kind": "StatefulSet", "name": "db", "uid": owner}] if owner else []
    meta = {"name": name, "labels": {"app": "db", "controller-revision-hash": "db-1"}, "ownerReferences": owners}
    return {"metadata": meta, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


async def test_of_workload_keeps_only_the_pods_it_owns(client: FakeKubeClient, state: FakeState) -> None:
    for p in (pod("db-0"), pod("db-1"), pod("db-9", owner="uid-other"), pod("loose", owner=None)):
        state.put(PODS, p)
    found = await pods.of_workload(client, DB)
    assert [(p.name, p.ordinal, p.revision, p.ready) for p in found] == [
        ("db-0", 0, "db-1", True),
        ("db-1", 1, "db-1", True),
    ]
    assert state.sent == [
        Sent("GET", PODS, None, "application/json", {"limit": "500", "labelSelector": "app=db,tier=data"})
    ]


async def test_of_workload_without_a_selector_lists_without_one(client: FakeKubeClient, state: FakeState) -> None:
    await pods.of_workload(client, replace(DB, pod_selector={}))
    assert state.sent[0].params == {"limit": "500"}


async def test_evict_posts_an_eviction(client: FakeKubeClient, state: FakeState) -> None:
    assert await pods.evict(client, "shop", "db-2") is True
    assert state.sent == [
        Sent(
            "POST",
            f"{PODS}/db-2/eviction",
            {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "db-2", "namespace": "shop"}},
            "application/json",
            None,
        )
    ]


@pytest.mark.parametrize("status", [429, 404], ids=["disruption-budget", "pod-gone"])
async def test_evict_is_false_when_refused_for_now_or_the_pod_is_gone(
    client: FakeKubeClient, state: FakeState, status: int
) -> None:
    state.answers[("POST", f"{PODS}/db-2/eviction")] = status
    assert await pods.evict(client, "shop", "db-2") is False


async def test_evict_raises_other_refusals(client: FakeKubeClient, state: FakeState) -> None:
    state.answers[("POST", f"{PODS}/db-2/eviction")] = 500
    with pytest.raises(ApiError):
        await pods.evict(client, "shop", "db-2")
    state.forbidden.add(("POST", f"{PODS}/db-1"))
    with pytest.raises(Forbidden, match="may not create pods/eviction in namespace shop"):
        await pods.evict(client, "shop", "db-1")
