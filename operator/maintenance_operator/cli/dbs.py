"""`kubectl maintenance dbs`: the ManagedDatabases that need maintenance, why, and the window for each."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from maintenance_operator.api import rest
from maintenance_operator.cli import common, kubeapi, reading, targets
from maintenance_operator.cli.backupwindows import Backup, Backups
from maintenance_operator.planning.databases.manifests import statefulset_name
from maintenance_operator.planning.databases.pending import DatabaseMaintenance, database_maintenance
from maintenance_operator.planning.targets.pending import pending
from maintenance_operator.planning.targets.workloads import Workload, workload_from_object
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows.assignment import Assignment, assign

DOWNTIME = "downtime expected"
IMMEDIATE = "applies immediately"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "dbs",
        help="list ManagedDatabases that need maintenance or have no backup window, and their windows",
        description="List the ManagedDatabases with pending maintenance: a version update (from -> to) or "
        "announced maintenance (e.g. database-security), since when, whether it means downtime (a single "
        "instance), and the start of the maintenance window occurrence (MaintenanceWindow or "
        "ClusterMaintenanceWindow) that will handle it; with the backup window that backs each up (a BackupWindow "
        "of its namespace, else a ClusterBackupWindow). A database that no backup window backs up is listed even "
        "with nothing pending.",
    )
    common.add_connection_args(p, all_namespaces=True)
    common.add_output_arg(p)
    p.set_defaults(run=run)


def describe(
    obj: Mapping[str, Any],
    m: DatabaseMaintenance | None,
    assignment: Assignment | None,
    backup: Backup,
    announcements: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """One row as scripts see it (`-o json|yaml`); `m` None: nothing pending, listed for having no backup window;
    `assignment` None: the namespace's windows were unreadable.

    A refused version change gets no window: no window will apply it.
    """
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    refused = m.refused if m is not None else None
    if refused is not None:
        assignment = Assignment(None, None)
    replicas = spec.get("replicas")
    return {
        "namespace": meta.get("namespace", ""),
        "kind": rest.MANAGED_DATABASES.kind,
        "name": meta.get("name", ""),
        "engine": spec.get("engine"),
        "reason": m.reason if m is not None else None,
        "fromVersion": m.from_version if m is not None else None,
        "toVersion": m.to_version if m is not None else None,
        "since": format_time(m.since) if m is not None and m.since else None,
        "downtimeExpected": not isinstance(replicas, int) or replicas <= 1,
        "applyImmediately": m is not None
        and m.version_update
        and refused is None
        and bool(spec.get("applyImmediately")),
        "refused": None if refused is None else {"reason": str(refused.reason), "message": refused.message},
        **targets.window_fields(assignment, None if refused is not None else targets.window_note(assignment)),
        "backup": backup.wire(),
        "announcements": list(announcements or []),  # [{name, description}] of the Maintenance objects behind it
    }


def _notes_cell(item: Mapping[str, Any]) -> str:
    notes = [DOWNTIME] if item["downtimeExpected"] else []
    notes += [IMMEDIATE] if item["applyImmediately"] else []
    notes += [item["note"]] if item["window"] and item["note"] else []  # its window is suspended
    if item["announcements"]:
        notes.append("announced by " + ", ".join(a["name"] for a in item["announcements"]))
    if item["refused"]:
        notes.append(f"refused ({item['refused']['reason']}): see kubectl describe mdb/{item['name']}")
    return ", ".join(notes) or "-"


def _backup_cell(backup: Mapping[str, Any]) -> str:
    return Backup(tuple(backup["windows"]), backup["configured"], backup["note"]).cell


def render_table(items: list[dict[str, Any]], all_namespaces: bool) -> str:
    headers = ["name", "engine", "reason", "since", "window", "window start (UTC)", "backup", "notes"]
    rows = [
        [
            f"mdb/{item['name']}",
            item["engine"] or "-",
            item["reason"] or "-",
            item["since"] or "-",
            item["window"] or item["note"] or "-",
            targets.start_cell(item),
            _backup_cell(item["backup"]),
            _notes_cell(item),
        ]
        for item in items
    ]
    return targets.namespaced_table(headers, rows, items, all_namespaces)


def collect(
    api: kubeapi.Api, namespace: str | None, now: datetime
) -> tuple[list[dict[str, Any]], reading.Listing, list[dict[str, str]]]:
    """Rows (one per pending maintenance, or one for a database that no backup window backs up) sorted by
    namespace and name; the read; the invalid windows ignored."""
    resources = [rest.MANAGED_DATABASES, rest.MAINTENANCE_WINDOWS, rest.BACKUP_WINDOWS]
    listing = reading.read(api, resources, namespace, optional=[rest.MAINTENANCE_WINDOWS, rest.BACKUP_WINDOWS])
    databases = listing.items[rest.MANAGED_DATABASES]
    windows = targets.window_candidates(listing.items[rest.MAINTENANCE_WINDOWS])
    seen = {str((obj.get("metadata") or {}).get("namespace") or "") for obj in databases}
    windows = targets.with_cluster_windows(api, windows, seen)
    backups = Backups(api, listing)
    announced = Announced(api, namespace, databases)
    listing.extra.update(announced.found.extra())
    listing.notes += announced.found.notes()
    items: list[dict[str, Any]] = []
    ignored: dict[tuple[str, str], str] = {}
    for obj in databases:
        meta = obj.get("metadata") or {}
        ns, labels = str(meta.get("namespace") or ""), dict(meta.get("labels") or {})
        backup = backups.of(ns, labels)
        found: list[DatabaseMaintenance | None] = [*database_maintenance(obj)]
        covered, by = announced.of(obj)
        own = {m.reason for m in found if m is not None}
        covered = [m for m in covered if m.reason not in own]  # its own annotation says it already
        found += covered
        if not found and backup.configured is not False:
            continue
        assignment = None
        if listing.readable(rest.MAINTENANCE_WINDOWS, ns):
            assignment = assign(windows.get(ns, []), labels, now)
            ignored.update({(ns, i.name): i.problem for i in assignment.ignored})
        items += [describe(obj, m, assignment, backup, by if m in covered else None) for m in found or [None]]
    # Stable sort: a database's version update stays ahead of its announced maintenance.
    items.sort(key=lambda i: (i["namespace"], i["name"]))
    problems = [{"namespace": ns, "name": name, "problem": p} for (ns, name), p in sorted(ignored.items())]
    return items, listing, problems


class Announced:
    """The Maintenance announcements still to do on each database, judged as the operator judges them: on its
    StatefulSet (matched as the database, with the database's labels), done by a restart after `requiredSince`.
    StatefulSets are read only when some announcement exists, and a caller who may not list them sees none."""

    def __init__(self, api: kubeapi.Api, namespace: str | None, databases: list[dict[str, Any]]) -> None:
        self.found = targets.read_announcements(api)
        self._databases = targets.database_labels(databases)
        self._statefulsets: dict[tuple[str, str], Workload] = {}
        if self.found.items:
            read = reading.read(api, [rest.STATEFULSETS], namespace, optional=[rest.STATEFULSETS])
            for o in read.items[rest.STATEFULSETS]:
                w = workload_from_object("StatefulSet", o)
                self._statefulsets[(w.namespace, w.name)] = w

    def of(self, obj: Mapping[str, Any]) -> tuple[list[DatabaseMaintenance], list[dict[str, str]]]:
        """The database's announced maintenance not yet done (one entry per announcement reason), and the
        announcements behind it."""
        meta = obj.get("metadata") or {}
        ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        live = self._statefulsets.get((ns, statefulset_name(name)))
        if live is None:
            return [], []
        view = self.found.workload(live, self._databases.get(ns, {}))
        due = pending(view)
        if not view.announcements or due is None:
            return [], []
        named = self.found.described(view.announcements)
        reasons = {a.reason for a in self.found.items if a.name in view.announcements}
        return [DatabaseMaintenance(r, due.since) for r in sorted(reasons)], named


def run(args: argparse.Namespace) -> int:
    return targets.run_listing(args, collect, render_table, "ManagedDatabases")
