"""What `apps` and `dbs` share: which window handles a target, how that reads in a row, and the verb's run."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from maintenance_operator.api import names, rest
from maintenance_operator.cli import common, kubeapi, reading
from maintenance_operator.cli.output import table
from maintenance_operator.cli.windowobjects import parse_window
from maintenance_operator.planning.targets import selectors
from maintenance_operator.planning.times import format_time
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


def with_cluster_windows(
    api: kubeapi.Api, by_namespace: dict[str, list[Candidate]], namespaces: Iterable[str]
) -> dict[str, list[Candidate]]:
    """`by_namespace` plus, in each of `namespaces`, the ClusterMaintenanceWindows covering it, as the operator
    ranks them. A caller who may not list them (or read a namespace's labels, for a namespaceSelector that is not
    `{}`) sees the windows it may read."""
    try:
        objects = api.list_objects(rest.CLUSTER_MAINTENANCE_WINDOWS, None)
    except kubeapi.KubeError as err:
        if err.forbidden or err.status == 404:
            return by_namespace
        raise
    merged = {ns: list(c) for ns, c in by_namespace.items()}
    labels: dict[str, Mapping[str, str] | None] = {}
    for namespace in sorted(set(namespaces)):
        for obj in objects:
            spec = obj.get("spec") or {}
            selector = spec.get("namespaceSelector") or {}
            if selector and namespace not in labels:
                labels[namespace] = _namespace_labels(api, namespace)
            known = labels.get(namespace)
            if selector and (known is None or not selectors.matches(selector, known)):
                continue
            name = f"{names.CLUSTER_MAINTENANCE_WINDOW}/{obj['metadata']['name']}"
            ad_hoc = ad_hoc_occurrence(obj.get("status") or {})
            merged.setdefault(namespace, []).append(window_candidate(name, spec, ad_hoc, cluster=True))
    return merged


def _namespace_labels(api: kubeapi.Api, namespace: str) -> Mapping[str, str] | None:
    try:
        meta = api.get(rest.NAMESPACES, "", namespace).get("metadata") or {}
    except kubeapi.KubeError as err:
        if err.forbidden or err.status == 404:
            return None
        raise
    return dict(meta.get("labels") or {})


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
