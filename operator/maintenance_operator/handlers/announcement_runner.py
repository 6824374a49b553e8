"""One task per Maintenance: the platform's announcement, resolved continuously and its progress reported.

The announcement makes nothing pending by writing: the runtime merges it into every covered workload it hands out
(`Runtime.workloads`, `planning.announcements.matching.announced`), so windows, notices and self-service treat it
exactly as the annotation ledger, a workload created or relabelled later joins at once, and deleting the
Maintenance withdraws what was not done. This task keeps that entry current and writes the status: counts from the
cached workloads themselves (`planning.announcements.progress`), never from what the operator remembers.
"""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.node_maintenance import NodeMaintenance, parse_recorded
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.task_loop import TaskLoop
from maintenance_operator.kube import status
from maintenance_operator.planning.announcements import matching, progress
from maintenance_operator.planning.announcements import status as announcement_status
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.times import format_time, parse_time

STATUS_MIN_INTERVAL = 1.0  # seconds between status writes while targets move (a rollout of thousands)


class AnnouncementRunner(TaskLoop):
    kind = names.MAINTENANCE

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        super().__init__(runtime, body)
        self.announcement: matching.Announcement | str = "not parsed yet"
        self.nodes = NodeMaintenance(runtime)
        self._resolve()

    def update(self, body: Mapping[str, Any]) -> None:
        super().update(body)
        self._resolve()

    async def stop(self) -> None:
        """The task ends: the Maintenance was deleted, or the operator stops (then nodes stay as they are: the next
        leader carries on from their marks)."""
        await super().stop()
        if self.runtime.announcements.pop(self.uid, None) is not None:
            self.runtime.wake_every_window()  # withdrawn: what it made pending and was not done is no longer
        metrics.forget_announcement(self.name)

    async def withdraw(self) -> None:
        """The Maintenance was deleted (after `stop`): the nodes it cordoned or marked go back as they were found."""
        a = self.announcement
        if isinstance(a, matching.Announcement) and a.nodes is not None and self.runtime.acting.is_set():
            await self.nodes.withdraw(a.stamp, self.nodes.selected(a), self.nodes.covered_elsewhere(), self.clock())

    def _resolve(self) -> None:
        """Take the spec into use at once (not at the next pass), so every window sees the same announcements."""
        meta = self.body["metadata"]
        made = matching.announcement_of(
            self.name,
            self.body.get("spec") or {},
            parse_time(meta.get("creationTimestamp")),
            nodes_enabled=self.runtime.node_maintenance,
        )
        if not isinstance(made, str) and made.affected is not None:  # a node announcement: what it covers
            before = parse_recorded(self._status.get("affected") or [])
            if isinstance(self.announcement, matching.Announcement) and self.announcement.affected is not None:
                before |= self.announcement.affected
            made = replace(made, affected=self.nodes.affected(made, before))
        self._take(made)

    def _take(self, made: matching.Announcement | str) -> None:
        if made == self.announcement:
            return
        self.announcement = made
        if isinstance(made, str):
            changed = self.runtime.announcements.pop(self.uid, None) is not None
        else:
            changed = self.runtime.announcements.get(self.uid) != made
            self.runtime.announcements[self.uid] = made
        if changed:
            self.runtime.wake_every_window()

    def covered(self, a: matching.Announcement) -> list[Workload]:
        """Every cached workload of the watched namespaces that `a` covers."""
        rt, found = self.runtime, []
        for namespace in rt.cache.namespaces():
            labels, databases = rt.cache.namespace_labels(namespace), rt.database_labels(namespace)
            found += [w for w in rt.cache.workloads(namespace) if matching.covers(a, w, labels, databases)]
        return found

    async def _pass(self) -> datetime | None:
        now = self.clock()
        generation = self.body["metadata"].get("generation")
        a = self.announcement
        if isinstance(a, str):
            await self.write_status(announcement_status.invalid_status(self._status, generation, a, now))
            self.forget_told("InvalidSpec", f"invalid{generation}".__eq__)  # the generation only grows
            self.event("InvalidSpec", a, now, warning=True, once=f"invalid{generation}")
            metrics.forget_announcement(self.name)
            return None
        node_status = None
        if a.affected is not None:
            self._resolve()  # pods moved, nodes changed: the workloads it covers may have grown
            a = self.announcement if isinstance(self.announcement, matching.Announcement) else a
            node_status = await self.nodes.apply(a, {w.key for w in self.covered(a)}, now)
        p = progress.progress(a, self.covered(a), now)
        metrics.set_announcement(self.name, p)
        new = announcement_status.maintenance_status(self._status, generation, a, p, now, node_status)
        await self.write_status(new, min_interval=STATUS_MIN_INTERVAL)
        self._tell(a, p, now)
        later = [a.deadline] if a.deadline is not None and a.deadline > now else []
        if status.merge_patch(self._status, new):  # held back by the interval: written at the next pass
            later.append(datetime.fromtimestamp(now.timestamp() + STATUS_MIN_INTERVAL, now.tzinfo))
        return min(later, default=None)

    def _tell(self, a: matching.Announcement, p: progress.Progress, now: datetime) -> None:
        """An Event when every target is done, and a Warning when targets are still pending past the deadline;
        each once per requiredSince (and deadline)."""
        since = format_time(a.since)
        if p.total and p.complete:
            message = (
                f"all {p.total} targets done: {p.done_by_window} by a window, {p.done_by_self_service} by their owners"
            )
            self.event("MaintenanceComplete", message, now, once=since)
        if p.past_deadline and a.deadline is not None:
            message = f"{p.overdue} of {p.total} targets still pending after the deadline {format_time(a.deadline)}"
            self.event("MaintenanceOverdue", message, now, warning=True, once=f"{since}{format_time(a.deadline)}")
