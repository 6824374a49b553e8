"""Which backup windows back up a ManagedDatabase: one rule for the operator, the database's status and
`kubectl maintenance dbs` alike (design.md, "Defaults for the whole cluster").

- Every valid BackupWindow of the database's namespace that selects it backs it up (as before cluster windows).
- Only when none does, a ClusterBackupWindow may: not if the database is labelled `maintenance.ops.dev/window:
  none`; only one whose `namespaceSelector` matches the namespace's labels and whose `selector` the database's
  labels; among several, the first by name. The others never touch it.
- A window whose spec is invalid (`problem`) backs up nothing, so it never hides a database from a cluster window.

Pure: the caller passes the windows as candidates (`candidate` parses a window's spec) and the namespace's labels
(None when they are not known, e.g. namespaces may not be listed: then only a cluster window for every namespace,
`namespaceSelector: {}`, matches).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.base import describe_errors
from maintenance_operator.api.platform import ClusterBackupWindowSpec
from maintenance_operator.api.windows import BackupWindowSpec
from maintenance_operator.planning.targets.selectors import matches, selector_problem


@dataclass(frozen=True)
class BackupCandidate:
    """A backup window as the rule sees it. `namespace_selector` None: a namespaced BackupWindow."""

    name: str
    selector: Mapping[str, Any]
    namespace_selector: Mapping[str, Any] | None = None
    problem: str | None = None

    @property
    def cluster(self) -> bool:
        return self.namespace_selector is not None

    @property
    def ref(self) -> str:
        return f"{names.CLUSTER_BACKUP_WINDOW if self.cluster else names.BACKUP_WINDOW}/{self.name}"


def spec_model(*, cluster: bool) -> type[BackupWindowSpec]:
    return ClusterBackupWindowSpec if cluster else BackupWindowSpec


def candidate(name: str, spec: Mapping[str, Any], *, cluster: bool, problem: str | None = None) -> BackupCandidate:
    """The candidate of a window's spec; `problem` is why its spec is invalid (what the operator found, or the
    first problem parsing it here finds)."""
    try:
        parsed = spec_model(cluster=cluster).model_validate(spec)
        parsed.window_schedule()
    except ValidationError as err:
        return BackupCandidate(name, {}, {} if cluster else None, describe_errors(err))
    except sched.ScheduleError as err:
        return BackupCandidate(name, {}, {} if cluster else None, str(err))
    selector = parsed.selector.wire()
    namespace_selector = parsed.namespace_selector.wire() if isinstance(parsed, ClusterBackupWindowSpec) else None
    problem = problem or selector_problem(selector) or selector_problem(namespace_selector or {})
    return BackupCandidate(name, selector, namespace_selector, problem)


@dataclass(frozen=True)
class BackupHandling:
    """`windows`: the BackupWindows of its namespace that back it up; `cluster`: else the ClusterBackupWindow that
    does; `excluded`: labelled `window: none`, so no cluster window may."""

    windows: tuple[str, ...] = ()
    cluster: str | None = None
    excluded: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.windows) or self.cluster is not None

    @property
    def refs(self) -> list[str]:
        """`BackupWindow/daily`, `ClusterBackupWindow/platform-default`: as users name them."""
        refs = [f"{names.BACKUP_WINDOW}/{w}" for w in self.windows]
        return refs + ([f"{names.CLUSTER_BACKUP_WINDOW}/{self.cluster}"] if self.cluster else [])

    @property
    def why_none(self) -> str:
        if self.excluded:
            return (
                f"no BackupWindow of its namespace selects it, and it is labelled {names.LABEL_WINDOW}="
                f"{names.WINDOW_NONE}, which leaves it out of every ClusterBackupWindow: it is not backed up"
            )
        return "no BackupWindow of its namespace and no ClusterBackupWindow selects it: it is not backed up"


def handling(
    candidates: Iterable[BackupCandidate],
    namespace_labels: Mapping[str, str] | None,
    labels: Mapping[str, str],
) -> BackupHandling:
    """Who backs up a database with `labels`; `candidates`: its namespace's BackupWindows and every
    ClusterBackupWindow."""
    usable = [c for c in candidates if c.problem is None and matches(c.selector, labels)]
    namespaced = tuple(sorted(c.name for c in usable if not c.cluster))
    if namespaced:
        return BackupHandling(windows=namespaced)
    if labels.get(names.LABEL_WINDOW) == names.WINDOW_NONE:
        return BackupHandling(excluded=True)
    cluster = sorted(
        c.name
        for c in usable
        if c.cluster
        and (
            not c.namespace_selector
            if namespace_labels is None
            else matches(c.namespace_selector or {}, namespace_labels)
        )
    )
    return BackupHandling(cluster=cluster[0] if cluster else None)
