"""The REST vocabulary of the operator (kube/) and the CLI (cli/kubeapi): resource types, their paths, and the
content types of writes.

Pure, so the CLI shares it without importing the operator's aiohttp client, and a path is spelled in one place.
"""

from dataclasses import dataclass
from typing import Final

from maintenance_operator.api import names

JSON: Final = "application/json"
MERGE_PATCH: Final = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
APPLY_PATCH: Final = "application/apply-patch+yaml"  # server-side apply; JSON is YAML


@dataclass(frozen=True)
class Resource:
    """A resource type; `name` is how kubectl and RBAC messages spell it (`deployments.apps`)."""

    kind: str
    group: str  # "" for the core group
    version: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def name(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str = "") -> str:
        """The collection (no name), one object, or its subresource; no namespace: cluster-wide or cluster-scoped."""
        base = f"/apis/{self.api_version}" if self.group else f"/api/{self.version}"
        scope = f"/namespaces/{namespace}" if namespace else ""
        path = f"{base}{scope}/{self.plural}"
        return path + (f"/{name}" if name else "") + (f"/{subresource}" if subresource else "")


def _custom(kind: str) -> Resource:
    return Resource(kind, names.GROUP, names.VERSION, names.PLURALS[kind])


DEPLOYMENTS: Final = Resource("Deployment", "apps", "v1", "deployments")
STATEFULSETS: Final = Resource("StatefulSet", "apps", "v1", "statefulsets")
REPLICA_SETS: Final = Resource("ReplicaSet", "apps", "v1", "replicasets")
CONTROLLER_REVISIONS: Final = Resource("ControllerRevision", "apps", "v1", "controllerrevisions")
NAMESPACES: Final = Resource("Namespace", "", "v1", "namespaces")
PODS: Final = Resource("Pod", "", "v1", "pods")
NODES: Final = Resource("Node", "", "v1", "nodes")
EVENTS: Final = Resource("Event", "", "v1", "events")
SERVICES: Final = Resource("Service", "", "v1", "services")
SECRETS: Final = Resource("Secret", "", "v1", "secrets")
PERSISTENT_VOLUME_CLAIMS: Final = Resource("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims")
_SNAPSHOTS = names.SNAPSHOT_API_GROUP
VOLUME_SNAPSHOTS: Final = Resource(names.VOLUME_SNAPSHOT, _SNAPSHOTS, "v1", "volumesnapshots")
VOLUME_SNAPSHOT_CLASSES: Final = Resource("VolumeSnapshotClass", _SNAPSHOTS, "v1", "volumesnapshotclasses")
LEASES: Final = Resource("Lease", "coordination.k8s.io", "v1", "leases")
MAINTENANCE_WINDOWS: Final = _custom(names.MAINTENANCE_WINDOW)
BACKUP_WINDOWS: Final = _custom(names.BACKUP_WINDOW)
MANAGED_DATABASES: Final = _custom(names.MANAGED_DATABASE)
CLUSTER_MAINTENANCE_WINDOWS: Final = _custom(names.CLUSTER_MAINTENANCE_WINDOW)
CLUSTER_BACKUP_WINDOWS: Final = _custom(names.CLUSTER_BACKUP_WINDOW)
MAINTENANCES: Final = _custom(names.MAINTENANCE)

# By kind: the workloads a window restarts, the operator's own kinds, and every type above.
WORKLOADS: Final = {r.kind: r for r in (DEPLOYMENTS, STATEFULSETS)}
CUSTOM: Final = {
    r.kind: r
    for r in (
        MAINTENANCE_WINDOWS,
        BACKUP_WINDOWS,
        MANAGED_DATABASES,
        CLUSTER_MAINTENANCE_WINDOWS,
        CLUSTER_BACKUP_WINDOWS,
        MAINTENANCES,
    )
}
BY_KIND: Final = {
    r.kind: r
    for r in (
        *WORKLOADS.values(),
        *CUSTOM.values(),
        REPLICA_SETS,
        CONTROLLER_REVISIONS,
        NAMESPACES,
        PODS,
        EVENTS,
        SERVICES,
        SECRETS,
        PERSISTENT_VOLUME_CLAIMS,
        VOLUME_SNAPSHOTS,
        VOLUME_SNAPSHOT_CLASSES,
        LEASES,
    )
}
CORE: Final = {r.plural: r for r in BY_KIND.values() if not r.group}  # by plural, as `paths.core` names them
