"""Writes to Nodes (node maintenance only): cordon, uncordon and the operator's marks, one merge patch each."""

from typing import Any

from maintenance_operator.api import rest
from maintenance_operator.api.rest import MERGE_PATCH
from maintenance_operator.kube.client import KubeClient
from maintenance_operator.planning.nodes.cordon import NodePatch


def node_patch_body(patch: NodePatch) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if patch.unschedulable is not None:
        # `unschedulable: false` is what `kubectl uncordon` writes; null would work too.
        body["spec"] = {"unschedulable": patch.unschedulable}
    if patch.annotations:
        body["metadata"] = {"annotations": dict(patch.annotations)}
    return body


async def patch_node(client: KubeClient, patch: NodePatch) -> None:
    await client.request(
        "PATCH", rest.NODES.path(None, patch.node), body=node_patch_body(patch), content_type=MERGE_PATCH
    )
