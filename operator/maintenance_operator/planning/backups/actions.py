"""Backups and restores a person asks for (`kubectl maintenance backup` and `restore`), as pure decisions.

The VolumeSnapshot an on-demand backup creates (named and labelled by `backups`, so retention keeps it like a
window's), why a snapshot cannot be restored into a new database, and the ManagedDatabase a restore creates.
"""

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.planning.backups.snapshots import (
    SnapshotRecord,
    SnapshotRequest,
    label_value,
    on_demand_id,
    snapshot_labels,
    snapshot_name,
)
from maintenance_operator.planning.databases.manifests import data_claim_name
from maintenance_operator.planning.databases.quantities import parse_quantity

# Labels a restored copy does not inherit: the operator's own, and those by which a deployment tool claims an
# object (Helm's and Argo CD's tracking labels): a copy the tool never created must not be adopted, or pruned, by it.
# Every other label is kept, those the windows select by included (see `restored_labels`).
OWNERSHIP_LABELS = frozenset({names.LABEL_MANAGED_BY, "app.kubernetes.io/instance", "helm.sh/chart"})
_OPERATOR_PREFIX = names.GROUP + "/"


def on_demand_request(database: str, now: datetime) -> SnapshotRequest:
    """The snapshot of the database's data volume that `kubectl maintenance backup` takes at ``now``."""
    pvc = data_claim_name(database)
    occurrence = on_demand_id(now)
    return SnapshotRequest(
        name=snapshot_name(database, pvc, occurrence),
        database=database,
        pvc=pvc,
        labels=snapshot_labels(database, pvc, occurrence, window=None),
    )


def snapshot_manifest(request: SnapshotRequest, namespace: str, class_name: str | None = None) -> dict[str, Any]:
    """The VolumeSnapshot of ``request``; without ``class_name`` the driver's default VolumeSnapshotClass is used."""
    spec: dict[str, Any] = {"source": {"persistentVolumeClaimName": request.pvc}}
    if class_name:
        spec["volumeSnapshotClassName"] = class_name
    return {
        "apiVersion": names.SNAPSHOT_API_VERSION,
        "kind": names.VOLUME_SNAPSHOT,
        "metadata": {"name": request.name, "namespace": namespace, "labels": dict(request.labels)},
        "spec": spec,
    }


def belongs_to(snapshot: SnapshotRecord, database: str) -> bool:
    """The snapshot is a backup of ``database`` (its database label, compared as it was written)."""
    return snapshot.database is not None and snapshot.database == label_value(database)


def restore_refusal(snapshot: SnapshotRecord, database: str, *, force: bool = False) -> str | None:
    """Why ``snapshot`` cannot be restored as a copy of ``database``, or None.

    ``force`` overrides only the ownership check (a snapshot of another database, or of no database, restored with
    this database's engine and version); a snapshot that is failed, still being taken or being deleted holds no
    data to restore, whatever the flag.
    """
    name = snapshot.name
    if snapshot.deleting:
        return f"VolumeSnapshot {name} is being deleted"
    if snapshot.failed:
        return f"VolumeSnapshot {name} failed ({snapshot.error}); it holds no data to restore"
    if not snapshot.ready:
        return f"VolumeSnapshot {name} is not readyToUse yet; wait until it is ready, then restore"
    if force or belongs_to(snapshot, database):
        return None
    if snapshot.database is None:
        owner = f"is not a backup of a ManagedDatabase (no {names.LABEL_DATABASE} label)"
    else:
        owner = f"is a backup of database {snapshot.database}, not of {database}"
    return f"VolumeSnapshot {name} {owner}; pass --force to restore it with the engine and version of {database} anyway"


def restored_size(size: str, restore_size: str | None) -> str:
    """The new volume's size: the source's, or the snapshot's restoreSize when that is larger (a volume restored
    from a snapshot must be at least as large as the snapshot)."""
    needed = parse_quantity(restore_size)
    have = parse_quantity(size)
    if needed is None or (have is not None and have >= needed):
        return size
    assert restore_size is not None
    return restore_size.strip()


def restored_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The source's labels minus `OWNERSHIP_LABELS` and the operator's own (``maintenance.ops.dev/...``).

    Window-selection labels are kept as they are: the copy is selected by the same BackupWindow and
    MaintenanceWindow as its source, so restored data is backed up and maintained from the start. Relabel the copy
    (`kubectl label mdb NEW ...`) to take it out of them.
    """
    return {
        key: value
        for key, value in labels.items()
        if key not in OWNERSHIP_LABELS and not key.startswith(_OPERATOR_PREFIX)
    }


def restored_version(source: Mapping[str, Any]) -> str:
    """The version the source runs (status.currentVersion), else the one it asks for (spec.version)."""
    status = source.get("status") or {}
    spec = source.get("spec") or {}
    return str(status.get("currentVersion") or spec.get("version") or "")


def restored_database(
    source: Mapping[str, Any], name: str, snapshot: str, restore_size: str | None = None
) -> dict[str, Any]:
    """A new ManagedDatabase ``name``, in the source's namespace, whose data volume is created from ``snapshot``.

    It takes the source's engine, running version, storage (class, and a size at least the snapshot's
    restoreSize), resources and labels (see `restored_labels`); everything else keeps its default (``onDelete:
    Retain``, no ``applyImmediately``).
    """
    meta = source.get("metadata") or {}
    spec = source.get("spec") or {}
    storage = dict(spec.get("storage") or {})
    storage["size"] = restored_size(str(storage.get("size") or ""), restore_size)
    new_spec: dict[str, Any] = {
        "engine": spec.get("engine"),
        "version": restored_version(source),
        "storage": storage,
    }
    if spec.get("resources"):
        new_spec["resources"] = copy.deepcopy(dict(spec["resources"]))
    new_spec["restoreFrom"] = {"volumeSnapshotName": snapshot}
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.MANAGED_DATABASE,
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace"),
            "labels": restored_labels(meta.get("labels") or {}),
        },
        "spec": new_spec,
    }
