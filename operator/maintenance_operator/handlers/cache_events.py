"""What a change in the workload cache sets in motion: wake the windows, databases and backups it concerns, and
credit self-service. Pure wiring; the decisions are in `planning/`."""

import logging

from maintenance_operator.api import names
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.leader_election import LeaderElection
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.self_service import SelfService
from maintenance_operator.planning.targets.revisions import TemplateRevision
from maintenance_operator.planning.targets.workloads import Workload

log = logging.getLogger("maintenance_operator")


class CacheEvents:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.self_service = SelfService(runtime)

    def subscribe(self) -> None:
        runtime = self.runtime
        cache = runtime.cache
        cache.workload_listeners.append(self.workload_changed)
        cache.revision_listeners.append(self.revision_changed)
        cache.snapshot_listeners.append(lambda namespace, _: runtime.wake_namespace_backups(namespace))
        # A finished snapshot unblocks a restart.
        cache.snapshot_listeners.append(lambda namespace, _: runtime.wake_namespace_windows(namespace))
        # A database's status names its newest snapshot: only that database is woken, not its namespace's 200.
        cache.snapshot_listeners.append(runtime.wake_database_of_snapshot)
        cache.namespace_listeners.append(self.namespace_changed)
        cache.node_listeners.append(runtime.wake_announcements)  # a node announcement's coverage and progress

    def namespace_changed(self, namespace: str) -> None:
        """A namespace's labels changed (or it came or went): the cluster windows covering it may change."""
        self.runtime.wake_cluster_windows()
        self.runtime.wake_namespace_windows(namespace)
        self.runtime.wake_databases(namespace)
        self.runtime.wake_announcements()

    def workload_changed(self, old: Workload | None, new: Workload | None) -> None:
        runtime = self.runtime
        w = new or old
        assert w is not None
        runtime.wake_windows(w.namespace, [x.labels for x in (old, new) if x is not None])
        runtime.wake_announcements()
        if database := w.labels.get(names.LABEL_DATABASE):
            runtime.wake_databases(w.namespace, database)
            runtime.wake_namespace_backups(w.namespace)  # a snapshot may wait for this rollout to finish
        if new is None:
            self.self_service.forget(w.uid)
        elif runtime.acting.is_set():
            self.self_service.check(runtime.announced(new), runtime.clock())

    def revision_changed(self, revision: TemplateRevision) -> None:
        """A new ReplicaSet or ControllerRevision may be what completes its owner's self-service."""
        if not self.runtime.acting.is_set():
            return
        owner = self.runtime.cache.workload_by_uid(revision.owner_uid)
        if owner is not None:
            self.self_service.check(self.runtime.announced(owner), self.runtime.clock())

    async def act_when_ready(self, election: LeaderElection | None) -> None:
        """Act once the cache has its first complete view and this replica leads: nothing acts on a partial view."""
        cache = self.runtime.cache
        await cache.synced.wait()
        metrics.cache_synced.set(1)
        log.info("workload cache synced: %s", ", ".join(f"{n} {k}" for k, n in cache.size().items()))
        if election is not None:
            await election.leading.wait()
        else:
            metrics.leader.set(1)
        self.runtime.acting.set()
        self.sweep()

    def sweep(self) -> None:
        """On starting to act: credit what users did while no replica acted (or before this one led)."""
        now = self.runtime.clock()
        for w in self.runtime.cache.all_workloads():
            self.self_service.check(self.runtime.announced(w), now)
