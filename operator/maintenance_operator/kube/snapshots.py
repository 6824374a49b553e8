"""VolumeSnapshots: list the operator's own, create one per data volume and occurrence, delete for retention."""

from typing import Any

from maintenance_operator.api import names
from maintenance_operator.api.rest import VOLUME_SNAPSHOT_CLASSES, VOLUME_SNAPSHOTS
from maintenance_operator.kube import objects
from maintenance_operator.kube.client import ApiError, KubeClient
from maintenance_operator.planning.backups.actions import snapshot_manifest
from maintenance_operator.planning.backups.snapshots import SnapshotRequest


async def list_managed(client: KubeClient, namespace: str) -> list[dict[str, Any]]:
    """Only snapshots the operator labelled as its own: retention never sees anyone else's."""
    selector = f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY_VALUE}"
    return await objects.list_items(client, VOLUME_SNAPSHOTS.path(namespace), selector)


async def create(client: KubeClient, namespace: str, request: SnapshotRequest, snapshot_class: str | None) -> bool:
    """False when it exists already (a repeat of the same occurrence never duplicates it)."""
    body = snapshot_manifest(request, namespace, snapshot_class)
    try:
        await client.request("POST", VOLUME_SNAPSHOTS.path(namespace), body=body)
    except ApiError as err:
        if err.status == 409:
            return False
        raise
    return True


async def delete(client: KubeClient, namespace: str, name: str) -> None:
    try:
        await client.request("DELETE", VOLUME_SNAPSHOTS.path(namespace, name))
    except ApiError as err:
        if err.status != 404:
            raise


async def class_exists(client: KubeClient, name: str) -> bool:
    try:
        await client.request("GET", VOLUME_SNAPSHOT_CLASSES.path(None, name))
    except ApiError as err:
        if err.status == 404:
            return False
        raise
    return True
