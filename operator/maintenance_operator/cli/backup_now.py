"""`kubectl maintenance backup DB`: a VolumeSnapshot of the database's data volume now, named and labelled as the
operator does, so retention keeps it like any other; `--wait` follows it until it is ready or has failed."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import rest
from maintenance_operator.cli import common, kubeapi
from maintenance_operator.cli.errors import CliError
from maintenance_operator.planning.backups.actions import on_demand_request, snapshot_manifest
from maintenance_operator.planning.backups.snapshots import SnapshotRecord, snapshot_record

POLL_SECONDS = 1.0
NO_SNAPSHOT_API = (
    f"the API server does not serve {rest.VOLUME_SNAPSHOTS.name} ({rest.VOLUME_SNAPSHOTS.api_version}): "
    "the CSI snapshot CRDs and snapshot-controller must be installed for backups"
)


def missing(err: kubeapi.KubeError) -> bool:
    return err.status == 404


def check_data_volume(api: kubeapi.Api, namespace: str, database: str, pvc: str) -> None:
    """Refuse a database whose data volume does not exist (yet); one may not be allowed to read PVCs: then try."""
    try:
        api.get(rest.PERSISTENT_VOLUME_CLAIMS, namespace, pvc)
    except kubeapi.KubeError as err:
        if missing(err):
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
        if missing(err):
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
            if missing(err):
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
