"""`kubectl maintenance backups`, `backup` and `restore`: the database snapshots, one taken now, a copy restored.

`backups` lists the VolumeSnapshots the operator manages (those of BackupWindows and the on-demand ones);
`backup DB` snapshots a database's data volume now, named and labelled as the operator does, so retention keeps it
like any other; `restore DB --snapshot NAME --as NEW` creates a new ManagedDatabase from one of them (a restore
never touches the source database or an existing one). The parsers and the listing are here; taking a backup is
`cli.backup_now`, restoring one `cli.restore`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names, rest
from maintenance_operator.cli import common, kubeapi, reading, targets
from maintenance_operator.cli.backup_now import NO_SNAPSHOT_API, run_backup
from maintenance_operator.cli.errors import CliError
from maintenance_operator.cli.restore import run_restore
from maintenance_operator.planning.backups.actions import belongs_to
from maintenance_operator.planning.backups.snapshots import SnapshotRecord, snapshot_record
from maintenance_operator.planning.times import format_time

ON_DEMAND = "on-demand"
READY = "ready"
IN_PROGRESS = "in progress"
DELETING = "deleting"
DEFAULT_TIMEOUT = "5m"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "backups",
        help="list database backups (VolumeSnapshots): time, state, size, window",
        description="List the VolumeSnapshots the operator manages (taken by BackupWindows or by `kubectl "
        "maintenance backup`), optionally of one ManagedDatabase: when, state (ready, in progress, failed), size "
        "and the BackupWindow that took it (or on-demand); sorted by database, newest last.",
    )
    p.add_argument("database", nargs="?", metavar="DB", help="only the backups of this ManagedDatabase")
    common.add_connection_args(p, all_namespaces=True)
    common.add_output_arg(p)
    p.set_defaults(run=run_list)

    p = sub.add_parser(
        "backup",
        help="back up a ManagedDatabase now (on-demand VolumeSnapshot)",
        description="Take a VolumeSnapshot of the ManagedDatabase's data volume now and print its name. It is "
        f"labelled {names.LABEL_ON_DEMAND}={names.ON_DEMAND_VALUE} and kept by retention like the BackupWindow "
        "snapshots.",
    )
    p.add_argument("database", metavar="DB", help="the ManagedDatabase to back up")
    p.add_argument(
        "--class",
        dest="snapshot_class",
        metavar="NAME",
        help="VolumeSnapshotClass to use (default: the driver's default class)",
    )
    p.add_argument("--wait", action="store_true", help="wait until the snapshot is ready to use, or has failed")
    p.add_argument(
        "--timeout",
        type=_timeout,
        default=_timeout(DEFAULT_TIMEOUT),
        help=f"how long --wait waits, e.g. 90s, 10m (default {DEFAULT_TIMEOUT})",
    )
    common.add_connection_args(p)
    p.set_defaults(run=run_backup)

    p = sub.add_parser(
        "restore",
        help="create a new ManagedDatabase from a backup",
        description="Create the ManagedDatabase NEW from a ready backup of DB: DB's engine, running version, "
        "storage (at least the snapshot's size), resources and labels (so the same windows select it), and "
        "spec.restoreFrom set to the snapshot. DB itself is not touched, and an existing NEW is never replaced.",
    )
    p.add_argument("database", metavar="DB", help="the ManagedDatabase the backup was taken of")
    p.add_argument("--snapshot", required=True, metavar="NAME", help="the VolumeSnapshot to restore from")
    p.add_argument("--as", dest="new_name", required=True, metavar="NEW", help="name of the ManagedDatabase to create")
    p.add_argument(
        "--force",
        action="store_true",
        help="restore a snapshot that is not a backup of DB (its engine and version must still fit its data)",
    )
    common.add_connection_args(p)
    p.set_defaults(run=run_restore)


def _timeout(text: str) -> timedelta:
    try:
        value = sched.parse_duration(text, "--timeout")
    except sched.ScheduleError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if value <= timedelta():
        raise argparse.ArgumentTypeError("--timeout must be longer than 0s")
    return value


# --- backups -------------------------------------------------------------------------------------------------------


def state(record: SnapshotRecord) -> str:
    if record.failed:
        return f"failed: {record.error}"
    if record.deleting:
        return DELETING
    return READY if record.ready else IN_PROGRESS


def describe(obj: Mapping[str, Any]) -> dict[str, Any]:
    """One row as scripts see it (`-o json|yaml`)."""
    record = snapshot_record(obj)
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    source = (obj.get("spec") or {}).get("source") or {}
    labels = meta.get("labels") or {}
    return {
        "namespace": meta.get("namespace", ""),
        "name": record.name,
        "database": record.database,
        "time": format_time(record.created) if record.created else None,
        "state": state(record),
        "readyToUse": record.ready,
        "error": record.error,
        "size": status.get("restoreSize"),
        "window": record.window,
        "onDemand": record.on_demand,
        "occurrence": record.occurrence,
        "sourcePVC": source.get("persistentVolumeClaimName") or labels.get(names.LABEL_SOURCE_PVC),
        "snapshotClass": (obj.get("spec") or {}).get("volumeSnapshotClassName"),
    }


def window_cell(item: Mapping[str, Any]) -> str:
    if item["window"]:
        return str(item["window"])
    return ON_DEMAND if item["onDemand"] else "-"


def render_table(items: list[dict[str, Any]], all_namespaces: bool) -> str:
    headers = ["name", "database", "time", "state", "size", "window"]
    rows = [
        [
            item["name"],
            item["database"] or "-",
            item["time"] or "-",
            item["state"],
            item["size"] or "-",
            window_cell(item),
        ]
        for item in items
    ]
    return targets.namespaced_table(headers, rows, items, all_namespaces)


def _sort_key(item: Mapping[str, Any]) -> tuple[str, str, bool, str, str]:
    # RFC 3339 UTC times with a fixed format sort as text; a snapshot without a time (not yet seen) sorts last.
    return (item["namespace"], item["database"] or "", item["time"] is None, item["time"] or "", item["name"])


def collect(
    api: kubeapi.Api, namespace: str | None, database: str | None
) -> tuple[list[dict[str, Any]], reading.Listing]:
    """The operator's snapshots (of ``database`` only, if given), sorted by namespace, database, then time."""
    try:
        listing = reading.read(api, [rest.VOLUME_SNAPSHOTS], namespace)
    except kubeapi.KubeError as err:
        if err.status == 404:
            raise CliError(NO_SNAPSHOT_API) from None
        raise
    items = []
    for obj in listing.items[rest.VOLUME_SNAPSHOTS]:
        record = snapshot_record(obj)
        if not record.managed or (database is not None and not belongs_to(record, database)):
            continue
        items.append(describe(obj))
    items.sort(key=_sort_key)
    return items, listing


def run_list(args: argparse.Namespace) -> int:
    api = common.connect(args)
    namespace = common.scope(args, api)
    items, listing = collect(api, namespace, args.database)
    of = f" of {args.database}" if args.database else ""
    reading.show(
        items,
        listing,
        args.output,
        lambda rows: render_table(rows, namespace is None),
        f"No backups{of} in {reading.where(namespace)}.",
    )
    return 0
