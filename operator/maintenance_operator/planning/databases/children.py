"""What a ManagedDatabase's task applies: its Services and StatefulSet, its own annotations, a restore, a resize.

Pure, so the rules are table-tested: the StatefulSet carries the database's labels (a window selecting the database
selects it) and its pending maintenance (the window installs it with the same PATCH as any restart); announced
maintenance is stamped on the database, and recorded done there too, so `kubectl maintenance dbs` (which reads
only the database) agrees; the claim template is immutable, so a larger size goes to the data PVC.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.api.database import ManagedDatabaseSpec
from maintenance_operator.planning.databases import manifests
from maintenance_operator.planning.databases.quantities import parse_quantity
from maintenance_operator.planning.databases.status import announced_done, maintenance_annotations
from maintenance_operator.planning.databases.versions import VersionDecision
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.times import format_time, parse_time


@dataclass(frozen=True)
class Children:
    """The manifests to apply (each only when it differs from the last applied) and the database's annotations."""

    services: tuple[manifests.Manifest, ...]
    statefulset: manifests.Manifest
    # merged into the database's own annotations first (`required-since` stamped, maintenance recorded done)
    database_annotations: dict[str, str | None] = field(default_factory=dict)
    claim_size: str | None = None  # the claim template's size once this is applied


def decide(
    ref: manifests.DatabaseRef,
    spec: ManagedDatabaseSpec,
    version: str,
    decision: VersionDecision,
    live: Workload | None,
    claim_size: str | None,
    metadata: Mapping[str, Any],
    now: datetime,
) -> Children:
    """The children for running `version`; `claim_size` is the live template's, `metadata` the database's own."""
    db_annotations = metadata.get("annotations") or {}
    required = (db_annotations.get(names.ANNOTATION_REQUIRED) or "").strip() or None
    since = parse_time(db_annotations.get(names.ANNOTATION_REQUIRED_SINCE))
    own: dict[str, str | None] = {}
    if required and since is None:
        own[names.ANNOTATION_REQUIRED_SINCE] = format_time(now)
        since = now
    completed = parse_time(db_annotations.get(names.ANNOTATION_COMPLETED_AT))
    recorded = completed is not None and since is not None and completed >= since
    if required and live is not None and announced_done(live, since) and not recorded:
        own[names.ANNOTATION_COMPLETED_AT] = format_time(now)
        own[names.ANNOTATION_COMPLETED_BY] = live.restarted_by or "self-service"
    sts = manifests.statefulset(ref, spec, version, claim_size=claim_size)
    meta = sts["metadata"]
    meta["labels"] = {**(metadata.get("labels") or {}), **meta["labels"]}
    if annotations := maintenance_annotations(
        decision, spec.apply_immediately, required, since, live, spec.engine, now
    ):
        meta["annotations"] = annotations
    return Children(
        services=(manifests.headless_service(ref, spec.engine), manifests.client_service(ref, spec.engine)),
        statefulset=sts,
        database_annotations=own,
        claim_size=spec.storage.size if live is None else claim_size,
    )


def template_claim_size(statefulset: Mapping[str, Any]) -> str | None:
    """The storage request of a live StatefulSet's (first) claim template: what the data volume was created with."""
    templates = (statefulset.get("spec") or {}).get("volumeClaimTemplates") or [{}]
    size = ((templates[0].get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")
    return str(size) if size is not None else None


def claim_to_grow(ref: manifests.DatabaseRef, wanted: str, claim_size: str | None) -> manifests.Manifest | None:
    """The data PVC's resize when `wanted` is larger than the claim template's size; None otherwise."""
    want, have = parse_quantity(wanted), parse_quantity(claim_size)
    if want is None or have is None or want <= have:
        return None
    return manifests.claim_resize(ref, wanted)


RESTORE_BLOCKED = "RestoreSnapshotNotReady"


def restore_problem(namespace: str, snapshot_name: str, snapshot: Mapping[str, Any] | None) -> str | None:
    """Why the data volume cannot be created from the snapshot yet (nothing is created meanwhile); None: it can."""
    if snapshot is None:
        return f"VolumeSnapshot {snapshot_name} not found in namespace {namespace}; nothing was created"
    if not (snapshot.get("status") or {}).get("readyToUse"):
        return f"VolumeSnapshot {snapshot_name} is not readyToUse yet; nothing was created"
    return None
