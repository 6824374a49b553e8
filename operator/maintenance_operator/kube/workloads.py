"""Writes to Deployments and StatefulSets: the restart, and the annotations that record maintenance."""

from datetime import datetime
from typing import Any

from maintenance_operator.api.rest import MERGE_PATCH, STRATEGIC_MERGE_PATCH
from maintenance_operator.kube import paths
from maintenance_operator.kube.client import KubeClient
from maintenance_operator.planning.targets.workloads import Workload, restart_patch


async def restart(client: KubeClient, w: Workload, window: str, occurrence_id: str, now: datetime) -> dict[str, Any]:
    """One PATCH, no GET (`restart_patch` stamps the window and occurrence): returns the patched object."""
    new_image = (w.container, w.target_image) if w.upgrade_pending and w.container and w.target_image else None
    return await client.request(
        "PATCH",
        paths.workload(w.kind, w.namespace, w.name),
        body=restart_patch(now, (window, occurrence_id), new_image),
        content_type=STRATEGIC_MERGE_PATCH,
    )


async def annotate(client: KubeClient, kind: str, namespace: str, name: str, annotations: dict[str, str]) -> None:
    await client.request(
        "PATCH",
        paths.workload(kind, namespace, name),
        body={"metadata": {"annotations": annotations}},
        content_type=MERGE_PATCH,
    )
