"""What each way of deciding self-service without a pod LIST per workload would keep in memory.

Option chosen: the metadata of ReplicaSets and ControllerRevisions, reduced to (owner, revision, created).
Option measured beside it: the metadata of every pod, reduced to (owner, created). Both are LISTed here, as
metadata only, from the benchmark's namespace and reduced the same way the cache reduces; tracemalloc counts the
bytes the reduced entries keep. The events each would cost are not measured here: a pod changes with every
probe and status update, a ReplicaSet only when its Deployment rolls out or scales.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Callable, Mapping
from typing import Any

from maintenance_operator.kube.client import KubeClient
from maintenance_operator.kube.credentials import load_credentials
from maintenance_operator.kube.informer import METADATA_LIST
from maintenance_operator.planning.targets.revisions import template_revision
from maintenance_operator.planning.times import parse_time
from tests.cluster.cluster import LocalCluster


def _pod_entry(meta: Mapping[str, Any]) -> tuple[str, Any] | None:
    owner = next((r for r in meta.get("ownerReferences") or () if r.get("controller")), None)
    return None if owner is None else (str(owner["uid"]), parse_time(meta.get("creationTimestamp")))


async def _reduced_bytes(
    client: KubeClient, path: str, reduce: Callable[[Mapping[str, Any]], object | None]
) -> tuple[int, int]:
    """(objects kept, bytes their reduced entries hold), over a paged metadata-only LIST."""
    kept: list[object] = []
    params = {"limit": "500"}
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    while True:
        page = await client.request("GET", path, params=params, accept=METADATA_LIST)
        kept.extend(entry for item in page.get("items") or () if (entry := reduce(item.get("metadata") or {})))
        token = (page.get("metadata") or {}).get("continue")
        del page  # only the reduced entries may remain when the snapshot is taken
        if not token:
            break
        params["continue"] = token
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename") if stat.size_diff > 0)
    return len(kept), held


async def _measure(cluster: LocalCluster, namespace: str) -> list[str]:
    client = KubeClient(load_credentials(str(cluster.kubeconfig)))
    try:
        lines = []
        for label, path, reduce in (
            (
                "ReplicaSets",
                f"/apis/apps/v1/namespaces/{namespace}/replicasets",
                lambda m: template_revision("ReplicaSet", m),
            ),
            (
                "ControllerRevisions",
                f"/apis/apps/v1/namespaces/{namespace}/controllerrevisions",
                lambda m: template_revision("ControllerRevision", m),
            ),
            ("Pods", f"/api/v1/namespaces/{namespace}/pods", _pod_entry),
        ):
            count, held = await _reduced_bytes(client, path, reduce)
            per = held / count if count else 0.0
            lines.append(f"{label}: {count} kept, {held / 1024:.0f} KiB ({per:.0f} B each)")
        return lines
    finally:
        await client.close()


def report(cluster: LocalCluster, namespace: str) -> None:
    for line in asyncio.run(_measure(cluster, namespace)):
        print(f"  self-service cache cost, {line}", flush=True)
