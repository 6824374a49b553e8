"""`kubectl maintenance backups`, `backup` and `restore` against the local cluster's real snapshot stack.

No operator runs: `backup` needs only the ManagedDatabase object and its data PVC (created here under the name the
StatefulSet would give it), and `restore` only creates the new ManagedDatabase object, whose spec is checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maintenance_operator.api import names
from maintenance_operator.planning.backups.snapshots import snapshot_labels
from maintenance_operator.planning.databases.manifests import data_claim_name
from tests.cluster.cluster import LocalCluster, SnapshotStack
from tests.cluster.processes import poll
from tests.integration.test_cli_dbs import mdb, running
from tests.integration.test_cli_support import (
    apply,
    grant,
    plugin,
    plugin_json,
    rule,
    service_account_kubeconfig,
    wait_until_allowed,
)

pytestmark = pytest.mark.integration

DATA = {"tier": "data"}
TIMEOUT = "60s"


def data_claim(database: str, size: str = "1Gi") -> dict[str, Any]:
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": data_claim_name(database)},
        "spec": spec,
    }


def database(cluster: LocalCluster, namespace: str, name: str, engine: str, version: str, **kw: Any) -> None:
    """The ManagedDatabase object and its bound data volume, as the operator would leave them."""
    apply(cluster, namespace, mdb(name, engine, version, **kw), data_claim(name))
    cluster.kubectl(
        "wait", "-n", namespace, "--for=jsonpath={.status.phase}=Bound", f"--timeout={TIMEOUT}",
        f"pvc/{data_claim_name(name)}",
    )  # fmt: skip


def take_backup(cluster: LocalCluster, namespace: str, name: str) -> str:
    result = plugin(cluster, "backup", name, "-n", namespace, "--wait", "--timeout", "2m")
    assert "is ready to use" in result.stderr
    return result.stdout.strip()


def get(cluster: LocalCluster, namespace: str, *what: str) -> Any:
    return cluster.kubectl_json("get", "-n", namespace, *what)


def test_backup_list_and_restore(crds: LocalCluster, namespace: str, snapshot_stack: SnapshotStack) -> None:
    cluster = crds
    resources = {"requests": {"cpu": "100m"}}
    database(cluster, namespace, "orders", "postgresql", "16.6", labels=DATA, resources=resources)
    running(cluster, namespace, "orders", "16.4")

    name = take_backup(cluster, namespace, "orders")
    assert name.startswith("orders-data-orders-0-on-demand-") and "\n" not in name
    snap = get(cluster, namespace, "volumesnapshot", name)
    labels = snap["metadata"]["labels"]
    assert labels[names.LABEL_ON_DEMAND] == "true" and labels[names.LABEL_DATABASE] == "orders"
    assert labels[names.LABEL_MANAGED_BY] == names.MANAGED_BY_VALUE and names.LABEL_BACKUP_WINDOW not in labels
    assert snap["spec"]["source"] == {"persistentVolumeClaimName": "data-orders-0"}
    # No --class: the driver's default VolumeSnapshotClass, which the snapshot controller fills in.
    assert snap["spec"].get("volumeSnapshotClassName") in (None, snapshot_stack.snapshot_class)
    assert snap["status"]["readyToUse"] is True

    (row,) = plugin_json(cluster, "backups", "orders", "-n", namespace)["items"]
    assert (row["name"], row["database"], row["state"], row["onDemand"], row["window"]) == (
        name,
        "orders",
        "ready",
        True,
        None,
    )
    size = snap["status"].get("restoreSize")  # the mock driver may report none: "-"
    assert row["size"] == size and row["time"]
    table = plugin(cluster, "backups", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "DATABASE", "TIME", "STATE", "SIZE", "WINDOW"]
    assert table[1].split() == [name, "orders", row["time"], "ready", size or "-", "on-demand"]
    everywhere = plugin_json(cluster, "backups", "-A")["items"]
    assert [r["name"] for r in everywhere if r["namespace"] == namespace] == [name]

    result = plugin(cluster, "restore", "orders", "--snapshot", name, "--as", "copy", "-n", namespace)
    assert result.stdout.startswith(f"manageddatabase/copy created from VolumeSnapshot {name} (postgresql 16.4, ")
    copy = get(cluster, namespace, "manageddatabase", "copy")
    assert copy["spec"]["restoreFrom"] == {"volumeSnapshotName": name}
    assert (copy["spec"]["engine"], copy["spec"]["version"]) == ("postgresql", "16.4")
    assert copy["spec"]["storage"]["size"] == "1Gi" and copy["spec"]["resources"] == resources
    assert copy["metadata"]["labels"] == DATA  # the same windows select the copy

    again = plugin(cluster, "restore", "orders", "--snapshot", name, "--as", "copy", "-n", namespace, check=False)
    assert again.returncode == 1
    assert again.stderr == (
        f"error: ManagedDatabase copy already exists in namespace {namespace}; choose another name with --as\n"
    )


def test_refusals(crds: LocalCluster, namespace: str, snapshot_stack: SnapshotStack) -> None:
    cluster = crds

    def refused(*args: str) -> str:
        result = plugin(cluster, *args, "-n", namespace, check=False)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
        return result.stderr

    assert refused("backup", "ghost") == f'error: not found: ManagedDatabase "ghost" in namespace "{namespace}"\n'
    apply(cluster, namespace, mdb("fresh", "postgresql", "16.6"))  # no data volume yet
    assert "fresh has no data volume yet" in refused("backup", "fresh")

    database(cluster, namespace, "orders", "postgresql", "16.6")
    database(cluster, namespace, "cache", "redis", "7.2.6")
    orders_backup = take_backup(cluster, namespace, "orders")

    assert "VolumeSnapshot nope not found" in refused("restore", "orders", "--snapshot", "nope", "--as", "copy")
    assert 'ManagedDatabase "ghost"' in refused("restore", "ghost", "--snapshot", orders_backup, "--as", "copy")
    other = refused("restore", "cache", "--snapshot", orders_backup, "--as", "copy")
    assert f"VolumeSnapshot {orders_backup} is a backup of database orders, not of cache; pass --force" in other
    assert "orders already exists" in refused("restore", "orders", "--snapshot", orders_backup, "--as", "orders")

    # A snapshot no driver serves (its class names a driver nobody runs): in progress for ever, not restorable.
    unserved = f"{namespace}-unserved"
    snapshot_class = {
        "apiVersion": names.SNAPSHOT_API_VERSION,
        "kind": "VolumeSnapshotClass",
        "metadata": {"name": unserved},
        "driver": "nobody.maintenance.ops.dev",
        "deletionPolicy": "Retain",
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(snapshot_class))
    try:
        timed_out = plugin(
            cluster, "backup", "orders", "--class", unserved, "--wait", "--timeout", "3s", "-n", namespace,
            check=False,
        )  # fmt: skip
    finally:
        cluster.kubectl("delete", "volumesnapshotclass", unserved, "--wait=false", "--ignore-not-found")
    assert timed_out.returncode == 1
    stuck = timed_out.stdout.strip()
    assert timed_out.stderr == (
        f"error: VolumeSnapshot {stuck} is not ready after 3s; it is still being taken. "
        f"Follow it: kubectl maintenance backups -n {namespace}\n"
    )
    assert get(cluster, namespace, "volumesnapshot", stuck)["spec"]["volumeSnapshotClassName"] == unserved
    rows = {r["name"]: r for r in plugin_json(cluster, "backups", "orders", "-n", namespace)["items"]}
    assert (rows[stuck]["state"], rows[stuck]["onDemand"]) == ("in progress", True)
    assert rows[orders_backup]["state"] == "ready"
    assert "not readyToUse yet" in refused("restore", "orders", "--snapshot", stuck, "--as", "copy", "--force")

    # A snapshot of a volume that does not exist fails: listed with the controller's message, not restorable.
    labels = snapshot_labels("orders", "data-gone-0", "20261201T1300Z", "daily")
    broken = {
        "apiVersion": names.SNAPSHOT_API_VERSION,
        "kind": names.VOLUME_SNAPSHOT,
        "metadata": {"name": "broken", "labels": labels},
        "spec": {"source": {"persistentVolumeClaimName": "data-gone-0"}},
    }
    apply(cluster, namespace, broken)
    poll(lambda: (get(cluster, namespace, "volumesnapshot", "broken").get("status") or {}).get("error"), 60, "error")
    row = next(r for r in plugin_json(cluster, "backups", "orders", "-n", namespace)["items"] if r["name"] == "broken")
    assert row["state"].startswith("failed: ") and "data-gone-0" in row["state"] and row["window"] == "daily"
    assert "it holds no data to restore" in refused("restore", "orders", "--snapshot", "broken", "--as", "copy")
    assert "copy" not in {m["metadata"]["name"] for m in get(cluster, namespace, "manageddatabases")["items"]}

    # --force restores another database's backup, saying so.
    forced = plugin(
        cluster, "restore", "cache", "--snapshot", orders_backup, "--as", "copy", "--force", "-n", namespace
    )
    assert "restoring it anyway (--force)" in forced.stderr
    assert get(cluster, namespace, "mdb", "copy")["spec"]["engine"] == "redis"

    # A class that does not exist: the snapshot controller reports an error, which --wait reports.
    failed = plugin(
        cluster, "backup", "orders", "--class", "no-such-class", "--wait", "--timeout", "1m", "-n", namespace,
        check=False,
    )  # fmt: skip
    assert failed.returncode == 1
    assert failed.stdout.startswith("orders-data-orders-0-on-demand-")
    assert "failed: " in failed.stderr and failed.stderr.count("error:") == 1


def test_restricted_account(crds: LocalCluster, namespace: str, snapshot_stack: SnapshotStack, tmp_path: Path) -> None:
    cluster = crds
    database(cluster, namespace, "orders", "postgresql", "16.6")
    name = take_backup(cluster, namespace, "orders")
    kubeconfig = service_account_kubeconfig(cluster, namespace, "viewer", tmp_path / "viewer.yaml")
    grant(cluster, "viewer", namespace, [rule(names.SNAPSHOT_API_GROUP, "volumesnapshots")], namespace)
    wait_until_allowed(cluster, kubeconfig, "list", "volumesnapshots", "-n", namespace)

    # May not list namespaces nor snapshots cluster-wide: its own namespace's backups, and what it could not read.
    result = plugin(cluster, "backups", "-A", "-o", "json", kubeconfig=kubeconfig)
    data = json.loads(result.stdout)
    assert [(r["namespace"], r["name"]) for r in data["items"]] == [(namespace, name)]
    assert [u["namespace"] for u in data["unreadable"]] == [None]
    assert "warning: could not read other namespaces" in result.stderr

    denied = plugin(cluster, "backup", "orders", kubeconfig=kubeconfig, check=False)
    assert denied.returncode == 1
    assert denied.stderr == (
        f'error: forbidden: you may not get manageddatabases.{names.GROUP} "orders" in namespace "{namespace}"\n'
    )
