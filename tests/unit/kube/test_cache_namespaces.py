"""The cache and namespaces: their labels are watched for the cluster windows, and an account that may not list
namespaces still gets a synced cache (labels unknown), where only a `{}` namespaceSelector covers a namespace."""

from __future__ import annotations

import asyncio
from typing import Any

from maintenance_operator.handlers.cluster_window_runner import ClusterWindowRunner
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.kube.cache import ClusterCache
from tests.unit.kube.fake_api import FakeKubeClient, FakeState
from tests.unit.planning.factories import deployment

NS = "team-x"


def cluster_window(namespace_selector: dict[str, Any]) -> dict[str, Any]:
    spec = {"schedule": "0 12 * * *", "selector": {}, "namespaceSelector": namespace_selector}
    return {"metadata": {"name": "platform-default", "uid": "uid-cmw", "generation": 1}, "spec": spec}


async def synced_without_namespaces() -> ClusterCache:
    state = FakeState()
    state.forbidden.add(("GET", "/api/v1/namespaces"))
    state.put(f"/apis/apps/v1/namespaces/{NS}/deployments", deployment("web", namespace=NS))
    cache = ClusterCache(FakeKubeClient(state), [NS])
    await cache.start()
    await asyncio.wait_for(cache.synced.wait(), 2)
    return cache


async def test_namespaces_that_may_not_be_listed_leave_the_cache_synced_with_their_labels_unknown() -> None:
    cache = await synced_without_namespaces()
    try:
        assert cache.namespace_labels(NS) is None
        assert cache.namespaces() == [NS], "known from its workloads"
        rt = Runtime(client=cache.client, cache=cache)
        everywhere = ClusterWindowRunner(rt, cluster_window({}))
        everywhere.parse_spec(everywhere.spec_model)
        assert everywhere.covers(None), "`{}` covers a namespace whatever its labels"
        some = ClusterWindowRunner(rt, cluster_window({"matchLabels": {"team": "x"}}))
        some.parse_spec(some.spec_model)
        assert not some.covers(None), "a namespaceSelector cannot be judged without the labels"
    finally:
        await cache.stop()
