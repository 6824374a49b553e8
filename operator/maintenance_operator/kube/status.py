"""Status and metadata writes of the operator's own resources."""

from typing import Any

from maintenance_operator.kube import paths
from maintenance_operator.kube.client import MERGE_PATCH, KubeClient


async def patch_status(
    client: KubeClient, kind: str, namespace: str, name: str, status: dict[str, Any]
) -> dict[str, Any]:
    """Returns the object as written, so callers know its resourceVersion."""
    return await client.request(
        "PATCH", paths.custom(kind, namespace, name, "status"), body={"status": status}, content_type=MERGE_PATCH
    )


async def patch_annotations(
    client: KubeClient, kind: str, namespace: str, name: str, annotations: dict[str, str | None]
) -> None:
    """Merge-patch annotations; a None value removes the annotation."""
    await client.request(
        "PATCH",
        paths.custom(kind, namespace, name),
        body={"metadata": {"annotations": annotations}},
        content_type=MERGE_PATCH,
    )
