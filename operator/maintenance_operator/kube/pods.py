"""Pods of an OnDelete StatefulSet: read only while the window replaces them, and evicted, never deleted.

The Eviction API honours PodDisruptionBudgets (a 429 means "not now"), which is why the operator has
`pods/eviction` and no `delete` on pods.
"""

from maintenance_operator.api.rest import PODS
from maintenance_operator.kube import objects
from maintenance_operator.kube.client import ApiError, KubeClient
from maintenance_operator.planning.targets.pod_replacement import Pod, pod_from_object
from maintenance_operator.planning.targets.workloads import Workload

TOO_MANY_REQUESTS = 429  # the eviction would break a PodDisruptionBudget


async def of_workload(client: KubeClient, w: Workload) -> list[Pod]:
    """The pods its selector matches and it owns (another controller's pods with the same labels are not its)."""
    selector = ",".join(f"{k}={v}" for k, v in sorted(w.pod_selector.items()))
    items = await objects.list_items(client, PODS.path(w.namespace), selector or None)
    owned = [i for i in items if any(o.get("uid") == w.uid for o in i["metadata"].get("ownerReferences") or ())]
    return [pod_from_object(i) for i in owned]


async def evict(client: KubeClient, namespace: str, name: str) -> bool:
    """False when a PodDisruptionBudget refuses it now, or the pod is already gone."""
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
    try:
        await client.request("POST", PODS.path(namespace, name, "eviction"), body=body)
    except ApiError as err:
        if err.status in (TOO_MANY_REQUESTS, 404):
            return False
        raise
    return True
