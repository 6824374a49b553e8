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
        "a restart means downtime, the start of the window occurrence that will handle it, and the "
        "announcements (Maintenance objects) covering it with the first one's description, as the operator "
        "applies them. Restart one yourself any time before: kubectl maintenance restart deployment/NAME.",
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


def describe(
    w: Workload,
    reason: str,
    since: datetime | None,
    assignment: Assignment | None,
    announcements: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """One row as scripts see it (`-o json|yaml`); `assignment` None: the namespace's windows were unreadable;
    `announcements`: `[{name, description}]` of the Maintenance objects covering it, oldest first."""
    return {
        "namespace": w.namespace,
        "kind": w.kind,
        "name": w.name,
        "reason": reason,
        "since": format_time(since) if since else None,
        "downtimeExpected": w.downtime_expected,
        "paused": w.paused,
        "announcements": list(announcements or []),
        **targets.window_fields(assignment, targets.window_note(assignment)),
    }


def _notes_cell(item: Mapping[str, Any]) -> str:
    notes = ["downtime expected"] if item["downtimeExpected"] else []
    notes += ["paused: skipped until resumed"] if item["paused"] else []
    notes += [item["note"]] if item["window"] and item["note"] else []  # its window is suspended
    return ", ".join(notes) or "-"


DESCRIPTION_SHOWN = 60  # characters of the first announcement's description in the table; -o json has it all


def announcement_cell(item: Mapping[str, Any]) -> str:
    """`name: description` of the first announcement, and how many more; `-` for none."""
    found = item["announcements"]
    if not found:
        return "-"
    first = found[0]
    text = " ".join(first["description"].split())
    if len(text) > DESCRIPTION_SHOWN:
        text = text[: DESCRIPTION_SHOWN - 3].rstrip() + "..."
    cell = f"{first['name']}: {text}" if text else first["name"]
    return cell + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")


def render_table(items: list[dict[str, Any]], all_namespaces: bool) -> str:
    headers = ["name", "reason", "since", "window", "window start (UTC)", "notes"]
    announced = any(item["announcements"] for item in items)
    rows = [
        [
            f"{item['kind'].lower()}/{item['name']}",
            item["reason"],
            item["since"] or "-",
            item["window"] or item["note"],
            targets.start_cell(item),
            _notes_cell(item),
            *([announcement_cell(item)] if announced else []),
        ]
        for item in items
    ]
    headers += ["announcement"] if announced else []
    return targets.namespaced_table(headers, rows, items, all_namespaces)


def collect(
    api: kubeapi.Api, namespace: str | None, now: datetime
) -> tuple[list[dict[str, Any]], reading.Listing, list[dict[str, str]]]:
    """Rows sorted by namespace, kind, name; the read; the windows ignored because they are invalid.

    The Maintenance announcements are applied as the operator applies them; the ManagedDatabases are read only
    when there are some, so that a database's StatefulSet is matched as its database."""
    announcements = targets.read_announcements(api)
    resources = [*WORKLOADS, rest.MAINTENANCE_WINDOWS]
    optional = [rest.MAINTENANCE_WINDOWS]
    if announcements.items:
        resources.append(rest.MANAGED_DATABASES)
        optional.append(rest.MANAGED_DATABASES)
    listing = reading.read(api, resources, namespace, optional=optional)
    listing.extra.update(announcements.extra())
    listing.notes += announcements.notes()
    databases = targets.database_labels(listing.items.get(rest.MANAGED_DATABASES, []))
    windows = targets.window_candidates(listing.items[rest.MAINTENANCE_WINDOWS])
    seen = {str((obj.get("metadata") or {}).get("namespace")) for r in WORKLOADS for obj in listing.items[r]}
    windows = targets.with_cluster_windows(api, windows, seen, announcements.labels)
    items: list[dict[str, Any]] = []
    ignored: dict[tuple[str, str], str] = {}
    for resource in WORKLOADS:
        for obj in listing.items[resource]:
            w = workload_from_object(resource.kind, obj)
            w = announcements.workload(w, databases.get(w.namespace, {}))
            found = pending_maintenance(w)
            if found is None:
                continue
            assignment = None
            if listing.readable(rest.MAINTENANCE_WINDOWS, w.namespace):
                assignment = assign(windows.get(w.namespace, []), w.labels, now)
                ignored.update({(w.namespace, i.name): i.problem for i in assignment.ignored})
            items.append(describe(w, *found, assignment, announcements.described(w.announcements)))
    items.sort(key=lambda i: (i["namespace"], i["kind"], i["name"]))
    problems = [{"namespace": ns, "name": name, "problem": p} for (ns, name), p in sorted(ignored.items())]
    return items, listing, problems


def run(args: argparse.Namespace) -> int:
    return targets.run_listing(args, collect, render_table, "Deployments or StatefulSets")
