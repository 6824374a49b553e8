"""`kubectl maintenance windows`: next occurrences computed from the spec, not from a stale status."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.planning.times import format_time
from tests.cluster.cluster import LocalCluster
from tests.integration.test_cli_support import apply, install_crds, plugin, plugin_json, window

pytestmark = pytest.mark.integration


def next_start(schedule: str, zone: str = "UTC") -> str:
    return format_time(
        sched.next_occurrences(sched.WindowSchedule.parse(schedule, "1h", zone), datetime.now(UTC), 1)[0].start
    )


def test_windows_lists_both_kinds(cluster: LocalCluster, namespace: str) -> None:
    install_crds(cluster)
    apply(
        cluster,
        namespace,
        window("weekly", schedule="0 14 * * 2", selector={}),
        window("berlin", schedule="30 2 * * *", timeZone="Europe/Berlin", selector={}, suspend=True),
        window("daily", kind=names.BACKUP_WINDOW, schedule="0 13 * * *", selector={}),
    )
    stale = {"status": {"nextWindow": "2020-01-01T00:00:00Z", "pendingCount": 4}}
    cluster.kubectl(
        "patch", "maintenancewindow", "weekly", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps(stale),
    )  # fmt: skip
    expected = {"weekly": next_start("0 14 * * 2"), "berlin": next_start("30 2 * * *", "Europe/Berlin")}
    expected["daily"] = next_start("0 13 * * *")
    data = plugin_json(cluster, "windows", "-n", namespace)
    items = {item["name"]: item for item in data["items"]}
    assert [(i["kind"], i["name"]) for i in data["items"]] == [
        ("BackupWindow", "daily"),
        ("MaintenanceWindow", "berlin"),
        ("MaintenanceWindow", "weekly"),
    ]
    for name, start in expected.items():
        assert items[name]["nextOccurrence"]["start"] == start, name
    assert items["weekly"]["pendingCount"] == 4
    assert items["daily"]["pendingCount"] is None
    assert items["berlin"]["state"] == "suspended" and items["berlin"]["timeZone"] == "Europe/Berlin"

    lines = plugin(cluster, "windows", "-n", namespace).stdout.splitlines()
    assert lines[0].split()[:3] == ["KIND", "NAME", "SCHEDULE"]
    weekly = next(line for line in lines if " weekly " in line)
    assert expected["weekly"] in weekly and weekly.rstrip().endswith("4")
    everywhere = plugin(cluster, "windows", "-A", "-o", "yaml").stdout
    assert f"namespace: {namespace}" in everywhere
