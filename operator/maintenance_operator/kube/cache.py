"""The operator's view of the cluster's workloads: its own list+watch, reduced at once to what decisions need.

Deployments and StatefulSets become slim `Workload`s; their ReplicaSets and ControllerRevisions are watched as
metadata only, to know when each workload's current template was created (the self-service check, without a
pod LIST per workload); the operator's own VolumeSnapshots tell which databases are being backed up (a new leader
learns it from the cluster, not from its predecessor's memory). `synced` is set once every collection has
completed its first LIST: nothing acts on a partial view.
"""

import asyncio
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from maintenance_operator.api import names, rest
from maintenance_operator.kube.client import KubeClient
from maintenance_operator.kube.informer import Collection, Informer, cancel
from maintenance_operator.planning.backups.snapshots import SnapshotRecord, snapshot_record
from maintenance_operator.planning.nodes.cordon import NodeState, node_state
from maintenance_operator.planning.nodes.placement import Placement, placement
from maintenance_operator.planning.targets.revisions import TemplateRevision, template_revision
from maintenance_operator.planning.targets.workloads import Workload, workload_from_object

T = TypeVar("T")

WorkloadListener = Callable[[Workload | None, Workload | None], None]
RevisionListener = Callable[[TemplateRevision], None]
SnapshotListener = Callable[[str, str | None], None]  # namespace, database label of the snapshot
NamespaceListener = Callable[[str], None]  # a watched namespace whose labels changed (or that came or went)
NamespaceLabels = tuple[str, Mapping[str, str]]


def _scopes(namespaces: Sequence[str]) -> tuple[list[str | None], Callable[[str], bool]]:
    """Per-namespace watches for plain names; one cluster-wide watch, filtered, for glob patterns or none."""
    if namespaces and not any(ch in ns for ns in namespaces for ch in "*?["):
        return list(namespaces), lambda _ns: True
    if not namespaces:
        return [None], lambda _ns: True
    return [None], lambda ns: watched(ns, namespaces)


def watched(namespace: str, namespaces: Sequence[str]) -> bool:
    """Whether the operator acts in `namespace` (`namespaces`: --namespace, plain names or patterns; none: all)."""
    return not namespaces or any(fnmatch.fnmatchcase(namespace, pattern) for pattern in namespaces)


