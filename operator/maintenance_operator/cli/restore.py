"""`kubectl maintenance restore DB --snapshot NAME --as NEW`: a new ManagedDatabase from a backup of DB; a restore
never touches the source database or an existing one."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from maintenance_operator.api import rest
from maintenance_operator.cli import common, kubeapi
from maintenance_operator.cli.backup_now import missing
from maintenance_operator.cli.errors import CliError
from maintenance_operator.planning.backups.actions import belongs_to, restore_refusal, restored_database
from maintenance_operator.planning.backups.snapshots import snapshot_record


def restore(
    api: kubeapi.Api, namespace: str, database: str, snapshot: str, new_name: str, *, force: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """Create ManagedDatabase ``new_name`` from ``snapshot`` of ``database``; returns it and warnings to show."""
    source = api.get(rest.MANAGED_DATABASES, namespace, database)
    try:
        snap = api.get(rest.VOLUME_SNAPSHOTS, namespace, snapshot)
    except kubeapi.KubeError as err:
        if missing(err):
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
        if not missing(err):
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
