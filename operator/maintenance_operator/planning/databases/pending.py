"""What maintenance a ManagedDatabase waits for: a version update, announced maintenance, or both.

Pure and derived from the object alone (spec, status, annotations), so the operator's status and `kubectl
maintenance dbs` give the same answer. Announced maintenance (`maintenance.ops.dev/required`) follows the rules of
Deployments and StatefulSets (`planning.pending`); a version change means what `planning.versions` decides.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.planning.databases.versions import Refused, UpgradePending, decide
from maintenance_operator.planning.targets.pending import needs_since_stamp, pending
from maintenance_operator.planning.targets.workloads import workload_from_object
from maintenance_operator.planning.times import parse_time


@dataclass(frozen=True)
class DatabaseMaintenance:
    """One piece of maintenance a database waits for.

    `since` is None when unknown (an announcement the operator has not stamped yet, a version change without an
    `UpgradePending` condition). `refused` holds why a version change will not be applied (the running database
    stays as it is until the spec is fixed); such an entry is never done by a window.
    """

    reason: str
    since: datetime | None = None
    from_version: str | None = None
    to_version: str | None = None
    refused: Refused | None = None

    @property
    def version_update(self) -> bool:
        return self.from_version is not None


def version_update_reason(from_version: str, to_version: str) -> str:
    return f"version update {from_version} -> {to_version}"


def _condition_since(status: Mapping[str, Any], kind: str) -> datetime | None:
    for cond in status.get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == kind and cond.get("status") == "True":
            return parse_time(cond.get("lastTransitionTime"))
    return None


def version_maintenance(obj: Mapping[str, Any]) -> DatabaseMaintenance | None:
    """The version change `spec.version` asks for, or None (same version, or still being created)."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    current, desired = status.get("currentVersion"), spec.get("version")
    if not isinstance(current, str) or not current or not isinstance(desired, str) or not desired:
        return None  # no currentVersion: the database is being created at spec.version, not updated
    decision = decide(str(spec.get("engine") or ""), current, desired)
    since = _condition_since(status, names.CONDITION_UPGRADE_PENDING)
    if isinstance(decision, UpgradePending):
        to = decision.to_version
        return DatabaseMaintenance(version_update_reason(current, to), since, current, to)
    if isinstance(decision, Refused):
        return DatabaseMaintenance(version_update_reason(current, desired), since, current, desired, decision)
    return None


def announced_maintenance(obj: Mapping[str, Any]) -> DatabaseMaintenance | None:
    """`maintenance.ops.dev/required` not yet done, as for workloads; an unstamped announcement counts too."""
    w = workload_from_object(names.MANAGED_DATABASE, obj)
    found = pending(w)
    if found is not None:
        return DatabaseMaintenance(found.reason, found.since)
    if needs_since_stamp(w) and w.required is not None:
        return DatabaseMaintenance(w.required)
    return None


def database_maintenance(obj: Mapping[str, Any]) -> list[DatabaseMaintenance]:
    """Everything the database waits for: the version update first, then announced maintenance."""
    found = (version_maintenance(obj), announced_maintenance(obj))
    return [m for m in found if m is not None]