class ClusterCache:
    def __init__(
        self,
        client: KubeClient,
        namespaces: Sequence[str] = (),
        *,
        page_size: int = 500,
        watch_seconds: int = 300,
        nodes: bool = False,
    ) -> None:
        """`nodes`: node maintenance is enabled, so Nodes and the pods' placement are watched too."""
        self.client = client
        self.page_size = page_size
        self.watch_seconds = watch_seconds
        self._by_namespace: dict[str, dict[tuple[str, str], Workload]] = {}
        self._by_uid: dict[str, Workload] = {}
        self._revisions: dict[tuple[str, str], datetime] = {}  # (owner uid, revision) -> created
        self._snapshots: dict[str, dict[str, SnapshotRecord]] = {}  # namespace -> name -> record
        self._namespaces: dict[str, Mapping[str, str]] = {}  # watched namespace -> its labels
        self._nodes: dict[str, NodeState] = {}
        self._placements: dict[tuple[str, str], Placement] = {}  # (namespace, pod) -> where it runs, whose it is
        self.node_listeners: list[Callable[[], None]] = []  # a node or a pod's placement changed
        self.workload_listeners: list[WorkloadListener] = []
        self.revision_listeners: list[RevisionListener] = []
        self.snapshot_listeners: list[SnapshotListener] = []
        self.namespace_listeners: list[NamespaceListener] = []
        self.synced = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        scopes, wanted = _scopes(namespaces)
        self.informers: list[Informer[Any]] = []
        if nodes:
            self._add(Collection(rest.NODES.path()), node_state, self._node)
        # Namespaces' labels, for the cluster windows' namespaceSelector: one cluster-wide watch, filtered. An
        # account that may not list namespaces still syncs: their labels are then unknown (`namespace_labels`).
        self._add(
            Collection(rest.NAMESPACES.path(), optional=True),
            lambda obj: _namespace_labels(obj) if watched(_name(obj), namespaces) else None,
            self._namespace,
        )
        for ns in scopes:
            for resource in (rest.DEPLOYMENTS, rest.STATEFULSETS):
                self._add(Collection(resource.path(ns)), self._workload_reducer(resource.kind, wanted), self._workload)
            for resource in (rest.REPLICA_SETS, rest.CONTROLLER_REVISIONS):
                self._add(
                    Collection(resource.path(ns), metadata_only=True),
                    self._revision_reducer(resource.kind, wanted),
                    self._revision,
                )
            if nodes:
                self._add(
                    Collection(rest.PODS.path(ns)),
                    lambda obj: placement(obj) if wanted(_namespace(obj)) else None,
                    self._placement,
                )
            selector = f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY_VALUE}"
            self._add(
                Collection(rest.VOLUME_SNAPSHOTS.path(ns), label_selector=selector),
                lambda obj: (_namespace(obj), snapshot_record(obj)) if wanted(_namespace(obj)) else None,
                self._snapshot,
            )

    def _add(
        self,
        collection: Collection,
        reduce: Callable[[Mapping[str, Any]], T | None],
        on_change: Callable[[T | None, T | None], None],
    ) -> None:
        self.informers.append(
            Informer(
                self.client, collection, reduce, on_change, page_size=self.page_size, watch_seconds=self.watch_seconds
            )
        )

    # -- running -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [asyncio.create_task(i.run(), name=f"informer {i.collection.path}") for i in self.informers]
        self._tasks.append(asyncio.create_task(self._await_sync(), name="cache sync"))

    async def _await_sync(self) -> None:
        await asyncio.gather(*(i.synced.wait() for i in self.informers))
        self.synced.set()

    async def stop(self) -> None:
        await cancel(self._tasks)

    # -- reading -------------------------------------------------------------------------------------------
    def workloads(self, namespace: str) -> list[Workload]:
        return list(self._by_namespace.get(namespace, {}).values())

    def all_workloads(self) -> list[Workload]:
        return [w for by_key in self._by_namespace.values() for w in by_key.values()]

    def workload(self, kind: str, namespace: str, name: str) -> Workload | None:
        return self._by_namespace.get(namespace, {}).get((kind, name))

    def workload_by_uid(self, uid: str) -> Workload | None:
        return self._by_uid.get(uid)

    def revision_created(self, w: Workload) -> datetime | None:
        """When the workload's current template revision was created, if its ReplicaSet/ControllerRevision is seen."""
        return None if w.revision is None else self._revisions.get((w.uid, w.revision))

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        """A watched namespace's labels; None when it is not (yet) seen."""
        return self._namespaces.get(namespace)

    def namespaces(self) -> list[str]:
        """The watched namespaces known: those listed, and those with workloads (when namespaces may not be listed)."""
        return sorted(set(self._namespaces) | set(self._by_namespace))

    def nodes(self) -> dict[str, NodeState]:
        return dict(self._nodes)

    def placements(self) -> list[Placement]:
        """Every watched pod on a node (none unless node maintenance is enabled)."""
        return list(self._placements.values())

    def snapshots(self, namespace: str) -> list[SnapshotRecord]:
        return list(self._snapshots.get(namespace, {}).values())

    def size(self) -> dict[str, int]:
        return {
            "workloads": sum(len(v) for v in self._by_namespace.values()),
            "revisions": len(self._revisions),
            "snapshots": sum(len(v) for v in self._snapshots.values()),
            "namespaces": len(self._namespaces),
            "nodes": len(self._nodes),
            "pods": len(self._placements),
        }

    # -- store maintenance ---------------------------------------------------------------------------------
    @staticmethod
    def _workload_reducer(kind: str, wanted: Callable[[str], bool]) -> Callable[[Mapping[str, Any]], Workload | None]:
        def reduce(obj: Mapping[str, Any]) -> Workload | None:
            return workload_from_object(kind, obj) if wanted(_namespace(obj)) else None

        return reduce

    @staticmethod
    def _revision_reducer(
        kind: str, wanted: Callable[[str], bool]
    ) -> Callable[[Mapping[str, Any]], TemplateRevision | None]:
        def reduce(obj: Mapping[str, Any]) -> TemplateRevision | None:
            return template_revision(kind, obj.get("metadata") or {}) if wanted(_namespace(obj)) else None

        return reduce

    def _workload(self, old: Workload | None, new: Workload | None) -> None:
        if old is not None:
            by_key = self._by_namespace.get(old.namespace, {})
            by_key.pop((old.kind, old.name), None)
            if not by_key:
                self._by_namespace.pop(old.namespace, None)
            self._by_uid.pop(old.uid, None)
        if new is not None:
            self._by_namespace.setdefault(new.namespace, {})[(new.kind, new.name)] = new
            self._by_uid[new.uid] = new
        if self.synced.is_set():
            for listener in self.workload_listeners:
                listener(old, new)

    def _revision(self, old: TemplateRevision | None, new: TemplateRevision | None) -> None:
        if old is not None:
            self._revisions.pop((old.owner_uid, old.revision), None)
        if new is not None:
            self._revisions[(new.owner_uid, new.revision)] = new.created
            if self.synced.is_set():
                for listener in self.revision_listeners:
                    listener(new)

    def _node(self, old: NodeState | None, new: NodeState | None) -> None:
        if old is not None:
            self._nodes.pop(old.name, None)
        if new is not None:
            self._nodes[new.name] = new
        self._nodes_changed()

    def _placement(self, old: Placement | None, new: Placement | None) -> None:
        if old is not None:
            self._placements.pop((old.namespace, old.name), None)
        if new is not None:
            self._placements[(new.namespace, new.name)] = new
        if old != new:
            self._nodes_changed()

    def _nodes_changed(self) -> None:
        if self.synced.is_set():
            for listener in self.node_listeners:
                listener()

    def _namespace(self, old: NamespaceLabels | None, new: NamespaceLabels | None) -> None:
        if old is not None:
            self._namespaces.pop(old[0], None)
        if new is not None:
            self._namespaces[new[0]] = new[1]
        changed = new if new is not None else old
        if changed is not None and self.synced.is_set() and (old is None or new is None or old[1] != new[1]):
            for listener in self.namespace_listeners:
                listener(changed[0])

    def _snapshot(self, old: tuple[str, SnapshotRecord] | None, new: tuple[str, SnapshotRecord] | None) -> None:
        touched: set[tuple[str, str | None]] = set()
        if old is not None:
            namespace, record = old
            by_name = self._snapshots.get(namespace, {})
            by_name.pop(record.name, None)
            if not by_name:
                self._snapshots.pop(namespace, None)
            touched.add((namespace, record.database))
        if new is not None:
            namespace, record = new
            self._snapshots.setdefault(namespace, {})[record.name] = record
            touched.add((namespace, record.database))
        if self.synced.is_set():
            for namespace, database in touched:
                for listener in self.snapshot_listeners:
                    listener(namespace, database)


def _namespace(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _namespace_labels(obj: Mapping[str, Any]) -> NamespaceLabels:
    return _name(obj), dict((obj.get("metadata") or {}).get("labels") or {})
