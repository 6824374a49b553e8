"""Which pod of an `OnDelete` StatefulSet a window replaces next, if any.

With `updateStrategy: OnDelete` the StatefulSet controller replaces a pod only once it is gone, so a restart's
template change alone replaces nothing. Maintenance then means what the controller's RollingUpdate would do, at
the window's time: one pod at a time, the highest ordinal first, each only once every pod is ready again. Pods are
evicted (never deleted), so PodDisruptionBudgets hold.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

REVISION_LABEL = "controller-revision-hash"  # the StatefulSet controller's label: the revision a pod was made from


@dataclass(frozen=True, slots=True)
class Pod:
    name: str
    ordinal: int  # -1 when the name has no `-<n>` suffix (not the controller's)
    revision: str | None
    ready: bool
    deleting: bool


def pod_from_object(body: Mapping[str, Any]) -> Pod:
    meta = body.get("metadata") or {}
    name = str(meta.get("name", ""))
    _, _, suffix = name.rpartition("-")
    conditions = (body.get("status") or {}).get("conditions") or ()
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return Pod(
        name=name,
        ordinal=int(suffix) if suffix.isdigit() else -1,
        revision=(meta.get("labels") or {}).get(REVISION_LABEL),
        ready=ready,
        deleting=meta.get("deletionTimestamp") is not None,
    )


def next_to_replace(pods: Iterable[Pod], update_revision: str | None, replicas: int) -> Pod | None:
    """The pod to evict now: None while any pod is missing, not ready or going away (one at a time, as the
    controller's rolling update), or once every pod runs `update_revision`."""
    pods = list(pods)
    if update_revision is None or len(pods) < replicas or any(p.deleting or not p.ready for p in pods):
        return None
    stale = [p for p in pods if p.revision != update_revision]
    return max(stale, key=lambda p: (p.ordinal, p.name), default=None)
