"""The platform's default backup window (issue 15): `deploy/defaults`' ClusterBackupWindow snapshots each
ManagedDatabase that no BackupWindow of its own namespace selects, each snapshot in its database's namespace, with
retention as usual; a database labelled `maintenance.ops.dev/window: none` is backed up by nothing, and says so
(BackupConfigured=False, a Warning, the metric, `kubectl maintenance dbs`), and one that a BackupWindow of its
namespace selects is never the cluster window's.

The operator watches only the test's namespace (`--namespace`), so this also proves the cluster-scoped kind is
served then."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster.cluster import REPO_ROOT, LocalCluster, SnapshotStack
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_backup_window import backed_up, backup_window, snapshots_of
from tests.integration.test_cli_support import plugin_json
from tests.integration.test_managed_database import condition, database, db_status, ready
from tests.integration.workloads import apply, away_from_now, events_for

pytestmark = pytest.mark.integration

DEFAULT = REPO_ROOT / "deploy" / "defaults" / "clusterbackupwindow.yaml"
CBW = "cbw/platform-default"
WINDOW_LABEL = "ClusterBackupWindow.platform-default"
OPT_OUT = {"maintenance.ops.dev/window": "none"}
JANUARY_3 = "0 3 1 1 *"  # the namespaced window never opens during a test


@pytest.fixture
def platform_backups(crds: LocalCluster) -> Iterator[str]:
    """deploy/defaults' ClusterBackupWindow, as installed; cluster-scoped, so always deleted afterwards (every
    later test's namespace would be covered by it). Its real occurrence (daily 13:00-14:00 UTC) is moved away when
    the test could meet it: the test counts run-now's snapshots only."""
    crds.kubectl("apply", "-f", str(DEFAULT))
    try:
        if datetime.now(UTC).hour in (12, 13):
            patch = {"spec": {"schedule": away_from_now()}}
            crds.kubectl("patch", CBW, "--type=merge", "-p", json.dumps(patch))
        yield CBW
    finally:
        crds.kubectl("delete", CBW, "--ignore-not-found", "--wait=true")


def cbw_status(cluster: LocalCluster) -> dict[str, Any]:
    return cluster.kubectl_json("get", CBW).get("status") or {}


def run_now(cluster: LocalCluster) -> None:
    """An ad-hoc occurrence; ids have second precision, so wait for the next second first (two requests in one
    second are one occurrence)."""
    opened = datetime.now(UTC).replace(microsecond=0)
    eventually(lambda: datetime.now(UTC) >= opened + timedelta(seconds=1), what="the next second")
    stamp = datetime.now(UTC).strftime("%H%M%S.%f")
    cluster.kubectl("annotate", "--overwrite", CBW, f"maintenance.ops.dev/run-now={stamp}")


def cluster_snapshots(cluster: LocalCluster) -> list[dict[str, Any]]:
    """Every snapshot the cluster window made, in any namespace (read from the cluster, not the operator)."""
    listing = cluster.kubectl_json(
        "get", "volumesnapshots", "-A", "-l", f"maintenance.ops.dev/backup-window={WINDOW_LABEL}"
    )
    items: list[dict[str, Any]] = listing["items"]
    return items


def ready_names(snapshots: list[dict[str, Any]]) -> set[str]:
    return {s["metadata"]["name"] for s in snapshots if (s.get("status") or {}).get("readyToUse")}


def succeeded(cluster: LocalCluster, seen: set[str]) -> tuple[dict[str, Any], str] | None:
    """The cluster window's finished run and the one new ready snapshot of `orders` it made."""
    run: dict[str, Any] = cbw_status(cluster).get("lastRun") or {}
    fresh = ready_names([s for s in cluster_snapshots(cluster) if s["metadata"]["name"] not in seen])
    if run.get("result") != "Succeeded" or not fresh:
        return None
    assert len(fresh) == 1, fresh
    return run, fresh.pop()


def configured_gauge(metrics: str, namespace: str) -> dict[str, float]:
    """maintenance_database_backup_configured by database, as the operator's /metrics exports it."""
    return {
        sample.labels["name"]: sample.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "maintenance_database_backup_configured"
        for sample in family.samples
        if sample.labels.get("namespace") == namespace
    }


