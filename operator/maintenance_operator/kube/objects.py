"""Generic writes of the objects a ManagedDatabase owns: server-side apply, create-once, and reads by name."""

from typing import Any

from maintenance_operator.api.rest import APPLY_PATCH, MERGE_PATCH
from maintenance_operator.kube import paths
from maintenance_operator.kube.client import ApiError, KubeClient

FIELD_MANAGER = "maintenance-operator"


async def apply(client: KubeClient, manifest: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply with our field manager: users' unrelated fields survive, drift in ours is corrected."""
    return await client.request(
        "PATCH",
        paths.for_manifest(manifest),
        body=manifest,
        content_type=APPLY_PATCH,
        params={"fieldManager": FIELD_MANAGER, "force": "true"},
    )


async def create_once(client: KubeClient, manifest: dict[str, Any]) -> bool:
    """POST; an existing object is left untouched (False). For Secrets with generated passwords."""
    path = paths.for_manifest(manifest).rsplit("/", 1)[0]
    try:
        await client.request("POST", path, body=manifest, params={"fieldManager": FIELD_MANAGER})
    except ApiError as err:
        if err.status == 409:
            return False
        raise
    return True


async def get(client: KubeClient, path: str) -> dict[str, Any] | None:
    """The object, or None when it does not exist."""
    try:
        return await client.request("GET", path)
    except ApiError as err:
        if err.status == 404:
            return None
        raise


async def merge(client: KubeClient, path: str, patch: dict[str, Any]) -> dict[str, Any]:
    return await client.request("PATCH", path, body=patch, content_type=MERGE_PATCH)


async def list_items(
    client: KubeClient, path: str, label_selector: str | None = None, page: int = 500
) -> list[dict[str, Any]]:
    """Every object of a collection (that the selector matches), in pages as the workload cache lists."""
    items: list[dict[str, Any]] = []
    first = {"limit": str(page), **({"labelSelector": label_selector} if label_selector else {})}
    params = first
    while True:
        listing = await client.request("GET", path, params=params)
        items += listing.get("items", [])
        token = (listing.get("metadata") or {}).get("continue")
        if not token:
            return items
        params = {**first, "continue": token}
