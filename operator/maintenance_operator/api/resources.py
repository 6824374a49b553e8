"""The registry of custom resources: kind -> models and `kubectl get` columns, used by crdgen and the CLI."""

from dataclasses import dataclass
from typing import Literal

from maintenance_operator.api import names
from maintenance_operator.api.base import Model, StatusModel
from maintenance_operator.api.database import ManagedDatabaseSpec, ManagedDatabaseStatus
from maintenance_operator.api.platform import (
    ClusterBackupWindowSpec,
    ClusterBackupWindowStatus,
    ClusterMaintenanceWindowSpec,
    MaintenanceSpec,
    MaintenanceStatus,
)
from maintenance_operator.api.windows import (
    BackupWindowSpec,
    BackupWindowStatus,
    MaintenanceWindowSpec,
    MaintenanceWindowStatus,
)


@dataclass(frozen=True)
class Column:
    name: str
    json_path: str
    type: str = "string"
    priority: int = 0
    description: str = ""


@dataclass(frozen=True)
class Resource:
    kind: str
    spec: type[Model]
    status: type[StatusModel]
    columns: tuple[Column, ...]
    description: str
    scope: Literal["Namespaced", "Cluster"] = "Namespaced"  # the platform's kinds are cluster-scoped

    @property
    def plural(self) -> str:
        return names.PLURALS[self.kind]

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def short_names(self) -> list[str]:
        return names.SHORT_NAMES[self.kind]


_WINDOW_COLUMNS = (
    Column("Schedule", ".spec.schedule"),
    Column("Zone", ".spec.timeZone"),
    # A string, not a date: kubectl renders future dates as "<invalid>".
    Column("Next", ".status.nextWindow", description="Start of the next window (UTC)"),
    Column("Open", ".status.open", "boolean"),
)
_AGE = Column("Age", ".metadata.creationTimestamp", "date")

MAINTENANCE_WINDOW = Resource(
    names.MAINTENANCE_WINDOW,
    MaintenanceWindowSpec,
    MaintenanceWindowStatus,
    (*_WINDOW_COLUMNS, Column("Pending", ".status.pendingCount", "integer"), _AGE),
    "Restarts the selected Deployments, StatefulSets and ManagedDatabases with pending maintenance inside "
    "each occurrence of a recurring window.",
)
BACKUP_WINDOW = Resource(
    names.BACKUP_WINDOW,
    BackupWindowSpec,
    BackupWindowStatus,
    (*_WINDOW_COLUMNS, Column("Last", ".status.lastResult"), _AGE),
    "Takes VolumeSnapshots of the selected ManagedDatabases' data volumes inside each occurrence of a "
    "recurring window, with safe retention.",
)
MANAGED_DATABASE = Resource(
    names.MANAGED_DATABASE,
    ManagedDatabaseSpec,
    ManagedDatabaseStatus,
    (
        Column("Engine", ".spec.engine"),
        Column("Version", ".status.currentVersion"),
        Column("Phase", ".status.phase"),
        Column("Endpoint", ".status.endpoint"),
        Column("Pending", ".status.pendingSummary"),
        _AGE,
    ),
    "A single-instance PostgreSQL, MySQL or Redis whose upgrades happen in its maintenance window.",
)
CLUSTER_MAINTENANCE_WINDOW = Resource(
    names.CLUSTER_MAINTENANCE_WINDOW,
    ClusterMaintenanceWindowSpec,
    MaintenanceWindowStatus,
    MAINTENANCE_WINDOW.columns,
    "The platform's default maintenance window: handles the selected targets of the selected namespaces that no "
    "MaintenanceWindow of their own namespace selects.",
    scope="Cluster",
)
CLUSTER_BACKUP_WINDOW = Resource(
    names.CLUSTER_BACKUP_WINDOW,
    ClusterBackupWindowSpec,
    ClusterBackupWindowStatus,
    (*_WINDOW_COLUMNS, Column("Databases", ".status.databases", "integer"), Column("Last", ".status.lastResult"), _AGE),
    "The platform's default backup window: snapshots the selected ManagedDatabases of the selected namespaces "
    "that no BackupWindow of their own namespace selects, each snapshot in its database's namespace.",
    scope="Cluster",
)
MAINTENANCE = Resource(
    names.MAINTENANCE,
    MaintenanceSpec,
    MaintenanceStatus,
    (
        Column("Reason", ".spec.reason"),
        Column("Total", ".status.total", "integer"),
        Column("Pending", ".status.pending", "integer"),
        Column("Overdue", ".status.overdue", "integer"),
        Column("Deadline", ".spec.deadline"),
        _AGE,
    ),
    "The platform's announcement of maintenance: every matching Deployment, StatefulSet and ManagedDatabase of "
    "the selected namespaces is pending with its reason, done in whatever window handles it or by its owners.",
    scope="Cluster",
)
RESOURCES = (
    MAINTENANCE_WINDOW,
    BACKUP_WINDOW,
    MANAGED_DATABASE,
    CLUSTER_MAINTENANCE_WINDOW,
    CLUSTER_BACKUP_WINDOW,
    MAINTENANCE,
)
