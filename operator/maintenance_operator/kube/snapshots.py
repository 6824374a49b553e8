"""VolumeSnapshots: list the operator's own, create one per data volume and occurrence, delete for retention."""

from typing import Any

from maintenance_operator.api import names
from maintenance_operator.kube import objects
from maintenance_operator.kube.client import ApiError, KubeClient
from maintenance_operator.planning.backups.actions import snapshot_manifest
from maintenance_operator.planning.backups.snapshots import SnapshotRequest

_BASE = f"/apis/{names.SNAPSHOT_API_VERSION}"


def _path(namespace: str, name: str = "") -> str:
    return f"{_BASE}/namespaces/{namespace}/volumesnapshots" + (f"/{name}" if name else "")


async def list_managed(client: KubeClient, namespace: str) -> list[dict[str, Any]]:
    """Only snapshots the operator labelled as its own: retention never sees anyone else's."""
    return await objects.list_items(client, _path(namespace), f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY_VALUE}")


async def create(client: KubeClient, namespace: str, request: SnapshotRequest, snapshot_class: str | None) -> bool:
    """False when it exists already (a repeat of the same occurrence never duplicates it)."""
    try:
        await client.request("POST", _path(namespace), body=snapshot_manifest(request, namespace, snapshot_class))
    except ApiError as err:
        if err.status == 409:
            return False
        raise
    return True


async def delete(client: KubeClient, namespace: str, name: str) -> None:
    try:
        await client.request("DELETE", _path(namespace, name))
    except ApiError as err:
        if err.status != 404:
            raise


async def class_exists(client: KubeClient, name: str) -> bool:
    try:
        await client.request("GET", f"{_BASE}/volumesnapshotclasses/{name}")
    except ApiError as err:
        if err.status == 404:
            return False
        raise
    return True
