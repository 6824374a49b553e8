"""When did a workload's current pod template come into being: the self-service check without listing pods.

Every pod of a template revision is created after that revision's ReplicaSet (Deployment) or ControllerRevision
(StatefulSet), and a complete rollout leaves no pod of another revision. So "every pod was created after the
announcement" holds when the current revision was created after it. The cache watches only the metadata of
those objects (a few hundred bytes each), so the answer costs no request per workload.

A rollback to an older revision (`kubectl rollout undo`) reuses that revision's object and its old creation
time: it is not credited, and the window does the maintenance instead (never a false credit).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.planning.times import parse_time

_OWNER_KINDS = {"ReplicaSet": "Deployment", "ControllerRevision": "StatefulSet"}


@dataclass(frozen=True, slots=True)
class TemplateRevision:
    owner_uid: str  # the Deployment or StatefulSet that controls it
    revision: str  # what the owner's `Workload.revision` names
    created: datetime


def template_revision(kind: str, meta: Mapping[str, Any]) -> TemplateRevision | None:
    """From a ReplicaSet's or ControllerRevision's metadata; None for one no Deployment or StatefulSet controls."""
    owner = next(
        (
            ref
            for ref in meta.get("ownerReferences") or ()
            if isinstance(ref, Mapping) and ref.get("controller") and ref.get("kind") == _OWNER_KINDS.get(kind)
        ),
        None,
    )
    created = parse_time(meta.get("creationTimestamp"))
    if owner is None or created is None or not owner.get("uid"):
        return None
    if kind == "ReplicaSet":
        revision = (meta.get("annotations") or {}).get(names.ANNOTATION_DEPLOYMENT_REVISION)
    else:
        revision = meta.get("name")
    if not isinstance(revision, str) or not revision:
        return None
    return TemplateRevision(str(owner["uid"]), revision, created)
