"""`kubectl maintenance apps`: the Deployments and StatefulSets that need maintenance, and the window for each."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from maintenance_operator.cli import common, kubeapi, reading
from maintenance_operator.cli.output import table
from maintenance_operator.cli.windowobjects import parse_window
from maintenance_operator.planning.assignment import Assignment, Candidate, assign
from maintenance_operator.planning.pending import needs_since_stamp, pending
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.workloads import Workload, workload_from_object

WORKLOADS = (kubeapi.DEPLOYMENTS, kubeapi.STATEFULSETS)
NO_WINDOW = "no window selects it"
WINDOWS_UNREADABLE = "unknown: you may not read MaintenanceWindows here"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "apps",
        help="list Deployments and StatefulSets that need maintenance, and their window",
        description="List the Deployments and StatefulSets with pending maintenance: why, since when, whether "
        "a restart means downtime, and the start of the MaintenanceWindow occurrence that will handle it. "
        "Restart one yourself any time before: kubectl maintenance restart deployment/NAME.",
    )
    common.add_connection_args(p, all_namespaces=True)
    common.add_output_arg(p)
    p.set_defaults(run=run)


def pending_maintenance(w: Workload) -> tuple[str, datetime | None] | None:
    """Reason and since; an announcement the operator has not stamped with `required-since` yet counts too."""
    found = pending(w)
    if found is not None:
        return found.reason, found.since
    if needs_since_stamp(w) and w.required is not None:
        return w.required, None
    return None


def _window_note(assignment: Assignment | None) -> str | None:
    if assignment is None:
        return WINDOWS_UNREADABLE
    if assignment.window is not None:
        return None
    if assignment.suspended:
        return f"only suspended windows select it: {', '.join(assignment.suspended)}"
    return NO_WINDOW


def describe(w: Workload, reason: str, since: datetime | None, assignment: Assignment | None) -> dict[str, Any]:
    """One row as scripts see it (`-o json|yaml`); `assignment` None: the namespace's windows were unreadable."""
    occurrence = assignment.occurrence if assignment else None
    return {
        "namespace": w.namespace,
        "kind": w.kind,
        "name": w.name,
        "reason": reason,
        "since": format_time(since) if since else None,
        "downtimeExpected": w.downtime_expected,
        "paused": w.paused,
        "window": assignment.window if assignment else None,
        "occurrence": None
        if occurrence is None
        else {"id": occurrence.id, "start": format_time(occurrence.start), "end": format_time(occurrence.end)},
        "openNow": bool(assignment and assignment.open_now),
        "note": _window_note(assignment),
    }


def _start_cell(item: Mapping[str, Any]) -> str:
    occurrence = item["occurrence"]
    if occurrence is None:
        return "-"
    return f"open now, until {occurrence['end']}" if item["openNow"] else str(occurrence["start"])


def _notes_cell(item: Mapping[str, Any]) -> str:
    notes = ["downtime expected"] if item["downtimeExpected"] else []
    notes += ["paused: skipped until resumed"] if item["paused"] else []
    return ", ".join(notes) or "-"


def render_table(items: list[dict[str, Any]], all_namespaces: bool) -> str:
    headers = ["name", "reason", "since", "window", "window start (UTC)", "notes"]
    rows = [
        [
            f"{item['kind'].lower()}/{item['name']}",
            item["reason"],
            item["since"] or "-",
            item["window"] or item["note"],
            _start_cell(item),
            _notes_cell(item),
        ]
        for item in items
    ]
    if all_namespaces:
        headers = ["namespace", *headers]
        rows = [[item["namespace"], *row] for item, row in zip(items, rows, strict=True)]
    return table(headers, rows)


def _candidates(objects: Iterable[dict[str, Any]]) -> dict[str, list[Candidate]]:
    by_namespace: dict[str, list[Candidate]] = {}
    for obj in objects:
        window = parse_window(obj)
        by_namespace.setdefault(window.namespace, []).append(window.candidate)
    return by_namespace


def collect(
    api: kubeapi.Api, namespace: str | None, now: datetime
) -> tuple[list[dict[str, Any]], reading.Listing, list[dict[str, str]]]:
    """Rows sorted by namespace, kind, name; the read; the windows ignored because they are invalid."""
    resources = [*WORKLOADS, kubeapi.MAINTENANCE_WINDOWS]
    listing = reading.read(api, resources, namespace, optional=[kubeapi.MAINTENANCE_WINDOWS])
    windows = _candidates(listing.items[kubeapi.MAINTENANCE_WINDOWS])
    items: list[dict[str, Any]] = []
    ignored: dict[tuple[str, str], str] = {}
    for resource in WORKLOADS:
        for obj in listing.items[resource]:
            w = workload_from_object(resource.kind, obj)
            found = pending_maintenance(w)
            if found is None:
                continue
            assignment = None
            if listing.readable(kubeapi.MAINTENANCE_WINDOWS, w.namespace):
                assignment = assign(windows.get(w.namespace, []), w.labels, now)
                ignored.update({(w.namespace, i.name): i.problem for i in assignment.ignored})
            items.append(describe(w, *found, assignment))
    items.sort(key=lambda i: (i["namespace"], i["kind"], i["name"]))
    problems = [{"namespace": ns, "name": name, "problem": p} for (ns, name), p in sorted(ignored.items())]
    return items, listing, problems


def run(args: argparse.Namespace) -> int:
    api = common.connect(args)
    namespace = common.scope(args, api)
    items, listing, ignored = collect(api, namespace, datetime.now(UTC))
    reading.show(
        items,
        listing,
        args.output,
        lambda rows: render_table(rows, namespace is None),
        f"No Deployments or StatefulSets need maintenance in {reading.where(namespace)}.",
        {"ignoredWindows": ignored},
        [f"MaintenanceWindow {w['namespace']}/{w['name']} is ignored: {w['problem']}" for w in ignored],
    )
    return 0
