"""`kubectl maintenance dbs` against the real local cluster (no operator: status is set as the operator would)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from maintenance_operator.api import names
from tests.cluster.cluster import LocalCluster
from tests.integration.test_cli_support import (
    SINCE,
    WEEKLY_CRON,
    apply,
    expected_starts,
    grant,
    plugin,
    plugin_json,
    required,
    rule,
    service_account_kubeconfig,
    wait_until_allowed,
    window,
)

pytestmark = pytest.mark.integration

DATA = {"tier": "data"}


def mdb(
    name: str,
    engine: str,
    version: str,
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.MANAGED_DATABASE,
        "metadata": {"name": name, "labels": dict(labels or {}), "annotations": dict(annotations or {})},
        "spec": {"engine": engine, "version": version, "replicas": 1, "storage": {"size": "1Gi"}, **spec},
    }


def running(cluster: LocalCluster, namespace: str, name: str, version: str) -> None:
    """What the operator records once the database runs `version`."""
    status = {"status": {"phase": "Ready", "currentVersion": version}}
    cluster.kubectl(
        "patch", "manageddatabase", name, "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps(status),
    )  # fmt: skip


def test_dbs_shows_updates_announcements_and_windows(crds: LocalCluster, namespace: str) -> None:
    cluster = crds
    apply(
        cluster,
        namespace,
        window("weekly", schedule=WEEKLY_CRON, duration="1h", selector={"matchLabels": DATA}),
        window("backups", names.BACKUP_WINDOW, selector={}),  # every database has a backup: only pending ones show
        mdb("orders", "postgresql", "16.6", labels=DATA),
        mdb("cache", "redis", "7.2.6", annotations=required("database-security", SINCE)),
        mdb("shop", "mysql", "8.0.41", labels=DATA, applyImmediately=True),
        mdb("legacy", "postgresql", "17.2", labels=DATA),
        mdb("fresh", "postgresql", "16.6", labels=DATA),  # no currentVersion: still being created
        mdb("quiet", "redis", "7.4.1", labels=DATA),
    )
    for name, version in [("orders", "16.4"), ("cache", "7.2.6"), ("shop", "8.0.40"), ("legacy", "16.4")]:
        running(cluster, namespace, name, version)
    running(cluster, namespace, "quiet", "7.4.1")

    starts = expected_starts()
    data = plugin_json(cluster, "dbs", "-n", namespace)
    starts |= expected_starts()
    rows = {row["name"]: row for row in data["items"]}
    assert sorted(rows) == ["cache", "legacy", "orders", "shop"]
    orders, cache, shop, legacy = rows["orders"], rows["cache"], rows["shop"], rows["legacy"]
    assert (orders["engine"], orders["reason"], orders["fromVersion"], orders["toVersion"]) == (
        "postgresql",
        "version update 16.4 -> 16.6",
        "16.4",
        "16.6",
    )
    assert orders["window"] == "weekly" and orders["occurrence"]["start"] in starts
    assert orders["downtimeExpected"] is True
    assert orders["backup"] == {"windows": ["BackupWindow/backups"], "configured": True, "note": None}
    assert (cache["reason"], cache["since"], cache["window"], cache["note"]) == (
        "database-security",
        SINCE,
        None,
        "no window selects it",
    )
    assert (shop["reason"], shop["applyImmediately"]) == ("version update 8.0.40 -> 8.0.41", True)
    assert legacy["refused"]["reason"] == "MajorVersionChange" and legacy["window"] is None
    assert data["unreadable"] == []

    table = plugin(cluster, "dbs", "-n", namespace).stdout.splitlines()
    assert table[0].split()[:5] == ["NAME", "ENGINE", "REASON", "SINCE", "WINDOW"]
    orders_line = next(line for line in table if line.startswith("mdb/orders "))
    assert "version update 16.4 -> 16.6" in orders_line and orders["occurrence"]["start"] in orders_line
    assert "downtime expected" in orders_line and "BackupWindow/backups" in orders_line
    cache_line = next(line for line in table if line.startswith("mdb/cache "))
    assert "database-security" in cache_line and "no window selects it" in cache_line
    assert "applies immediately" in next(line for line in table if line.startswith("mdb/shop "))

    # Maintenance recorded as done leaves the listing.
    cluster.kubectl(
        "annotate", "mdb", "cache", "-n", namespace, f"{names.ANNOTATION_COMPLETED_AT}=2026-01-06T00:00:00Z"
    )
    assert "cache" not in {row["name"] for row in plugin_json(cluster, "dbs", "-n", namespace)["items"]}

    everywhere = plugin_json(cluster, "dbs", "-A")
    assert {row["name"] for row in everywhere["items"] if row["namespace"] == namespace} == {"orders", "shop", "legacy"}


def test_dbs_restricted_account(crds: LocalCluster, namespace: str, tmp_path: Path) -> None:
    cluster = crds
    hidden = f"{namespace[:40]}-hidden"
    cluster.create_namespace(hidden)
    try:
        for ns in (namespace, hidden):
            apply(cluster, ns, mdb("orders", "postgresql", "16.6"))
            running(cluster, ns, "orders", "16.4")
        kubeconfig = service_account_kubeconfig(cluster, namespace, "viewer", tmp_path / "viewer.yaml")
        grant(cluster, "viewer", namespace, [rule(names.GROUP, "manageddatabases")], namespace)
        wait_until_allowed(cluster, kubeconfig, "list", "manageddatabases", "-n", namespace)

        # May not list namespaces nor read windows: its own namespace's databases, and what it could not read.
        result = plugin(cluster, "dbs", "-A", "-o", "json", kubeconfig=kubeconfig)
        data = json.loads(result.stdout)
        assert [(row["namespace"], row["name"], row["note"]) for row in data["items"]] == [
            (namespace, "orders", "unknown: you may not read MaintenanceWindows here")
        ]
        assert data["items"][0]["backup"]["note"] == "unknown: you may not read BackupWindows here"
        assert [u["namespace"] for u in data["unreadable"]] == [None, namespace]
        assert "warning: could not read other namespaces" in result.stderr

        denied = plugin(cluster, "dbs", "-n", hidden, kubeconfig=kubeconfig, check=False)
        assert denied.returncode == 1
        assert denied.stderr == (
            f'error: forbidden: you may not list manageddatabases.{names.GROUP} in namespace "{hidden}"\n'
        )
    finally:
        cluster.kubectl("delete", "namespace", hidden, "--wait=false", "--ignore-not-found")
