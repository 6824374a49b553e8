"""`kubectl maintenance backups`, `backup` and `restore`: the database snapshots, one taken now, a copy restored.

`backups` lists the VolumeSnapshots the operator manages (those of BackupWindows and the on-demand ones);
`backup DB` snapshots a database's data volume now, named and labelled as the operator does, so retention keeps it
like any other; `restore DB --snapshot NAME --as NEW` creates a new ManagedDatabase from one of them (a restore
never touches the source database or an existing one).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names, rest
from maintenance_operator.cli import common, kubeapi, reading, targets
from maintenance_operator.cli.errors import CliError
from maintenance_operator.planning.backups.actions import (
    belongs_to,
    on_demand_request,
    restore_refusal,
    restored_database,
    snapshot_manifest,
)
from maintenance_operator.planning.backups.snapshots import SnapshotRecord, snapshot_record
from maintenance_operator.planning.times import format_time

ON_DEMAND = "on-demand"
READY = "ready"
IN_PROGRESS = "in progress"
DELETING = "deleting"
DEFAULT_TIMEOUT = "5m"
POLL_SECONDS = 1.0
NO_SNAPSHOT_API = (
    f"the API server does not serve {rest.VOLUME_SNAPSHOTS.name} ({rest.VOLUME_SNAPSHOTS.api_version}): "
    "the CSI snapshot CRDs and snapshot-controller must be installed for backups"
)


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


# --- backup --------------------------------------------------------------------------------------------------------


def _missing(err: kubeapi.KubeError) -> bool:
    return err.status == 404


def check_data_volume(api: kubeapi.Api, namespace: str, database: str, pvc: str) -> None:
    """Refuse a database whose data volume does not exist (yet); one may not be allowed to read PVCs: then try."""
    try:
        api.get(rest.PERSISTENT_VOLUME_CLAIMS, namespace, pvc)
    except kubeapi.KubeError as err:
        if _missing(err):
            raise CliError(
                f"ManagedDatabase {database} has no data volume yet (PersistentVolumeClaim {pvc} not found in "
                f"namespace {namespace}); nothing was backed up"
            ) from None
        if not err.forbidden:
            raise


def backup(
    api: kubeapi.Api, namespace: str, database: str, now: datetime, snapshot_class: str | None = None
) -> dict[str, Any]:
    """Create the on-demand VolumeSnapshot of the database's data volume; returns what the API server stored."""
    api.get(rest.MANAGED_DATABASES, namespace, database)  # it must exist: a clear error otherwise
    request = on_demand_request(database, now)
    check_data_volume(api, namespace, database, request.pvc)
    try:
        return api.create(rest.VOLUME_SNAPSHOTS, namespace, snapshot_manifest(request, namespace, snapshot_class))
    except kubeapi.KubeError as err:
        if err.status == 409:
            raise CliError(
                f"VolumeSnapshot {request.name} already exists: a backup of {database} was already requested "
                "this second"
            ) from None
        if _missing(err):
            raise CliError(NO_SNAPSHOT_API) from None
        raise


def wait_ready(
    api: kubeapi.Api,
    namespace: str,
    name: str,
    timeout: timedelta,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SnapshotRecord:
    """Poll the snapshot until it is ready to use; a CliError when it fails, goes away or the deadline passes."""
    deadline = clock() + timeout.total_seconds()
    while True:
        try:
            record = snapshot_record(api.get(rest.VOLUME_SNAPSHOTS, namespace, name))
        except kubeapi.KubeError as err:
            if _missing(err):
                raise CliError(f"VolumeSnapshot {name} was deleted before it became ready") from None
            raise
        if record.failed:
            raise CliError(f"VolumeSnapshot {name} failed: {record.error}")
        if record.deleting:
            raise CliError(f"VolumeSnapshot {name} is being deleted")
        if record.ready:
            return record
        remaining = deadline - clock()
        if remaining <= 0:
            raise CliError(
                f"VolumeSnapshot {name} is not ready after {sched.format_duration(timeout)}; it is still being "
                f"taken. Follow it: kubectl maintenance backups -n {namespace}"
            )
        sleep(min(POLL_SECONDS, remaining))


def run_backup(args: argparse.Namespace) -> int:
    api = common.connect(args)
    namespace = common.scope(args, api)
    assert namespace is not None
    created = backup(api, namespace, args.database, datetime.now(UTC), args.snapshot_class)
    name = str(created["metadata"]["name"])
    print(name)
    sys.stdout.flush()
    if args.wait:
        wait_ready(api, namespace, name, args.timeout)
        size = (api.get(rest.VOLUME_SNAPSHOTS, namespace, name).get("status") or {}).get("restoreSize")
        print(f"{name} is ready to use" + (f" ({size})" if size else ""), file=sys.stderr)
    else:
        print(f"Follow it: kubectl maintenance backups {args.database} -n {namespace}", file=sys.stderr)
    return 0


# --- restore -------------------------------------------------------------------------------------------------------


def restore(
    api: kubeapi.Api, namespace: str, database: str, snapshot: str, new_name: str, *, force: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """Create ManagedDatabase ``new_name`` from ``snapshot`` of ``database``; returns it and warnings to show."""
    source = api.get(rest.MANAGED_DATABASES, namespace, database)
    try:
        snap = api.get(rest.VOLUME_SNAPSHOTS, namespace, snapshot)
    except kubeapi.KubeError as err:
        if _missing(err):
            raise CliError(
                f"VolumeSnapshot {snapshot} not found in namespace {namespace}; "
                f"see the backups of {database}: kubectl maintenance backups {database} -n {namespace}"
            ) from None
        raise
    record = snapshot_record(snap)
    refusal = restore_refusal(record, database, force=force)
    if refusal is not None:
        raise CliError(f"{refusal}; nothing was created")
    warnings = []
    if not belongs_to(record, database):
        owner = f"database {record.database}" if record.database else "no ManagedDatabase"
        warnings.append(f"VolumeSnapshot {snapshot} is a backup of {owner}; restoring it anyway (--force)")
    exists = f"ManagedDatabase {new_name} already exists in namespace {namespace}; choose another name with --as"
    try:
        api.get(rest.MANAGED_DATABASES, namespace, new_name)
    except kubeapi.KubeError as err:
        if not _missing(err):
            raise
    else:
        raise CliError(exists)
    manifest = restored_database(source, new_name, snapshot, (snap.get("status") or {}).get("restoreSize"))
    try:
        created = api.create(rest.MANAGED_DATABASES, namespace, manifest)
    except kubeapi.KubeError as err:
        if err.status == 409:
            raise CliError(exists) from None
        raise
    return created, warnings


def run_restore(args: argparse.Namespace) -> int:
    api = common.connect(args)
    namespace = common.scope(args, api)
    assert namespace is not None
    created, warnings = restore(api, namespace, args.database, args.snapshot, args.new_name, force=args.force)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    spec = created.get("spec") or {}
    size = (spec.get("storage") or {}).get("size")
    print(
        f"manageddatabase/{args.new_name} created from VolumeSnapshot {args.snapshot} "
        f"({spec.get('engine')} {spec.get('version')}, {size}). "
        f"Follow it: kubectl get mdb {args.new_name} -n {namespace} -w"
    )
    return 0
