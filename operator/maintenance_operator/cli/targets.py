"""What `apps` and `dbs` share: which window handles a target, how that reads in a row, and the verb's run."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from maintenance_operator.api import names, rest
from maintenance_operator.cli import common, kubeapi, reading
from maintenance_operator.cli.output import table
from maintenance_operator.cli.windowobjects import parse_window
from maintenance_operator.planning.announcements.matching import (
    Announcement,
    announced,
    announcement_of,
    covers_target,
)
from maintenance_operator.planning.backups.snapshots import label_value
from maintenance_operator.planning.targets import selectors
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.times import format_time, parse_time
from maintenance_operator.planning.windows.assignment import Assignment, Candidate, ad_hoc_occurrence, window_candidate

NO_WINDOW = "no window selects it"
WINDOWS_UNREADABLE = "unknown: you may not read MaintenanceWindows here"

Collect = Callable[
    [kubeapi.Api, str | None, datetime], tuple[list[dict[str, Any]], reading.Listing, list[dict[str, str]]]
]


def window_note(assignment: Assignment | None) -> str | None:
    if assignment is None:
        return WINDOWS_UNREADABLE
    if assignment.suspended:
        return f"window {assignment.window} is suspended: nothing starts until it is resumed"
    if assignment.window is not None:
        return None
    return NO_WINDOW


def window_fields(assignment: Assignment | None, note: str | None) -> dict[str, Any]:
    """The row's window columns; `assignment` None: the namespace's windows were unreadable."""
    occurrence = assignment.occurrence if assignment else None
    return {
        "window": assignment.window if assignment else None,
        "occurrence": None
        if occurrence is None
        else {"id": occurrence.id, "start": format_time(occurrence.start), "end": format_time(occurrence.end)},
        "openNow": bool(assignment and assignment.open_now),
        "note": note,
    }


def start_cell(item: Mapping[str, Any]) -> str:
    occurrence = item["occurrence"]
    if occurrence is None:
        return "-"
    return f"open now, until {occurrence['end']}" if item["openNow"] else str(occurrence["start"])


def namespaced_table(
    headers: list[str], rows: list[list[str]], items: list[dict[str, Any]], all_namespaces: bool
) -> str:
    if all_namespaces:
        headers = ["namespace", *headers]
        rows = [[item["namespace"], *row] for item, row in zip(items, rows, strict=True)]
    return table(headers, rows)


def window_candidates(objects: Iterable[dict[str, Any]]) -> dict[str, list[Candidate]]:
    by_namespace: dict[str, list[Candidate]] = {}
    for obj in objects:
        window = parse_window(obj)
        by_namespace.setdefault(window.namespace, []).append(window.candidate)
    return by_namespace


class NamespaceLabels:
    """Namespaces' labels, each read once (GET) when first asked for; None: the caller may not read it."""

    def __init__(self, api: kubeapi.Api) -> None:
        self._api = api
        self._known: dict[str, Mapping[str, str] | None] = {}

    def get(self, namespace: str) -> Mapping[str, str] | None:
        if namespace not in self._known:
            self._known[namespace] = self._read(namespace)
        return self._known[namespace]

    def _read(self, namespace: str) -> Mapping[str, str] | None:
        try:
            meta = self._api.get(rest.NAMESPACES, "", namespace).get("metadata") or {}
        except kubeapi.KubeError as err:
            if err.forbidden or err.status == 404:
                return None
            raise
        return dict(meta.get("labels") or {})


def with_cluster_windows(
    api: kubeapi.Api,
    by_namespace: dict[str, list[Candidate]],
    namespaces: Iterable[str],
    labels: NamespaceLabels | None = None,
) -> dict[str, list[Candidate]]:
    """`by_namespace` plus, in each of `namespaces`, the ClusterMaintenanceWindows covering it, as the operator
    ranks them. A caller who may not list them (or read a namespace's labels, for a namespaceSelector that is not
    `{}`) sees the windows it may read. Pass the `labels` an `Announcements` read uses, to read each namespace once."""
    try:
        objects = api.list_objects(rest.CLUSTER_MAINTENANCE_WINDOWS, None)
    except kubeapi.KubeError as err:
        if err.forbidden or err.status == 404:
            return by_namespace
        raise
    labels = labels or NamespaceLabels(api)
    merged = {ns: list(c) for ns, c in by_namespace.items()}
    for namespace in sorted(set(namespaces)):
        for obj in objects:
            spec = obj.get("spec") or {}
            selector = spec.get("namespaceSelector") or {}
            known = labels.get(namespace) if selector else {}
            if selector and (known is None or not selectors.matches(selector, known)):
                continue
            name = f"{names.CLUSTER_MAINTENANCE_WINDOW}/{obj['metadata']['name']}"
            ad_hoc = ad_hoc_occurrence(obj.get("status") or {})
            merged.setdefault(namespace, []).append(window_candidate(name, spec, ad_hoc, cluster=True))
    return merged


