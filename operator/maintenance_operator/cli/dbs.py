"""`kubectl maintenance dbs`: the ManagedDatabases that need maintenance, why, and the window for each."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from maintenance_operator.api import rest
from maintenance_operator.cli import common, kubeapi, reading, targets
from maintenance_operator.planning.databases.pending import DatabaseMaintenance, database_maintenance
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows.assignment import Assignment, assign

DOWNTIME = "downtime expected"
IMMEDIATE = "applies immediately"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "dbs",
        help="list ManagedDatabases that need maintenance, and their window",
        description="List the ManagedDatabases with pending maintenance: a version update (from -> to) or "
        "announced maintenance (e.g. database-security), since when, whether it means downtime (a single "
        "instance), and the start of the MaintenanceWindow occurrence that will handle it.",
    )
    common.add_connection_args(p, all_namespaces=True)
    common.add_output_arg(p)
    p.set_defaults(run=run)


def describe(obj: Mapping[str, Any], m: DatabaseMaintenance, assignment: Assignment | None) -> dict[str, Any]:
    """One row as scripts see it (`-o json|yaml`); `assignment` None: the namespace's windows were unreadable.

    A refused version change gets no window: no window will apply it.
    """
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    if m.refused is not None:
        assignment = Assignment(None, None)
    replicas = spec.get("replicas")
    return {
        "namespace": meta.get("namespace", ""),
        "kind": rest.MANAGED_DATABASES.kind,
        "name": meta.get("name", ""),
        "engine": spec.get("engine"),
        "reason": m.reason,
        "fromVersion": m.from_version,
        "toVersion": m.to_version,
        "since": format_time(m.since) if m.since else None,
        "downtimeExpected": not isinstance(replicas, int) or replicas <= 1,
        "applyImmediately": m.version_update and m.refused is None and bool(spec.get("applyImmediately")),
        "refused": None if m.refused is None else {"reason": str(m.refused.reason), "message": m.refused.message},
        **targets.window_fields(assignment, None if m.refused is not None else targets.window_note(assignment)),
    }


def _notes_cell(item: Mapping[str, Any]) -> str:
    notes = [DOWNTIME] if item["downtimeExpected"] else []
    notes += [IMMEDIATE] if item["applyImmediately"] else []
    notes += [item["note"]] if item["window"] and item["note"] else []  # its window is suspended
    if item["refused"]:
        notes.append(f"refused ({item['refused']['reason']}): see kubectl describe mdb/{item['name']}")
    return ", ".join(notes) or "-"


def render_table(items: list[dict[str, Any]], all_namespaces: bool) -> str:
    headers = ["name", "engine", "reason", "since", "window", "window start (UTC)", "notes"]
    rows = [
        [
            f"mdb/{item['name']}",
            item["engine"] or "-",
            item["reason"],
            item["since"] or "-",
            item["window"] or item["note"] or "-",
            targets.start_cell(item),
            _notes_cell(item),
        ]
        for item in items
    ]
    return targets.namespaced_table(headers, rows, items, all_namespaces)


def collect(
    api: kubeapi.Api, namespace: str | None, now: datetime
) -> tuple[list[dict[str, Any]], reading.Listing, list[dict[str, str]]]:
    """Rows (one per pending maintenance) sorted by namespace and name; the read; the invalid windows ignored."""
    resources = [rest.MANAGED_DATABASES, rest.MAINTENANCE_WINDOWS]
    listing = reading.read(api, resources, namespace, optional=[rest.MAINTENANCE_WINDOWS])
    windows = targets.window_candidates(listing.items[rest.MAINTENANCE_WINDOWS])
    items: list[dict[str, Any]] = []
    ignored: dict[tuple[str, str], str] = {}
    for obj in listing.items[rest.MANAGED_DATABASES]:
        found = database_maintenance(obj)
        if not found:
            continue
        meta = obj.get("metadata") or {}
        ns = str(meta.get("namespace") or "")
        assignment = None
        if listing.readable(rest.MAINTENANCE_WINDOWS, ns):
            assignment = assign(windows.get(ns, []), dict(meta.get("labels") or {}), now)
            ignored.update({(ns, i.name): i.problem for i in assignment.ignored})
        items += [describe(obj, m, assignment) for m in found]
    # Stable sort: a database's version update stays ahead of its announced maintenance.
    items.sort(key=lambda i: (i["namespace"], i["name"]))
    problems = [{"namespace": ns, "name": name, "problem": p} for (ns, name), p in sorted(ignored.items())]
    return items, listing, problems


def run(args: argparse.Namespace) -> int:
    return targets.run_listing(args, collect, render_table, "ManagedDatabases")
