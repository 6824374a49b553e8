"""Process-wide state of the running operator: the API client, the clock, the workload cache, the windows.

Only caches and wiring live here; everything that must survive a crash or a change of leader is in the cluster's
objects (annotations, statuses, VolumeSnapshots).
"""

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from maintenance_operator.api import names
from maintenance_operator.kube.cache import ClusterCache
from maintenance_operator.kube.client import KubeClient
from maintenance_operator.planning.announcements import matching
from maintenance_operator.planning.backups import handling
from maintenance_operator.planning.backups.snapshots import label_value
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.windows import assignment

log = logging.getLogger(__name__)


class WindowWaker(Protocol):
    """A maintenance window's task as the others see it; a cluster window's `namespace` is ""."""

    namespace: str
    name: str

    @property
    def candidate(self) -> assignment.Candidate: ...

    def selects(self, labels: Mapping[str, str]) -> bool: ...

    def covers(self, namespace_labels: Mapping[str, str] | None) -> bool:
        """Whether a cluster window's namespaceSelector selects a namespace with these labels (None: not seen);
        a namespaced window covers none (it is ranked in its own namespace)."""

    def wake(self) -> None: ...


class BackupWaker(Protocol):
    """What a BackupWindow or ClusterBackupWindow task (namespace "") shows the rest of the operator: whom it may
    back up (`candidate`, for `planning.backups.handling`) and when it next backs up."""

    namespace: str
    name: str

    @property
    def candidate(self) -> handling.BackupCandidate: ...

    @property
    def next_start(self) -> datetime | None:
        """The start of its next occurrence; None while the window is invalid."""

    def wake(self) -> None: ...


