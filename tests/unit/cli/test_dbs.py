"""`kubectl maintenance dbs` against a fake API: version updates, announced maintenance, windows, unreadable parts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.api import names
from maintenance_operator.api.rest import (
    BACKUP_WINDOWS,
    CLUSTER_BACKUP_WINDOWS,
    CLUSTER_MAINTENANCE_WINDOWS,
    MAINTENANCE_WINDOWS,
    MAINTENANCES,
    MANAGED_DATABASES,
    NAMESPACES,
    STATEFULSETS,
)
from maintenance_operator.cli import backupwindows, common, dbs
from maintenance_operator.cli.kubeapi import KubeError
from maintenance_operator.cli.main import main
from maintenance_operator.cli.targets import NO_WINDOW, WINDOWS_UNREADABLE
from maintenance_operator.planning.databases.pending import database_maintenance
from maintenance_operator.planning.databases.versions import Refusal
from tests.unit.cli.fakes import FakeApi, announcement, window
from tests.unit.planning.factories import statefulset

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday
SINCE = "2026-11-20T08:00:00Z"
DATA = {"tier": "data"}
WEEKLY_START = "2026-12-01T14:00:00Z"


def mdb(
    namespace: str,
    name: str,
    *,
    engine: str = "postgresql",
    version: str = "16.4",
    current: str | None = "16.4",
    labels: Mapping[str, str] | None = None,
    reason: str | None = None,
    since: str | None = None,
    completed: str | None = None,
    apply_immediately: bool = False,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A ManagedDatabase as the API returns it; `current` None: still being created."""
    annotations = {}
    if reason is not None:
        annotations[names.ANNOTATION_REQUIRED] = reason
    if since is not None:
        annotations[names.ANNOTATION_REQUIRED_SINCE] = since
    if completed is not None:
        annotations[names.ANNOTATION_COMPLETED_AT] = completed
    status: dict[str, Any] = {"phase": "Ready" if current else "Provisioning", "conditions": conditions or []}
    if current is not None:
        status["currentVersion"] = current
    spec: dict[str, Any] = {"engine": engine, "version": version, "replicas": 1, "storage": {"size": "1Gi"}}
    if apply_immediately:
        spec["applyImmediately"] = True
    return {
        "apiVersion": names.API_VERSION,
        "metadata": {
            "namespace": namespace,
            "name": name,
            "labels": dict(labels or {}),
            "annotations": annotations,
            "generation": 1,
        },
        "spec": spec,
        "status": status,
    }


def cluster() -> FakeApi:
    api = FakeApi()
    api.add(MANAGED_DATABASES, mdb("team-a", "orders", version="16.6", labels=DATA))
    api.add(
        MANAGED_DATABASES,
        mdb("team-a", "cache", engine="redis", version="7.2.6", current="7.2.6", reason="security", since=SINCE),
    )
    api.add(MANAGED_DATABASES, mdb("team-a", "quiet", labels=DATA))  # nothing to do
    api.add(MANAGED_DATABASES, mdb("team-a", "new", version="16.6", current=None, labels=DATA))  # being created
    api.add(MANAGED_DATABASES, mdb("team-b", "shop", engine="mysql", version="8.0.41", current="8.0.40", labels=DATA))
    api.add(MAINTENANCE_WINDOWS, window("team-a", "weekly", selector={"matchLabels": DATA}))
    api.add(MAINTENANCE_WINDOWS, window("team-b", "nightly", schedule="0 22 * * *"))
    api.add(CLUSTER_BACKUP_WINDOWS, cluster_backup_window("platform-default"))  # every database is backed up
    return api


def cluster_backup_window(name: str, namespace_selector: Mapping[str, Any] | None = None) -> dict[str, Any]:
    spec = {"schedule": "0 13 * * *", "namespaceSelector": dict(namespace_selector or {}), "selector": {}}
    return {"metadata": {"name": name}, "spec": spec}


def backup_window(namespace: str, name: str, selector: Mapping[str, Any]) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name}, "spec": {"selector": dict(selector)}}