def test_the_platform_default_backs_up_what_no_backup_window_selects(
    crds: LocalCluster,
    snapshot_stack: SnapshotStack,
    namespace: str,
    platform_backups: str,
    operator: OperatorProcess,
) -> None:
    cluster = crds
    optout = database("optout")
    optout["metadata"]["labels"] = OPT_OUT
    own = backup_window("team", schedule=JANUARY_3)
    apply(cluster, namespace, database("orders"), optout, backed_up("own"), own)
    for name in ("orders", "optout", "own"):
        eventually(lambda n=name: ready(cluster, namespace, n, "16.4"), timeout=90, what=f"{name} ready")  # type: ignore[misc]

    # Who backs up what, as each database's status says.
    def configured(name: str) -> dict[str, Any] | None:
        conditions = db_status(cluster, namespace, name).get("conditions") or []
        return next((c for c in conditions if c["type"] == "BackupConfigured"), None)

    orders = eventually(lambda: configured("orders"), what="orders' BackupConfigured")
    assert (orders["status"], orders["reason"]) == ("True", "ClusterBackupWindow"), orders
    assert "ClusterBackupWindow/platform-default" in orders["message"]
    assert eventually(lambda: configured("own"), what="own's BackupConfigured")["reason"] == "BackupWindow"
    none = eventually(lambda: configured("optout"), what="optout's BackupConfigured")
    assert (none["status"], none["reason"]) == ("False", "NoBackupWindow"), none
    warning = eventually(lambda: events_for(cluster, namespace, "optout", "NoBackupWindow"), what="the Warning")
    assert warning[0]["type"] == "Warning" and "maintenance.ops.dev/window=none" in warning[0]["message"]
    scraped = configured_gauge(operator.metrics(), namespace)
    assert scraped == {"optout": 0.0, "orders": 1.0, "own": 1.0}, scraped
    listed = {i["name"]: i for i in plugin_json(cluster, "dbs", "-n", namespace)["items"]}
    assert sorted(listed) == ["optout"], "nothing pending anywhere: only the database without a backup is listed"
    assert (listed["optout"]["reason"], listed["optout"]["backup"]["configured"]) == (None, False)
    upcoming = eventually(lambda: cbw_status(cluster).get("nextOccurrences"), what="the window's status")
    assert db_status(cluster, namespace, "orders")["nextBackupWindow"] == upcoming[0]["start"]

    # Run-now: one snapshot, of orders only, in its namespace; its lastBackup follows.
    run_now(cluster)
    run, first = eventually(lambda: succeeded(cluster, set()), timeout=90, what="the run-now occurrence")
    assert run["snapshots"] == 1 and run["failed"] == 0, run
    made = cluster_snapshots(cluster)
    assert [(s["metadata"]["namespace"], s["metadata"]["labels"]["maintenance.ops.dev/database"]) for s in made] == [
        (namespace, "orders")
    ], "only orders, in its own namespace"
    assert first == f"orders-data-orders-0-{run['occurrence'].lower()}"
    assert snapshots_of(cluster, namespace, "own") == [], "the team BackupWindow's, never the cluster window's"
    assert snapshots_of(cluster, namespace, "optout") == []
    backup = eventually(lambda: db_status(cluster, namespace, "orders").get("lastBackup"), what="lastBackup")
    assert backup["snapshot"] == first
    status = cbw_status(cluster)
    assert (status["databases"], status["namespaceCount"]) == (1, 1), status
    assert status["namespaces"][0]["namespace"] == namespace
    assert condition(status, "Ready")["status"] == "True"

    # Retention as usual: with keepLast lowered to 1, the next run keeps only the newest.
    lowered = {"spec": {"retention": {"keepLast": 1, "minReady": 1}}}
    cluster.kubectl("patch", CBW, "--type=merge", "-p", json.dumps(lowered))
    run_now(cluster)
    _, second = eventually(lambda: succeeded(cluster, {first}), timeout=90, what="the second run")
    eventually(
        lambda: {s["metadata"]["name"] for s in snapshots_of(cluster, namespace, "orders")} == {second},
        what="the older snapshot deleted by retention",
    )
    eventually(
        lambda: (db_status(cluster, namespace, "orders").get("lastBackup") or {}).get("snapshot") == second,
        what="lastBackup: the newest",
    )
