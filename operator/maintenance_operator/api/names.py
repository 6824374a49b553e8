"""Every name the operator shares with the cluster: API group, kinds, labels, annotations, conditions.

Kept in one place because users, the CLI, dashboards and alert rules depend on these strings: renaming one is an
API change.
"""

from typing import Final

GROUP: Final = "maintenance.ops.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

# Kinds and their resource names.
MAINTENANCE_WINDOW: Final = "MaintenanceWindow"
BACKUP_WINDOW: Final = "BackupWindow"
MANAGED_DATABASE: Final = "ManagedDatabase"
# Cluster-scoped: the platform's default windows for every namespace.
CLUSTER_MAINTENANCE_WINDOW: Final = "ClusterMaintenanceWindow"
CLUSTER_BACKUP_WINDOW: Final = "ClusterBackupWindow"
# Cluster-scoped: the platform's announcement of maintenance over many namespaces.
MAINTENANCE: Final = "Maintenance"
PLURALS: Final = {
    MAINTENANCE_WINDOW: "maintenancewindows",
    BACKUP_WINDOW: "backupwindows",
    MANAGED_DATABASE: "manageddatabases",
    CLUSTER_MAINTENANCE_WINDOW: "clustermaintenancewindows",
    CLUSTER_BACKUP_WINDOW: "clusterbackupwindows",
    MAINTENANCE: "maintenances",
}
SHORT_NAMES: Final = {
    MAINTENANCE_WINDOW: ["mw"],
    BACKUP_WINDOW: ["bw"],
    MANAGED_DATABASE: ["mdb"],
    CLUSTER_MAINTENANCE_WINDOW: ["cmw"],
    CLUSTER_BACKUP_WINDOW: ["cbw"],
    MAINTENANCE: ["mnt"],
}
# The name `deploy/` gives the cluster windows it installs.
PLATFORM_DEFAULT: Final = "platform-default"

_P: Final = f"{GROUP}/"

# Annotations users (or `kubectl maintenance require`) put on a workload to announce maintenance.
ANNOTATION_REQUIRED: Final = _P + "required"
ANNOTATION_REQUIRED_SINCE: Final = _P + "required-since"
# Set by the operator when maintenance completed: RFC 3339 time, and how (self-service or window/occurrence).
ANNOTATION_COMPLETED_AT: Final = _P + "completed-at"
ANNOTATION_COMPLETED_BY: Final = _P + "completed-by"
# Written into the pod template beside kubectl's restartedAt, so a restart is never repeated for one occurrence.
ANNOTATION_OCCURRENCE: Final = _P + "occurrence"
# Beside it on the pod template: which window restarted it (`MaintenanceWindow/weekly`), since two windows'
# occurrences can have the same id (the same start).
ANNOTATION_OCCURRENCE_WINDOW: Final = _P + "occurrence-window"
# The occurrence whose advance notice was sent for this workload (one notice per target and occurrence).
ANNOTATION_NOTICE_SENT: Final = _P + "notice-sent"
# Who restarted it: `MaintenanceWindow/<name>`, beside the occurrence id in the pod template.
ANNOTATION_RESTARTED_BY: Final = _P + "restarted-by"
# On a ManagedDatabase's StatefulSet: the image its pending version upgrade installs (set by the operator).
ANNOTATION_TARGET_IMAGE: Final = _P + "target-image"
# On a window: open an ad-hoc occurrence now.
ANNOTATION_RUN_NOW: Final = _P + "run-now"
# On a workload or ManagedDatabase: `none` leaves it out of every cluster window (its owners handle it).
LABEL_WINDOW: Final = _P + "window"
WINDOW_NONE: Final = "none"
# The annotation `kubectl rollout restart` sets in the pod template; the operator restarts the same way.
ANNOTATION_RESTARTED_AT: Final = "kubectl.kubernetes.io/restartedAt"
# The deployment controller's revision number, on a Deployment and on the ReplicaSet of each of its templates.
ANNOTATION_DEPLOYMENT_REVISION: Final = "deployment.kubernetes.io/revision"

# Labels on objects the operator creates (VolumeSnapshots, database children).
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE: Final = "maintenance-operator"
LABEL_DATABASE: Final = _P + "database"
LABEL_BACKUP_WINDOW: Final = _P + "backup-window"
LABEL_OCCURRENCE: Final = _P + "occurrence"
LABEL_ON_DEMAND: Final = _P + "on-demand"  # "true" on `kubectl maintenance backup DB` snapshots
# The data PVC a snapshot was taken from (also in spec.source, but a label lets the CLI select by volume).
LABEL_SOURCE_PVC: Final = _P + "source-pvc"
ON_DEMAND_VALUE: Final = "true"
# On-demand request ids: the prefix keeps them apart from occurrence ids (`20261201T1400Z`) in labels and names.
ON_DEMAND_PREFIX: Final = "on-demand-"

SNAPSHOT_API_GROUP: Final = "snapshot.storage.k8s.io"
SNAPSHOT_API_VERSION: Final = f"{SNAPSHOT_API_GROUP}/v1"
VOLUME_SNAPSHOT: Final = "VolumeSnapshot"

# Maintenance reasons named by design.md; free text is accepted too.
KNOWN_REASONS: Final = ("hardware", "security", "feature", "database-security")

# Condition types (metav1.Condition shape).
CONDITION_READY: Final = "Ready"
CONDITION_WINDOW_OPEN: Final = "WindowOpen"
CONDITION_SUSPENDED: Final = "Suspended"
CONDITION_UPGRADE_PENDING: Final = "UpgradePending"
CONDITION_MAINTENANCE_PENDING: Final = "MaintenancePending"
CONDITION_BACKUP_MISSED: Final = "BackupMissed"
CONDITION_MAINTENANCE_MISSED: Final = "MaintenanceMissed"
CONDITION_RESTORED: Final = "Restored"
CONDITION_BACKUP_CONFIGURED: Final = "BackupConfigured"
CONDITION_COMPLETE: Final = "Complete"  # a Maintenance: every target it covers is done
CONDITION_OVERDUE: Final = "Overdue"  # a Maintenance: targets still pending past its deadline

# Defaults from the managed platform's policy (design.md).
DEFAULT_MAINTENANCE_SCHEDULE: Final = "0 14 * * 2"
DEFAULT_BACKUP_SCHEDULE: Final = "0 13 * * *"
DEFAULT_DURATION: Final = "1h"
DEFAULT_TIME_ZONE: Final = "UTC"
DEFAULT_NOTICE_BEFORE: Final = "72h"
DEFAULT_ROLLOUT_TIMEOUT: Final = "10m"
