"""`kubectl maintenance windows`: the MaintenanceWindows and BackupWindows, when each opens next, which are open."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names, rest
from maintenance_operator.cli import common, kubeapi, reading
from maintenance_operator.cli.output import table
from maintenance_operator.cli.windowobjects import WindowObject, parse_window
from maintenance_operator.planning.times import format_time
from maintenance_operator.schedule.state import WindowReason


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "windows",
        help="list maintenance and backup windows and when they open next",
        description="List MaintenanceWindows and BackupWindows: schedule, zone, the next occurrence (computed "
        "here from the spec), whether one is open now, and how many targets wait for a maintenance window.",
    )
    common.add_connection_args(p, all_namespaces=True)
    common.add_output_arg(p)
    p.set_defaults(run=run)


def _occurrence(o: sched.Occurrence | None) -> dict[str, str] | None:
    return None if o is None else {"id": o.id, "start": format_time(o.start), "end": format_time(o.end)}


def describe(w: WindowObject, now: datetime) -> dict[str, Any]:
    """One window as scripts see it (`-o json|yaml`); the table is rendered from this."""
    pending = w.status.get("pendingCount") if w.kind == names.MAINTENANCE_WINDOW else None
    item: dict[str, Any] = {
        "kind": w.kind,
        "namespace": w.namespace,
        "name": w.name,
        "schedule": w.spec.get("schedule"),
        "duration": w.spec.get("duration"),
        "timeZone": w.spec.get("timeZone", names.DEFAULT_TIME_ZONE),
        "suspend": bool(w.spec.get("suspend")),
        "state": "invalid",
        "open": False,
        "openOccurrence": None,
        "nextOccurrence": None,
        "pendingCount": pending if isinstance(pending, int) else None,
        "problem": None,
    }
    if isinstance(w.schedule, str):
        item["problem"] = w.schedule
        return item
    state = sched.window_state(w.schedule, now)
    upcoming = sched.next_occurrences(w.schedule, now, 1)
    item["state"] = state.reason.value
    item["open"] = state.open is not None
    item["openOccurrence"] = _occurrence(state.open)
    item["nextOccurrence"] = _occurrence(upcoming[0] if upcoming else None)
    return item


def _open_cell(item: dict[str, Any]) -> str:
    if item["state"] == "invalid":
        return "invalid"
    if item["state"] == WindowReason.OPEN:
        return f"yes, until {item['openOccurrence']['end']}"
    return "no" if item["state"] == WindowReason.OUTSIDE_WINDOW else f"no ({item['state']})"


def render_table(items: list[dict[str, Any]], all_namespaces: bool) -> str:
    headers = ["kind", "name", "schedule", "duration", "zone", "next (UTC)", "open", "pending"]
    rows = [
        [
            item["kind"],
            item["name"],
            item["schedule"] or "-",
            item["duration"] or "-",
            item["timeZone"],
            (item["nextOccurrence"] or {}).get("start", "-"),
            _open_cell(item),
            "-" if item["pendingCount"] is None else str(item["pendingCount"]),
        ]
        for item in items
    ]
    if all_namespaces:
        headers = ["namespace", *headers]
        rows = [[item["namespace"], *row] for item, row in zip(items, rows, strict=True)]
    return table(headers, rows)


def collect(api: kubeapi.Api, namespace: str | None, now: datetime) -> tuple[list[dict[str, Any]], reading.Listing]:
    resources = [rest.MAINTENANCE_WINDOWS, rest.BACKUP_WINDOWS]
    listing = reading.read(api, resources, namespace, optional=[rest.BACKUP_WINDOWS])
    objects = [parse_window(obj) for items in listing.items.values() for obj in items]
    items = [describe(w, now) for w in sorted(objects, key=lambda w: (w.namespace, w.kind, w.name))]
    return items, listing


def run(args: argparse.Namespace) -> int:
    api = common.connect(args)
    namespace = common.scope(args, api)
    items, listing = collect(api, namespace, datetime.now(UTC))
    reading.show(
        items,
        listing,
        args.output,
        lambda rows: render_table(rows, namespace is None),
        f"No maintenance or backup windows in {reading.where(namespace)}.",
        warnings=[
            f"{i['kind']} {i['namespace']}/{i['name']} is invalid: {i['problem']}" for i in items if i["problem"]
        ],
    )
    return 0