ANNOUNCEMENTS_UNREADABLE = (
    f"you may not list {rest.MAINTENANCES.name}: only maintenance annotated on the targets themselves is shown"
)


@dataclass
class Announcements:
    """The Maintenance announcements as `apps` and `dbs` apply them, the way the operator does (`announced`).

    `ignored`: the announcements whose spec cannot be used (the operator sets their Ready=False), by name;
    `warnings`: what the caller should know about the read (the list was refused).
    """

    labels: NamespaceLabels
    items: list[Announcement] = field(default_factory=list)
    ignored: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def _namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        """Read only when an announcement selects namespaces; None (unreadable) matches only those for all."""
        if not any(a.targets.namespace_selector for a in self.items):
            return {}
        return self.labels.get(namespace)

    def covering(
        self, kind: str, namespace: str, labels: Mapping[str, str], images: Sequence[str] = ()
    ) -> list[Announcement]:
        """The announcements covering one target, oldest first; `kind` and `labels` are the user's object's (a
        ManagedDatabase's own, not its StatefulSet's): what `dbs` asks for a database."""
        ns_labels = self._namespace_labels(namespace)
        found = [a for a in self.items if covers_target(a, kind, labels, images, ns_labels)]
        return sorted(found, key=lambda a: (a.since, a.name))

    def workload(self, w: Workload, databases: Mapping[str, Mapping[str, str]]) -> Workload:
        """The workload with every announcement covering it merged in; `databases`: its namespace's
        (`database_labels`), so a ManagedDatabase's StatefulSet is matched as that database."""
        if not self.items:
            return w
        return announced(w, self.items, self._namespace_labels(w.namespace), databases)

    def described(self, announcement_names: Iterable[str]) -> list[dict[str, str]]:
        """`[{name, description}]` for a row, in the order given."""
        by_name = {a.name: a for a in self.items}
        return [{"name": n, "description": by_name[n].description} for n in announcement_names if n in by_name]

    def extra(self) -> dict[str, Any]:
        """What `-o json|yaml` adds beside the rows."""
        return {"ignoredAnnouncements": list(self.ignored)}

    def notes(self) -> list[str]:
        return [*self.warnings, *(f"Maintenance {i['name']} is ignored: {i['problem']}" for i in self.ignored)]


def read_announcements(api: kubeapi.Api, labels: NamespaceLabels | None = None) -> Announcements:
    """Every Maintenance the caller may list (one cluster-wide LIST), converted as the operator converts it
    (`announcement_of`). Refused: no announcements and a warning; not served (older CRDs): none."""
    found = Announcements(labels or NamespaceLabels(api))
    try:
        objects = api.list_objects(rest.MAINTENANCES, None)
    except kubeapi.KubeError as err:
        if err.forbidden:
            found.warnings.append(ANNOUNCEMENTS_UNREADABLE)
            return found
        if err.status == 404:
            return found
        raise
    for obj in sorted(objects, key=lambda o: str((o.get("metadata") or {}).get("name"))):
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        result = announcement_of(name, obj.get("spec") or {}, parse_time(meta.get("creationTimestamp")))
        if isinstance(result, str):
            found.ignored.append({"name": name, "problem": result})
        else:
            found.items.append(result)
    return found


def database_labels(objects: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Mapping[str, str]]]:
    """ManagedDatabases' labels by namespace, then by the `maintenance.ops.dev/database` label value their
    StatefulSets carry: the `databases` that `Announcements.workload` takes."""
    by_namespace: dict[str, dict[str, Mapping[str, str]]] = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        by_namespace.setdefault(namespace, {})[label_value(str(meta.get("name") or ""))] = dict(
            meta.get("labels") or {}
        )
    return by_namespace


def run_listing(
    args: argparse.Namespace,
    collect: Collect,
    render: Callable[[list[dict[str, Any]], bool], str],
    nothing: str,
) -> int:
    """Read with the caller's credentials, then print rows, what could not be read, and ignored windows."""
    api = common.connect(args)
    namespace = common.scope(args, api)
    items, listing, ignored = collect(api, namespace, datetime.now(UTC))
    reading.show(
        items,
        listing,
        args.output,
        lambda rows: render(rows, namespace is None),
        f"No {nothing} need maintenance in {reading.where(namespace)}.",
        {"ignoredWindows": ignored},
        [f"MaintenanceWindow {w['namespace']}/{w['name']} is ignored: {w['problem']}" for w in ignored],
    )
    return 0
