"""`kubectl maintenance apps`: the Deployments and StatefulSets that need maintenance, and the window for each."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from maintenance_operator.api import rest
from maintenance_operator.cli import common, kubeapi, reading, targets
from maintenance_operator.planning.targets.pending import needs_since_stamp, pending
from maintenance_operator.planning.targets.workloads import Workload, workload_from_object
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows.assignment import Assignment, assign

WORKLOADS = (rest.DEPLOYMENTS, rest.STATEFULSETS)


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


def describe(w: Workload, reason: str, since: datetime | None, assignment: Assignment | None) -> dict[str, Any]:
    """One row as scripts see it (`-o json|yaml`); `assignment` None: the namespace's windows were unreadable."""
    return {
        "namespace": w.namespace,
        "kind": w.kind,
        "name": w.name,
        "reason": reason,
        "since": format_time(since) if since else None,
        "downtimeExpected": w.downtime_expected,
        "paused": w.paused,
        **targets.window_fields(assignment, targets.window_note(assignment)),
    }


def _notes_cell(item: Mapping[str, Any]) -> str:
    notes = ["downtime expected"] if item["downtimeExpected"] else []
    notes += ["paused: skipped until resumed"] if item["paused"] else []
    notes += [item["note"]] if item["window"] and item["note"] else []  # its window is suspended
    return ", ".join(notes) or "-"


def render_table(items: list[dict[str, Any]], all_namespaces: bool) -> str:
    headers = ["name", "reason", "since", "window", "window start (UTC)", "notes"]
    rows = [
        [
            f"{item['kind'].lower()}/{item['name']}",
            item["reason"],
            item["since"] or "-",
            item["window"] or item["note"],
            targets.start_cell(item),
            _notes_cell(item),
        ]
        for item in items
    ]
    return targets.namespaced_table(headers, rows, items, all_namespaces)


def collect(
    api: kubeapi.Api, namespace: str | None, now: datetime
) -> tuple[list[dict[str, Any]], reading.Listing, list[dict[str, str]]]:
    """Rows sorted by namespace, kind, name; the read; the windows ignored because they are invalid."""
    resources = [*WORKLOADS, rest.MAINTENANCE_WINDOWS]
    listing = reading.read(api, resources, namespace, optional=[rest.MAINTENANCE_WINDOWS])
    windows = targets.window_candidates(listing.items[rest.MAINTENANCE_WINDOWS])
    seen = {str((obj.get("metadata") or {}).get("namespace")) for r in WORKLOADS for obj in listing.items[r]}
    windows = targets.with_cluster_windows(api, windows, seen)
    items: list[dict[str, Any]] = []
    ignored: dict[tuple[str, str], str] = {}
    for resource in WORKLOADS:
        for obj in listing.items[resource]:
            w = workload_from_object(resource.kind, obj)
            found = pending_maintenance(w)
            if found is None:
                continue
            assignment = None
            if listing.readable(rest.MAINTENANCE_WINDOWS, w.namespace):
                assignment = assign(windows.get(w.namespace, []), w.labels, now)
                ignored.update({(w.namespace, i.name): i.problem for i in assignment.ignored})
            items.append(describe(w, *found, assignment))
    items.sort(key=lambda i: (i["namespace"], i["kind"], i["name"]))
    problems = [{"namespace": ns, "name": name, "problem": p} for (ns, name), p in sorted(ignored.items())]
    return items, listing, problems


def run(args: argparse.Namespace) -> int:
    return targets.run_listing(args, collect, render_table, "Deployments or StatefulSets")
