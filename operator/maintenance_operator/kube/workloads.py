"""Writes to Deployments and StatefulSets: the restart, and the annotations that record maintenance."""

from datetime import datetime
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.api.rest import MERGE_PATCH, STRATEGIC_MERGE_PATCH
from maintenance_operator.kube import paths
from maintenance_operator.kube.client import KubeClient
from maintenance_operator.planning.targets.workloads import Workload, restart_stamp
from maintenance_operator.planning.times import format_time


def restart_patch(
    window: str, occurrence_id: str, now: datetime, new_image: tuple[str, str] | None = None
) -> dict[str, Any]:
    """`kubectl rollout restart`'s patch plus the occurrence id and the window, so a restart is never repeated for
    it (and another window's occurrence of the same id is not mistaken for it).

    `new_image` (container, image) installs a database's pending upgrade in the same PATCH, hence one rollout.
    """
    at = format_time(now)
    template: dict[str, Any] = {
        "metadata": {
            "annotations": {
                names.ANNOTATION_RESTARTED_AT: at,
                names.ANNOTATION_OCCURRENCE: occurrence_id,
                names.ANNOTATION_OCCURRENCE_WINDOW: window,
            }
        }
    }
    if new_image is not None:
        container, image = new_image
        template["spec"] = {"containers": [{"name": container, "image": image}]}
    return {
        "metadata": {"annotations": {names.ANNOTATION_RESTARTED_BY: restart_stamp(window, at)}},
        "spec": {"template": template},
    }


async def restart(client: KubeClient, w: Workload, window: str, occurrence_id: str, now: datetime) -> dict[str, Any]:
    """One PATCH, no GET: returns the patched object."""
    new_image = (w.container, w.target_image) if w.upgrade_pending and w.container and w.target_image else None
    return await client.request(
        "PATCH",
        paths.workload(w.kind, w.namespace, w.name),
        body=restart_patch(window, occurrence_id, now, new_image),
        content_type=STRATEGIC_MERGE_PATCH,
    )


async def annotate(client: KubeClient, kind: str, namespace: str, name: str, annotations: dict[str, str]) -> None:
    await client.request(
        "PATCH",
        paths.workload(kind, namespace, name),
        body={"metadata": {"annotations": annotations}},
        content_type=MERGE_PATCH,
    )