def namespace(name: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"metadata": {"namespace": "", "name": name, "labels": dict(labels)}}


def rows(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{i['namespace']}/{i['name']}/{i['reason']}": i for i in items}


# -- what is pending for one database (planning.database_pending) --


def test_version_update_and_creation() -> None:
    (update,) = database_maintenance(mdb("ns", "db", version="16.6", current="16.4"))
    assert (update.reason, update.from_version, update.to_version, update.refused) == (
        "version update 16.4 -> 16.6",
        "16.4",
        "16.6",
        None,
    )
    assert update.since is None
    assert database_maintenance(mdb("ns", "db", version="16.6", current=None)) == []  # created at 16.6
    assert database_maintenance(mdb("ns", "db", version="16.04", current="16.4")) == []  # the same version
    assert database_maintenance(mdb("ns", "db", version="16.4", current="16.6"))[0].to_version == "16.4"  # pg minor


def test_version_update_since_is_the_upgrade_pending_condition() -> None:
    cond = {"type": names.CONDITION_UPGRADE_PENDING, "status": "True", "lastTransitionTime": SINCE, "reason": "x"}
    (update,) = database_maintenance(mdb("ns", "db", version="16.6", conditions=[cond]))
    assert update.since == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_refused_version_change() -> None:
    (major,) = database_maintenance(mdb("ns", "db", version="17.2", current="16.4"))
    assert major.reason == "version update 16.4 -> 17.2"
    assert major.refused is not None and major.refused.reason is Refusal.MAJOR_VERSION_CHANGE
    (down,) = database_maintenance(mdb("ns", "db", engine="redis", version="7.2.5", current="7.2.6"))
    assert down.refused is not None and down.refused.reason is Refusal.DOWNGRADE


def test_announced_maintenance_follows_the_workload_rules() -> None:
    (found,) = database_maintenance(mdb("ns", "db", reason="database-security", since=SINCE))
    assert (found.reason, found.since, found.from_version) == (
        "database-security",
        datetime(2026, 11, 20, 8, tzinfo=UTC),
        None,
    )
    (unstamped,) = database_maintenance(mdb("ns", "db", reason="security"))
    assert (unstamped.reason, unstamped.since) == ("security", None)
    assert database_maintenance(mdb("ns", "db", reason="security", since=SINCE, completed="2026-11-21T00:00:00Z")) == []
    # Completed before this announcement: the new one is still pending.
    assert database_maintenance(mdb("ns", "db", reason="security", since=SINCE, completed="2026-11-01T00:00:00Z"))
    assert database_maintenance(mdb("ns", "db", reason="  ")) == []  # blank: not announced


def test_both_version_update_first() -> None:
    found = database_maintenance(mdb("ns", "db", version="16.6", reason="database-security", since=SINCE))
    assert [m.reason for m in found] == ["version update 16.4 -> 16.6", "database-security"]


# -- the verb --


def test_one_namespace_rows_windows_and_downtime() -> None:
    items, listing, ignored = dbs.collect(cluster(), "team-a", NOW)
    got = rows(items)
    assert list(got) == ["team-a/cache/security", "team-a/orders/version update 16.4 -> 16.6"]
    orders, cache = got["team-a/orders/version update 16.4 -> 16.6"], got["team-a/cache/security"]
    assert (orders["kind"], orders["engine"], orders["fromVersion"], orders["toVersion"]) == (
        "ManagedDatabase",
        "postgresql",
        "16.4",
        "16.6",
    )
    assert orders["window"] == "weekly"
    assert orders["occurrence"] == {"id": "20261201T1400Z", "start": WEEKLY_START, "end": "2026-12-01T15:00:00Z"}
    assert orders["downtimeExpected"] is True
    assert (orders["applyImmediately"], orders["refused"], orders["note"], orders["since"]) == (False, None, None, None)
    assert (cache["engine"], cache["since"], cache["fromVersion"]) == ("redis", SINCE, None)
    assert (cache["window"], cache["note"], cache["occurrence"]) == (None, NO_WINDOW, None)
    assert listing.unreadable == []
    assert ignored == []


def test_all_namespaces() -> None:
    items, _, _ = dbs.collect(cluster(), None, NOW)
    assert [(i["namespace"], i["name"]) for i in items] == [
        ("team-a", "cache"),
        ("team-a", "orders"),
        ("team-b", "shop"),
    ]
    shop = items[2]
    assert (shop["reason"], shop["window"]) == ("version update 8.0.40 -> 8.0.41", "nightly")
    assert shop["occurrence"]["start"] == "2026-11-30T22:00:00Z"


def test_apply_immediately_and_refused() -> None:
    api = FakeApi()
    api.add(
        MANAGED_DATABASES, mdb("team-a", "now", version="16.6", apply_immediately=True, reason="security", since=SINCE)
    )
    api.add(MANAGED_DATABASES, mdb("team-a", "major", version="17.2", labels=DATA))
    api.add(MAINTENANCE_WINDOWS, window("team-a", "all"))
    items, _, _ = dbs.collect(api, "team-a", NOW)
    got = rows(items)
    major = got["team-a/major/version update 16.4 -> 17.2"]
    assert major["refused"]["reason"] == "MajorVersionChange"
    assert "pg_upgrade" in major["refused"]["message"]
    assert (major["window"], major["occurrence"], major["note"]) == (None, None, None)
    assert got["team-a/now/version update 16.4 -> 16.6"]["applyImmediately"] is True
    assert got["team-a/now/security"]["applyImmediately"] is False  # announced maintenance still waits for a window
    assert got["team-a/now/security"]["window"] == "all"

    lines = dbs.render_table(items, all_namespaces=False).splitlines()
    major_line = next(line for line in lines if line.startswith("mdb/major "))
    assert "refused (MajorVersionChange): see kubectl describe mdb/major" in major_line
    now_lines = [line for line in lines if line.startswith("mdb/now ")]
    assert "version update 16.4 -> 16.6" in now_lines[0] and "downtime expected, applies immediately" in now_lines[0]
    assert "security" in now_lines[1] and now_lines[1].rstrip().endswith("downtime expected")


def test_table_columns() -> None:
    items, _, _ = dbs.collect(cluster(), "team-a", NOW)
    lines = dbs.render_table(items, all_namespaces=False).splitlines()
    assert lines[0].split() == [
        "NAME", "ENGINE", "REASON", "SINCE", "WINDOW", "WINDOW", "START", "(UTC)", "BACKUP", "NOTES"
    ]  # fmt: skip
    assert lines[1].startswith("mdb/cache ") and NO_WINDOW in lines[1] and SINCE in lines[1]
    orders = lines[2]
    assert orders.startswith("mdb/orders ") and "postgresql" in orders and "version update 16.4 -> 16.6" in orders
    assert "weekly" in orders and WEEKLY_START in orders and orders.rstrip().endswith("downtime expected")
    assert "ClusterBackupWindow/platform-default" in orders


def test_window_open_now() -> None:
    api = cluster()
    api.objects[MAINTENANCE_WINDOWS] = [window("team-a", "hourly", schedule="40 * * * *", duration="30m")]
    items, _, _ = dbs.collect(api, "team-a", NOW)
    assert "open now, until 2026-11-30T10:10:00Z" in dbs.render_table(items, all_namespaces=False)


def test_table_all_namespaces_has_namespace_column() -> None:
    items, _, _ = dbs.collect(cluster(), None, NOW)
    lines = dbs.render_table(items, all_namespaces=True).splitlines()
    assert lines[0].startswith("NAMESPACE")
    assert next(line for line in lines if "mdb/shop" in line).startswith("team-b")


def test_suspended_and_invalid_windows() -> None:
    api = cluster()
    api.objects[MAINTENANCE_WINDOWS] = [
        window("team-a", "paused", suspend=True),
        window("team-a", "broken", duration="1m"),
    ]
    items, _, ignored = dbs.collect(api, "team-a", NOW)
    # The suspended window keeps its targets: they wait for it instead of moving to another window.
    assert {(i["window"], i["note"]) for i in items} == {
        ("paused", "window paused is suspended: nothing starts until it is resumed")
    }
    assert [(w["name"], "5m" in w["problem"]) for w in ignored] == [("broken", True)]


def test_all_namespaces_refused_cluster_wide_reads_each_namespace() -> None:
    api = cluster()
    api.forbidden |= {("manageddatabases", None), ("maintenancewindows", None)}
    api.forbidden |= {("manageddatabases", "team-b"), ("maintenancewindows", "team-b")}
    items, listing, _ = dbs.collect(api, None, NOW)
    assert {i["namespace"] for i in items} == {"team-a"}
    assert [u.wire() for u in listing.unreadable] == [
        {
            "namespace": "team-b",
            "resources": ["manageddatabases.maintenance.ops.dev", "maintenancewindows.maintenance.ops.dev"],
            "reason": "forbidden",
        }
    ]


def test_all_namespaces_without_namespace_list_reads_the_context_namespace() -> None:
    api = cluster()
    api.forbidden |= {("manageddatabases", None), ("maintenancewindows", None), ("namespaces", None)}
    items, listing, _ = dbs.collect(api, None, NOW)
    assert {i["namespace"] for i in items} == {"team-a"}
    assert [u.namespace for u in listing.unreadable] == [None]
    assert "only namespace team-a was read" in str(listing.unreadable[0])


def test_named_namespace_refused_fails() -> None:
    api = cluster()
    api.forbidden.add(("manageddatabases", "team-a"))
    with pytest.raises(
        KubeError, match=r'forbidden: you may not list manageddatabases.maintenance.ops.dev in namespace "team-a"'
    ):
        dbs.collect(api, "team-a", NOW)


def test_windows_unreadable_still_lists_databases() -> None:
    api = cluster()
    api.forbidden.add(("maintenancewindows", "team-a"))
    items, listing, _ = dbs.collect(api, "team-a", NOW)
    assert {i["note"] for i in items} == {WINDOWS_UNREADABLE}
    assert [u.namespace for u in listing.unreadable] == ["team-a"]


def test_main_json_and_warnings(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = cluster()
    api.forbidden |= {("manageddatabases", None), ("manageddatabases", "team-b")}
    monkeypatch.setattr(common, "connect", lambda args: api)
    assert main(["dbs", "-A", "-o", "json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert sorted(data) == ["ignoredAnnouncements", "ignoredWindows", "items", "unreadable"]
    assert [i["name"] for i in data["items"]] == ["cache", "orders"]
    resource = "manageddatabases.maintenance.ops.dev"
    assert data["unreadable"] == [{"namespace": "team-b", "resources": [resource], "reason": "forbidden"}]
    assert f"warning: could not read {resource} in namespace team-b: forbidden" in err


def test_main_table_in_the_context_namespace(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(common, "connect", lambda args: cluster())
    assert main(["dbs"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("NAME ") and "mdb/orders" in out and "mdb/shop" not in out
    assert err == ""


def test_main_api_error_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = cluster()
    api.forbidden.add(("manageddatabases", "team-a"))
    monkeypatch.setattr(common, "connect", lambda args: api)
    assert main(["dbs"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == 'error: forbidden: you may not list manageddatabases.maintenance.ops.dev in namespace "team-a"\n'


def test_main_empty(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "connect", lambda args: FakeApi())
    assert main(["dbs", "-n", "team-z"]) == 0
    assert capsys.readouterr().err == "No ManagedDatabases need maintenance in namespace team-z.\n"


# -- backups: who backs each database up, by the operator's rule --


def backups_cluster() -> FakeApi:
    """team-a: its own BackupWindow for `tier: data`; the cluster windows: `platform-default` for every
    namespace, and `a-prod` (first by name) for env=prod namespaces only."""
    api = FakeApi()
    api.add(MANAGED_DATABASES, mdb("team-a", "orders", labels=DATA))
    api.add(MANAGED_DATABASES, mdb("team-a", "cache", engine="redis", version="7.2.6", current="7.2.6"))
    api.add(MANAGED_DATABASES, mdb("team-a", "optout", labels={names.LABEL_WINDOW: names.WINDOW_NONE}))
    api.add(MANAGED_DATABASES, mdb("team-b", "shop", version="16.6"))
    api.add(BACKUP_WINDOWS, backup_window("team-a", "daily", {"matchLabels": DATA}))
    api.add(CLUSTER_BACKUP_WINDOWS, cluster_backup_window("platform-default"))
    api.add(CLUSTER_BACKUP_WINDOWS, cluster_backup_window("a-prod", {"matchLabels": {"env": "prod"}}))
    api.add(NAMESPACES, namespace("team-a", {"env": "prod"}))
    api.add(NAMESPACES, namespace("team-b", {"env": "dev"}))
    return api


def backups(items: list[dict[str, Any]]) -> dict[str, tuple[str | None, list[str], bool | None]]:
    return {
        f"{i['namespace']}/{i['name']}": (i["reason"], i["backup"]["windows"], i["backup"]["configured"]) for i in items
    }


def test_each_database_shows_its_backup_window_and_one_without_is_listed_with_nothing_pending() -> None:
    items, _, _ = dbs.collect(backups_cluster(), None, NOW)
    assert backups(items) == {
        "team-a/optout": (None, [], False),  # nothing pending: listed for having no backup window
        "team-b/shop": ("version update 16.4 -> 16.6", ["ClusterBackupWindow/platform-default"], True),
    }, "orders (BackupWindow/daily) and cache (ClusterBackupWindow/a-prod) have nothing pending"
    optout = items[0]
    assert "maintenance.ops.dev/window=none" in optout["backup"]["note"]
    line = next(line for line in dbs.render_table(items, all_namespaces=True).splitlines() if "mdb/optout" in line)
    assert line.split()[:4] == ["team-a", "mdb/optout", "postgresql", "-"] and "none: not backed up" in line

    api = backups_cluster()
    for obj in api.objects[MANAGED_DATABASES]:
        obj["metadata"]["annotations"][names.ANNOTATION_REQUIRED] = "database-security"
    items, _, _ = dbs.collect(api, None, NOW)
    got = {k: v[1] for k, v in backups(items).items()}
    assert got == {
        "team-a/cache": ["ClusterBackupWindow/a-prod"],  # the first by name of those covering team-a
        "team-a/optout": [],
        "team-a/orders": ["BackupWindow/daily"],
        "team-b/shop": ["ClusterBackupWindow/platform-default"],  # a-prod does not cover env=dev
    }


def test_what_may_not_be_read_makes_the_backup_unknown_only_where_it_matters() -> None:
    api = backups_cluster()
    api.forbidden.add(("namespaces", "*"))  # no namespace's labels: a-prod's namespaceSelector cannot be told
    items, _, _ = dbs.collect(api, "team-a", NOW)
    assert backups(items) == {"team-a/optout": (None, [], False)}, "window=none decides without them"
    api.objects[MANAGED_DATABASES][1]["metadata"]["annotations"][names.ANNOTATION_REQUIRED] = "security"  # cache
    (cache,) = [i for i in dbs.collect(api, "team-a", NOW)[0] if i["name"] == "cache"]
    assert cache["backup"] == {"windows": [], "configured": None, "note": backupwindows.LABELS_UNREADABLE}

    api = backups_cluster()
    api.objects[CLUSTER_BACKUP_WINDOWS] = [cluster_backup_window("platform-default")]
    api.forbidden.add(("namespaces", "*"))
    items, _, _ = dbs.collect(api, "team-a", NOW)
    assert backups(items) == {"team-a/optout": (None, [], False)}, "a `{}` namespaceSelector needs no labels"
    assert ("get", "namespaces", "") not in api.calls

    api = backups_cluster()
    api.forbidden.add(("clusterbackupwindows", None))
    for obj in api.objects[MANAGED_DATABASES]:
        obj["metadata"]["annotations"][names.ANNOTATION_REQUIRED] = "database-security"
    items, _, _ = dbs.collect(api, "team-a", NOW)
    assert {k: (v[1], v[2]) for k, v in backups(items).items()} == {
        "team-a/cache": ([], None),
        "team-a/optout": ([], False),
        "team-a/orders": (["BackupWindow/daily"], True),  # its own BackupWindow decides without the cluster's
    }
    assert items[0]["backup"]["note"] == backupwindows.CLUSTER_UNREADABLE
    assert dbs.render_table(items, all_namespaces=False).splitlines()[1].split()[-3] == "unknown"

    api.forbidden.add(("backupwindows", "team-a"))
    items, listing, _ = dbs.collect(api, "team-a", NOW)
    assert {i["backup"]["note"] for i in items} == {backupwindows.WINDOWS_UNREADABLE}
    assert [u.wire() for u in listing.unreadable] == [
        {"namespace": "team-a", "resources": ["backupwindows.maintenance.ops.dev"], "reason": "forbidden"}
    ]


def test_an_invalid_backup_window_backs_up_nothing() -> None:
    api = backups_cluster()
    api.objects[BACKUP_WINDOWS] = [
        backup_window("team-a", "daily", {"matchLabels": DATA}) | {"spec": {"schedule": "x"}}
    ]
    api.objects[MANAGED_DATABASES][0]["metadata"]["annotations"][names.ANNOTATION_REQUIRED] = "security"
    (orders,) = [i for i in dbs.collect(api, "team-a", NOW)[0] if i["name"] == "orders"]
    assert orders["backup"]["windows"] == ["ClusterBackupWindow/a-prod"]


def test_help_names_the_backup_windows(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["dbs", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "ClusterBackupWindow" in text and "listed even with nothing pending" in text


def test_a_cluster_maintenance_window_handles_what_no_window_of_the_namespace_selects() -> None:
    api = cluster()
    cmw = {
        "metadata": {"name": "platform-default"},
        "spec": {"schedule": "0 14 * * 2", "namespaceSelector": {}, "selector": {}},
    }
    api.add(CLUSTER_MAINTENANCE_WINDOWS, cmw)
    got = rows(dbs.collect(api, "team-a", NOW)[0])
    assert got["team-a/cache/security"]["window"] == "ClusterMaintenanceWindow/platform-default"
    assert got["team-a/orders/version update 16.4 -> 16.6"]["window"] == "weekly", "its namespace's window wins"


def test_an_announcement_covering_a_database_is_a_row_until_its_statefulset_is_restarted() -> None:
    """Judged as the operator judges it: on the database's StatefulSet, matched with the database's labels."""
    api = cluster()
    targets = {"kinds": ["ManagedDatabase"], "selector": {"matchLabels": DATA}}
    api.add(MAINTENANCES, announcement("db-cve", "database-security", description="a fix", targets=targets))
    sts = statefulset("quiet", namespace="team-a", labels={names.LABEL_DATABASE: "quiet"})
    api.add(STATEFULSETS, sts)
    items, _, _ = dbs.collect(api, "team-a", NOW)
    [row] = [i for i in items if i["name"] == "quiet"]
    assert (row["reason"], row["announcements"]) == ("database-security", [{"name": "db-cve", "description": "a fix"}])
    assert "announced by db-cve" in dbs.render_table([row], False)

    restarted = {**sts["spec"]["template"]["metadata"].get("annotations", {})}
    restarted[names.ANNOTATION_RESTARTED_AT] = "2026-11-26T00:00:00Z"  # after its requiredSince
    sts["spec"]["template"]["metadata"]["annotations"] = restarted
    items, _, _ = dbs.collect(api, "team-a", NOW)
    assert [i["name"] for i in items if i["name"] == "quiet"] == [], "done: no row any more"
