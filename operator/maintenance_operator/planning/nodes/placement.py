"""Where a pod runs and which workload it belongs to, reduced from the pod at once (a node's maintenance needs no
more, and 2,000 Deployments' pods cost a few hundred bytes each).

A Deployment's pod is owned by a ReplicaSet the deployment controller names `<deployment>-<pod-template-hash>`, so
the Deployment is known from the pod alone, without a ReplicaSet lookup. DaemonSet pods (they follow the node) and
static pods (the kubelet's own; their mirror pods are owned by the Node) are the node owner's, as are pods of no
Deployment or StatefulSet: they are listed, never waited for.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
TEMPLATE_HASH = "pod-template-hash"


class Unmanaged(StrEnum):
    DAEMON_SET = "DaemonSet"
    STATIC = "static"
    NO_WORKLOAD = "no-workload"


@dataclass(frozen=True, slots=True)
class Placement:
    """A running (or starting) pod on a node; `workload` is its Deployment's or StatefulSet's (kind, name), or
    None with why it is the node owner's (`unmanaged`)."""

    namespace: str
    name: str
    node: str
    workload: tuple[str, str] | None
    unmanaged: Unmanaged | None = None

    @property
    def key(self) -> tuple[str, str, str] | None:
        """The workload as the cache keys it (kind, namespace, name)."""
        return None if self.workload is None else (self.workload[0], self.namespace, self.workload[1])


def placement(obj: Mapping[str, Any]) -> Placement | None:
    """None for a pod on no node yet, or finished (it holds nothing on its node)."""
    meta = obj.get("metadata") or {}
    node = (obj.get("spec") or {}).get("nodeName")
    phase = (obj.get("status") or {}).get("phase")
    if not node or phase in ("Succeeded", "Failed"):
        return None
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
        return Placement(namespace, name, node, None, Unmanaged.STATIC)
    owner: Mapping[str, Any] = next((r for r in meta.get("ownerReferences") or () if r.get("controller")), {})
    kind, owner_name = owner.get("kind"), str(owner.get("name") or "")
    if kind == "DaemonSet":
        return Placement(namespace, name, node, None, Unmanaged.DAEMON_SET)
    if kind == "Node":
        return Placement(namespace, name, node, None, Unmanaged.STATIC)
    if kind == "StatefulSet" and owner_name:
        return Placement(namespace, name, node, ("StatefulSet", owner_name))
    template_hash = (meta.get("labels") or {}).get(TEMPLATE_HASH)
    if kind == "ReplicaSet" and template_hash and owner_name.endswith(f"-{template_hash}"):
        return Placement(namespace, name, node, ("Deployment", owner_name[: -len(template_hash) - 1]))
    return Placement(namespace, name, node, None, Unmanaged.NO_WORKLOAD)
