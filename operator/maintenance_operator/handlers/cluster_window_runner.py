"""One task per ClusterMaintenanceWindow: the platform's default window, a MaintenanceWindow over many namespaces.

It is a WindowRunner whose pass covers every watched namespace its namespaceSelector selects: there it handles the
selected targets that no window of their own namespace selects (`planning.windows.assignment`: a namespaced window
wins, then the earliest occurrence), leaves out those labelled `maintenance.ops.dev/window: none`, and restarts,
notices (Events) and credits them exactly as a MaintenanceWindow does. One status, naming each target's namespace.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.platform import ClusterMaintenanceWindowSpec
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.scheduled import SpecT
from maintenance_operator.handlers.window_runner import Scope, WindowRunner
from maintenance_operator.planning.targets import selectors
from maintenance_operator.planning.targets.workloads import Workload


class ClusterWindowRunner(WindowRunner):
    kind = names.CLUSTER_MAINTENANCE_WINDOW
    spec_model = ClusterMaintenanceWindowSpec

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        super().__init__(runtime, body)
        self._namespace_selector: Mapping[str, Any] | None = None  # None while the spec is invalid: covers none

    @property
    def assigned_name(self) -> str:
        return self.stamp  # `ClusterMaintenanceWindow/<name>`: never a namespaced window's name

    def selects(self, labels: Mapping[str, str]) -> bool:
        return labels.get(names.LABEL_WINDOW) != names.WINDOW_NONE and super().selects(labels)

    def covers(self, namespace_labels: Mapping[str, str] | None) -> bool:
        """`namespace_labels` None (not known: namespaces may not be listed): only `{}` covers it."""
        if self._namespace_selector is None:
            return False
        if namespace_labels is None:
            return not self._namespace_selector
        return selectors.matches(self._namespace_selector, namespace_labels)

    def wake_peers(self) -> None:
        """Every window: the namespaced ones of each covered namespace, and the other cluster windows."""
        for window in list(self.runtime.window_runners.values()):
            if window is not self:
                window.wake()
        self.runtime.wake_every_database()  # their status names the window that handles them

    def parse_spec(self, model: type[SpecT]) -> tuple[SpecT, sched.WindowSchedule] | str:
        parsed = super().parse_spec(model)
        selector = ((self.body.get("spec") or {}).get("namespaceSelector")) or {}
        problem = None if isinstance(parsed, str) else selectors.selector_problem(selector)
        if problem is not None:
            parsed = f"spec.namespaceSelector: {problem}"
        covered = None if isinstance(parsed, str) else selector
        if covered != self._namespace_selector:
            self._namespace_selector = covered
            self.wake_peers()  # the namespaces it covers changed
        return parsed

    def covered(self) -> list[str]:
        """The watched namespaces this window covers."""
        cache = self.runtime.cache
        return sorted(ns for ns in cache.namespaces() if self.covers(cache.namespace_labels(ns)))

    def _scope(self, now: datetime) -> Scope:
        selected: list[Workload] = []
        ranked = {}
        blocked: frozenset[tuple[str, str, str]] = frozenset()
        for namespace in self.covered():
            mine = [w for w in self.runtime.workloads(namespace) if self.selects(w.labels)]
            if not mine:
                continue
            selected += mine
            ranked[namespace] = self.runtime.ranked_windows(namespace, now)
            blocked |= self.runtime.snapshotting_in(namespace)
        return Scope(selected=selected, ranked=ranked, blocked=blocked)
