"""Which backup window backs up each ManagedDatabase, for `kubectl maintenance dbs`: the operator's rule
(`planning.backups.handling`) over what the caller may read.

The namespace's BackupWindows come from the command's listing; ClusterBackupWindows are listed once, and a
namespace's labels are read only when a cluster window that selects the database has a `namespaceSelector` (each at
most once). Whatever may not be read makes the answer unknown only where it could change it: a BackupWindow that
selects the database decides without the cluster windows, and `window: none` without either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from maintenance_operator.api import rest
from maintenance_operator.cli import kubeapi, reading, targets
from maintenance_operator.planning.backups import handling
from maintenance_operator.planning.targets.selectors import matches

WINDOWS_UNREADABLE = "unknown: you may not read BackupWindows here"
CLUSTER_UNREADABLE = "unknown: you may not list ClusterBackupWindows"
LABELS_UNREADABLE = "unknown: you may not read the namespace's labels, which ClusterBackupWindows select by"


@dataclass(frozen=True)
class Backup:
    """`windows`: as users name them (`BackupWindow/daily`, `ClusterBackupWindow/platform-default`);
    `configured` None: unknown (`note` says what could not be read); False: nothing backs it up (`note` says why)."""

    windows: tuple[str, ...]
    configured: bool | None
    note: str | None

    @classmethod
    def of(cls, found: handling.BackupHandling) -> Backup:
        return cls(tuple(found.refs), found.configured, None if found.configured else found.why_none)

    def wire(self) -> dict[str, Any]:
        return {"windows": list(self.windows), "configured": self.configured, "note": self.note}

    @property
    def cell(self) -> str:
        if self.configured is None:
            return "unknown"
        return ", ".join(self.windows) or "none: not backed up"


class Backups:
    """What the caller may read of the backup windows; `of` answers per database."""

    def __init__(self, api: kubeapi.Api, listing: reading.Listing) -> None:
        self._listing = listing
        self._own: dict[str, list[handling.BackupCandidate]] = {}
        for obj in listing.items[rest.BACKUP_WINDOWS]:
            meta = obj.get("metadata") or {}
            window = handling.candidate(str(meta.get("name")), obj.get("spec") or {}, cluster=False)
            self._own.setdefault(str(meta.get("namespace") or ""), []).append(window)
        self._cluster = _cluster_windows(api)
        self._labels = targets.NamespaceLabels(api)

    def of(self, namespace: str, labels: Mapping[str, str]) -> Backup:
        if not self._listing.readable(rest.BACKUP_WINDOWS, namespace):
            return Backup((), None, WINDOWS_UNREADABLE)
        own = self._own.get(namespace, [])
        found = handling.handling(own, {}, labels)
        if found.windows or found.excluded:
            return Backup.of(found)
        if self._cluster is None:
            return Backup((), None, CLUSTER_UNREADABLE)
        selecting = [c for c in self._cluster if c.problem is None and matches(c.selector, labels)]
        namespace_labels: Mapping[str, str] | None = {}
        if any(c.namespace_selector for c in selecting):
            namespace_labels = self._labels.get(namespace)
            if namespace_labels is None:
                return Backup((), None, LABELS_UNREADABLE)
        return Backup.of(handling.handling([*own, *selecting], namespace_labels, labels))


def _cluster_windows(api: kubeapi.Api) -> list[handling.BackupCandidate] | None:
    """Every ClusterBackupWindow as the rule sees it; None when the caller may not list them (or they are not
    served)."""
    try:
        objects = api.list_objects(rest.CLUSTER_BACKUP_WINDOWS, None)
    except kubeapi.KubeError as err:
        if err.forbidden or err.status == 404:
            return None
        raise
    return [
        handling.candidate(str((o.get("metadata") or {}).get("name")), o.get("spec") or {}, cluster=True)
        for o in objects
    ]
