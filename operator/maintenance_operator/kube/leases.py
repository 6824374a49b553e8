"""The coordination.k8s.io/v1 Lease of leader election: read, create and replace with optimistic concurrency.

These writes are not fenced: renewing the Lease is how a leader stays one, and a candidate's create or replace is
guarded by the API server itself (409 on a stale resourceVersion, so two candidates never both win).
"""

from typing import Any

from maintenance_operator.api.rest import LEASES
from maintenance_operator.kube.client import ApiError, KubeClient
from maintenance_operator.planning.leases import LeaseRecord, lease_spec


async def get(client: KubeClient, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return await client.request("GET", LEASES.path(namespace, name))
    except ApiError as err:
        if err.status == 404:
            return None
        raise


async def create(client: KubeClient, namespace: str, name: str, record: LeaseRecord) -> dict[str, Any]:
    body = {
        "apiVersion": LEASES.api_version,
        "kind": LEASES.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": lease_spec(record),
    }
    return await client.request("POST", LEASES.path(namespace), body=body, fenced=False)


async def replace(client: KubeClient, current: dict[str, Any], record: LeaseRecord) -> dict[str, Any]:
    """PUT with the resourceVersion we read: a 409 means someone else wrote it first."""
    meta = current["metadata"]
    body = {**current, "spec": lease_spec(record)}
    return await client.request("PUT", LEASES.path(meta["namespace"], meta["name"]), body=body, fenced=False)
