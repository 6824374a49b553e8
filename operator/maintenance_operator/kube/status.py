"""Status and metadata writes of the operator's own resources."""

from collections.abc import Mapping
from typing import Any

from maintenance_operator.api.rest import MERGE_PATCH
from maintenance_operator.kube import paths
from maintenance_operator.kube.client import KubeClient


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


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) turning `old` into `new`: vanished fields become null, maps recurse.

    Writing only the difference (nothing when equal) is what keeps idle resources at zero API writes.
    """
    patch: dict[str, Any] = {k: None for k in old if k not in new}
    for key, value in new.items():
        before = old.get(key)
        if before == value:
            continue
        if isinstance(before, Mapping) and isinstance(value, Mapping):
            patch[key] = merge_patch(before, value)
        else:
            patch[key] = value
    return patch
