"""One task per ClusterBackupWindow: in each occurrence, a VolumeSnapshot of every ManagedDatabase it handles
(`planning.backups.handling`: no valid BackupWindow of the database's namespace selects it, it is not labelled
`maintenance.ops.dev/window: none`, the namespaceSelector and selector match; among cluster windows, the first by
name), each snapshot in the database's own namespace.

Each namespace it backs up is one `BackupScope`, the part a BackupWindow has one of, driven by the same pure
`planning.backups.decide`: snapshot names, retention (per database), retries, missed occurrences and catch-up are a
BackupWindow's. Every part reads the window's one status (its lastRun, handledThrough and run-now occurrence), so all
finish, catch up and run ad hoc together; this task alone writes that status: the parts' runs summed into
`lastRun`, and per namespace its databases and its part of the run (the worst first, bounded).

Its snapshots carry `maintenance.ops.dev/backup-window: ClusterBackupWindow.<name>` (`window_label`): uppercase
letters are never in an object's name, so no namespaced BackupWindow's label is ever that value, and retention and
catch-up (which count only a window's own snapshots, and on-demand ones) never take one window's for the other's.
"""

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.backup_runner import NO_SNAPSHOT_API, BackupTask, PassStart
from maintenance_operator.handlers.backup_scope import BackupScope
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.planning.backups import decide as backup_pass
from maintenance_operator.planning.backups import inputs as pass_inputs
from maintenance_operator.planning.backups import status as backup_status
from maintenance_operator.planning.backups.decide import Decision
from maintenance_operator.planning.backups.inputs import BackupInputs
from maintenance_operator.planning.backups.snapshots import label_value
from maintenance_operator.planning.targets.selectors import matches


def cluster_window_label(name: str) -> str:
    """The backup-window label value of a ClusterBackupWindow's snapshots (see the module docstring)."""
    return label_value(f"{names.CLUSTER_BACKUP_WINDOW}.{name}")


class ClusterBackupRunner(BackupTask):
    kind = names.CLUSTER_BACKUP_WINDOW
    cluster = True

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        super().__init__(runtime, body)
        self._scopes: dict[str, BackupScope] = {}

    @property
    def window_label(self) -> str:
        return cluster_window_label(self.name)

    def backs_up(self, namespace: str, labels: Mapping[str, str]) -> bool:
        return self.runtime.backup_handling(namespace, labels).cluster == self.name

    async def stop(self) -> None:
        await super().stop()
        for ns, scope in self._scopes.items():
            scope.release(frozenset())
            metrics.forget_backup_window(ns, self.window_label)
        self._scopes.clear()

    async def _run(self, p: PassStart, now: datetime) -> datetime | None:
        spec, ws, lk, generation, backed_up, uids = p
        if lk.lists_databases:  # a run's end and a missed occurrence count every namespace it may back up
            backed_up |= {ns: {} for ns in self._namespaces() if ns not in backed_up}
        scopes = self._scopes_of(backed_up)
        decided = await asyncio.gather(
            *(s.decide(spec, ws, lk, generation, backed_up[ns], now) for ns, s in scopes.items())
        )
        if any(d is None for d in decided):
            await self._invalid(NO_SNAPSHOT_API, generation, now, spec_problem=False)
            return now + backup_pass.RETRY_EVERY * 6
        # A namespace without a database of its own is no part of the run (nothing to back up, nothing missed).
        parts = {ns: d for ns, d in zip(scopes, decided, strict=True) if d is not None and scopes[ns].databases}
        for ns, decision in parts.items():
            await scopes[ns].apply(decision, spec, now)
        whole = self._whole(parts, lk, generation, ws, now)
        await self.write_status(self._status_of(whole, parts, lk, now))
        self._show(whole.next_start, uids)
        return min((d.wake_at for d in (whole, *parts.values()) if d.wake_at is not None), default=None)

    def _namespaces(self) -> list[str]:
        """The watched namespaces its namespaceSelector matches."""
        selector = self.candidate.namespace_selector or {}
        cache = self.runtime.cache
        return [ns for ns in cache.namespaces() if matches(selector, cache.namespace_labels(ns) or {})]

    def _scopes_of(self, backed_up: Mapping[str, Mapping[str, Any]]) -> dict[str, BackupScope]:
        """A part per namespace it backs up a database of; a namespace it no longer does lets its snapshots go."""
        for ns in [ns for ns in self._scopes if ns not in backed_up]:
            self._scopes.pop(ns).release(frozenset())
        for ns in backed_up:
            if ns not in self._scopes:
                self._scopes[ns] = BackupScope(self, ns)
        return {ns: self._scopes[ns] for ns in backed_up}

    def _whole(
        self, parts: Mapping[str, Decision], lk: pass_inputs.Look, generation: int | None, ws: Any, now: datetime
    ) -> Decision:
        """The window's own decision (schedule, next start, when to look again): a part's, or with no namespace
        to back up a pass over no database."""
        if parts:
            return next(iter(parts.values()))
        inputs = BackupInputs(
            window=self.window_label, ws=ws, look=lk, status=self._status, generation=generation, databases=()
        )
        return backup_pass.decide(inputs, now)

    def _status_of(
        self, whole: Decision, parts: Mapping[str, Decision], lk: pass_inputs.Look, now: datetime
    ) -> dict[str, Any]:
        runs = [d.last_run for d in parts.values() if d.last_run is not None]
        merged = backup_status.merged_run(runs) if runs else whole.last_run
        handled = max((d.handled for d in (whole, *parts.values()) if d.handled is not None), default=None)
        missed = sorted({o for d in (whole, *parts.values()) for o in d.missed_ids})
        window_status = backup_status.backup_status(
            previous=self._status,
            generation=self.body["metadata"].get("generation"),
            upcoming=whole.upcoming,
            current=lk.current,
            last_run=merged,
            handled_through=handled,
            missed=missed,
            problem=None,
            now=now,
        )
        return backup_status.cluster_backup_status(
            window_status,
            {ns: (self._scopes[ns].databases, d.last_run) for ns, d in parts.items()},
        )