class Waker(Protocol):
    namespace: str
    name: str
    body: Mapping[str, Any]

    def wake(self) -> None: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    client: KubeClient
    cache: ClusterCache
    clock: Callable[[], datetime] = utcnow
    # The running tasks of the operator's own resources, by uid.
    window_runners: dict[str, WindowWaker] = field(default_factory=dict)
    database_runners: dict[str, Waker] = field(default_factory=dict)
    backup_runners: dict[str, BackupWaker] = field(default_factory=dict)
    announcement_runners: dict[str, Waker] = field(default_factory=dict)
    # Node maintenance is enabled (--node-maintenance): the cache watches Nodes and pods, node announcements act.
    node_maintenance: bool = False
    # The usable Maintenance announcements, by uid: each one's task keeps its own entry.
    announcements: dict[str, matching.Announcement] = field(default_factory=dict)
    # (namespace, database, backup window uid) whose snapshot this process created and the cache may not show
    # yet; everything else about running snapshots comes from the cache, so a new leader knows it too.
    snapshotting: set[tuple[str, str, str]] = field(default_factory=set)
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    # Host patterns the notice webhook may call (--notice-webhook-allowed-hosts); none: every webhook is refused.
    notice_hosts: tuple[str, ...] = ()
    # Set once this replica may act: the cache has synced and it leads (or leader election is off).
    acting: asyncio.Event = field(default_factory=asyncio.Event)
    # namespace -> (the candidates ranked, when, the ranking): valid until it changes or a window does.
    _ranked: dict[str, tuple[list[assignment.Candidate], datetime, assignment.Ranked]] = field(default_factory=dict)

    def workloads(self, namespace: str) -> list[Workload]:
        """The namespace's cached workloads with the announcements covering each (pending derived, not written)."""
        found = self.cache.workloads(namespace)
        if not self.announcements:
            return found
        announcements, labels, databases = self._announcement_scope(namespace)
        return [matching.announced(w, announcements, labels, databases) for w in found]

    def workload(self, kind: str, namespace: str, name: str) -> Workload | None:
        found = self.cache.workload(kind, namespace, name)
        return self.announced(found) if found is not None else None

    def announced(self, w: Workload) -> Workload:
        """A cached workload with the announcements covering it."""
        if not self.announcements:
            return w
        return matching.announced(w, *self._announcement_scope(w.namespace))

    def _announcement_scope(
        self, namespace: str
    ) -> tuple[list[matching.Announcement], Mapping[str, str] | None, dict[str, Mapping[str, str]]]:
        return (
            list(self.announcements.values()),
            self.cache.namespace_labels(namespace),
            self.database_labels(namespace),
        )

    def announced_by(self, w: Workload) -> str:
        """What a notice says of the announcements a workload is pending for: each one's name and description."""
        descriptions = {a.name: a.description for a in self.announcements.values()}
        told = [
            f"Maintenance {n}: {descriptions[n]}" if descriptions.get(n) else f"Maintenance {n}"
            for n in w.announcements
        ]
        return " Announced by " + "; ".join(told) + "." if told else ""

    def database_labels(self, namespace: str) -> dict[str, Mapping[str, str]]:
        """The namespace's ManagedDatabases' own labels, by their `maintenance.ops.dev/database` label value."""
        return {
            label_value(db.name): (db.body.get("metadata") or {}).get("labels") or {}
            for db in self.database_runners.values()
            if db.namespace == namespace
        }

    def wake_every_window(self) -> None:
        """An announcement changed: any window's targets may have become pending, or stopped being."""
        for window in self.window_runners.values():
            window.wake()

    def wake_announcements(self) -> None:
        """A workload, database or namespace changed: any announcement's progress may have moved."""
        for announcement in self.announcement_runners.values():
            announcement.wake()

    def ranked_windows(self, namespace: str, now: datetime) -> assignment.Ranked:
        """The namespace's MaintenanceWindows ranked for assignment, reused until a window or the ranking changes.

        Every window's pass asks this for every target, so 50 windows opening at one boundary rank once, not 50
        times; one ranking for all of them is also what makes them agree on who handles what.
        """
        candidates = [w.candidate for w in self.windows_of(namespace)]
        cached = self._ranked.get(namespace)
        if cached is not None:
            known, at, ranked = cached
            same = len(known) == len(candidates) and all(a is b for a, b in zip(known, candidates, strict=True))
            if same and at <= now and (ranked.changes_at is None or now < ranked.changes_at):
                return ranked
        ranked = assignment.rank(candidates, now)
        self._ranked[namespace] = (candidates, now, ranked)
        return ranked

    def windows_of(self, namespace: str) -> list[WindowWaker]:
        """The maintenance windows that may handle a target of `namespace`: its own and the cluster windows
        covering it."""
        labels = self.cache.namespace_labels(namespace)
        return [
            w
            for w in self.window_runners.values()
            if w.namespace == namespace or (not w.namespace and w.covers(labels))
        ]

    def window_for(self, namespace: str, labels: Mapping[str, str]) -> assignment.Assignment:
        """The MaintenanceWindow that handles a target with these labels, by the rule the CLI uses too."""
        return assignment.choose(self.ranked_windows(namespace, self.clock()), labels)

    def wake_databases(self, namespace: str, label: str | None = None) -> None:
        """A database's StatefulSet or snapshot changed (`label`: its `maintenance.ops.dev/database` label value),
        or, with no label, a window of the namespace."""
        for db in self.database_runners.values():
            if db.namespace == namespace and (label is None or label_value(db.name) == label):
                db.wake()

    def wake_database_of_snapshot(self, namespace: str, database: str | None) -> None:
        """A snapshot labelled with `database` changed: wake that database (an unlabelled one wakes none)."""
        if database is not None:
            self.wake_databases(namespace, database)

    def backup_handling(self, namespace: str, labels: Mapping[str, str]) -> handling.BackupHandling:
        """Which backup windows back up a database with these labels, by the rule the CLI uses too."""
        candidates = [b.candidate for b in self.backup_runners.values() if b.namespace in (namespace, "")]
        return handling.handling(candidates, self.cache.namespace_labels(namespace), labels)

    def next_backup_window(self, namespace: str, labels: Mapping[str, str]) -> datetime | None:
        """When the next backup of a database with these labels starts: the earliest of the windows handling it."""
        found = self.backup_handling(namespace, labels)
        starts = [
            b.next_start
            for b in self.backup_runners.values()
            if (b.namespace == namespace and b.name in found.windows) or (b.namespace == "" and b.name == found.cluster)
        ]
        return min((s for s in starts if s is not None), default=None)

    def wake_cluster_backups(self) -> None:
        """A database, a BackupWindow or a namespace's labels changed: what each ClusterBackupWindow handles may."""
        for backup in self.backup_runners.values():
            if backup.namespace == "":
                backup.wake()

    def backup_namespace_changed(self, namespace: str) -> None:
        """A namespace's labels changed (or it came or went): the cluster windows and its databases may move."""
        self.wake_cluster_backups()
        self.wake_databases(namespace)

    def wake_namespace_windows(self, namespace: str) -> None:
        for window in self.windows_of(namespace):
            window.wake()

    def wake_cluster_windows(self) -> None:
        """A namespace's labels changed, or a cluster window did: who covers what may have changed."""
        for window in self.window_runners.values():
            if not window.namespace:
                window.wake()

    def wake_every_database(self) -> None:
        """A cluster window changed: any database's status may name it."""
        for db in self.database_runners.values():
            db.wake()

    def wake_namespace_backups(self, namespace: str) -> None:
        for backup in self.backup_runners.values():
            if backup.namespace == namespace:
                backup.wake()

    def snapshotting_in(self, namespace: str) -> frozenset[tuple[str, str, str]]:
        """Workload keys (StatefulSet, namespace, name) of databases with a snapshot of the operator's running."""
        running = {r.database for r in self.cache.snapshots(namespace) if r.in_progress and r.database}
        running |= {label_value(db) for ns, db, _ in self.snapshotting if ns == namespace}
        if not running:
            return frozenset()
        return frozenset(
            w.key
            for w in self.cache.workloads(namespace)
            if w.kind == "StatefulSet" and label_value(w.labels.get(names.LABEL_DATABASE, "")) in running
        )

    def wake_windows(self, namespace: str, labels: Iterable[Mapping[str, str]]) -> None:
        """A workload changed: wake every window of its namespace that selects it (before or after)."""
        label_sets = list(labels)
        for window in self.windows_of(namespace):
            if any(window.selects(lbls) for lbls in label_sets):
                window.wake()

    def spawn(self, coro: Any) -> None:
        """Fire-and-forget work (Events, webhooks) whose failure must not break the caller."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self._done)

    async def drain_background(self, timeout: float) -> None:
        """Let spawned Events and webhooks finish (then cancel what is left), so none is sent after shutdown."""
        pending = set(self.background)
        if pending:
            _, left = await asyncio.wait(pending, timeout=timeout)
            for task in left:
                task.cancel()

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background task failed: %s", task.exception())
