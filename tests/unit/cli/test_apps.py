"""`kubectl maintenance apps` against a fake API: which rows, which window, what the caller could not read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.api import names, rest
from maintenance_operator.api.rest import DEPLOYMENTS, MAINTENANCE_WINDOWS, STATEFULSETS
from maintenance_operator.cli import apps, common, targets
from maintenance_operator.cli.kubeapi import KubeError
from maintenance_operator.cli.main import main
from tests.unit.cli.fakes import FakeApi, announcement, deployment, namespace, window

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday
SINCE = "2026-11-20T08:00:00Z"
WEB = {"tier": "web"}


def cluster() -> FakeApi:
    api = FakeApi()
    api.add(DEPLOYMENTS, deployment("team-a", "web", labels=WEB, reason="security", since=SINCE))
    api.add(DEPLOYMENTS, deployment("team-a", "api", reason="hardware", since=SINCE, replicas=1))
    api.add(DEPLOYMENTS, deployment("team-a", "quiet", labels=WEB))  # nothing announced
    api.add(STATEFULSETS, {**deployment("team-b", "db", labels=WEB, reason="feature", since=SINCE), "status": {}})
    api.add(MAINTENANCE_WINDOWS, window("team-a", "weekly", selector={"matchLabels": WEB}))
    api.add(MAINTENANCE_WINDOWS, window("team-b", "nightly", schedule="0 22 * * *"))
    return api


def rows(items: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {f"{i['namespace']}/{str(i['kind']).lower()}/{i['name']}": i for i in items}


def test_one_namespace_rows_windows_and_downtime() -> None:
    items, listing, ignored = apps.collect(cluster(), "team-a", NOW)
    got = rows(items)
    assert list(got) == ["team-a/deployment/api", "team-a/deployment/web"]
    web, api = got["team-a/deployment/web"], got["team-a/deployment/api"]
    assert web["reason"] == "security"
    assert web["since"] == SINCE
    assert web["window"] == "weekly"
    assert web["occurrence"] == {"id": "20261201T1400Z", "start": "2026-12-01T14:00:00Z", "end": "2026-12-01T15:00:00Z"}
    assert web["downtimeExpected"] is False
    assert web["note"] is None
    assert api["window"] is None
    assert api["note"] == targets.NO_WINDOW
    assert api["downtimeExpected"] is True
    assert listing.unreadable == []
    assert ignored == []


def test_all_namespaces() -> None:
    items, _, _ = apps.collect(cluster(), None, NOW)
    db = rows(items)["team-b/statefulset/db"]
    assert db["window"] == "nightly"
    assert db["occurrence"]["start"] == "2026-11-30T22:00:00Z"  # type: ignore[index]


def test_done_and_unstamped_announcements() -> None:
    api = FakeApi()
    done = deployment("team-a", "done", reason="security", since=SINCE)
    done["metadata"]["annotations"][names.ANNOTATION_COMPLETED_AT] = "2026-11-21T00:00:00Z"
    api.add(DEPLOYMENTS, done)
    api.add(DEPLOYMENTS, deployment("team-a", "new", reason="security"))
    items, _, _ = apps.collect(api, "team-a", NOW)
    assert [(i["name"], i["since"]) for i in items] == [("new", None)]


def test_window_open_now_and_table() -> None:
    api = cluster()
    api.objects[MAINTENANCE_WINDOWS] = [window("team-a", "hourly", schedule="40 * * * *", duration="30m")]
    items, _, _ = apps.collect(api, "team-a", NOW)
    text = apps.render_table(items, all_namespaces=False)
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "REASON", "SINCE", "WINDOW", "WINDOW", "START", "(UTC)", "NOTES"]
    assert "deployment/api" in lines[1] and "open now, until 2026-11-30T10:10:00Z" in lines[1]
    assert "downtime expected" in lines[1]
    assert "deployment/web" in lines[2] and lines[2].rstrip().endswith("-")


def test_table_all_namespaces_has_namespace_column_and_no_window_text() -> None:
    items, _, _ = apps.collect(cluster(), None, NOW)
    lines = apps.render_table(items, all_namespaces=True).splitlines()
    assert lines[0].startswith("NAMESPACE")
    api_line = next(line for line in lines if "deployment/api" in line)
    assert api_line.startswith("team-a") and targets.NO_WINDOW in api_line


def test_suspended_and_invalid_windows() -> None:
    api = cluster()
    api.objects[MAINTENANCE_WINDOWS] = [
        window("team-a", "paused", suspend=True),
        window("team-a", "broken", duration="1m"),
    ]
    items, _, ignored = apps.collect(api, "team-a", NOW)
    # The suspended window keeps its targets: they wait for it instead of moving to another window.
    assert {(i["window"], i["note"]) for i in items} == {
        ("paused", "window paused is suspended: nothing starts until it is resumed")
    }
    assert [(w["name"], "5m" in w["problem"]) for w in ignored] == [("broken", True)]


def test_all_namespaces_refused_cluster_wide_reads_each_namespace() -> None:
    api = cluster()
    api.forbidden |= {("deployments", None), ("statefulsets", None), ("maintenancewindows", None)}
    api.forbidden |= {("deployments", "team-b"), ("statefulsets", "team-b"), ("maintenancewindows", "team-b")}
    items, listing, _ = apps.collect(api, None, NOW)
    assert {i["namespace"] for i in items} == {"team-a"}
    assert [u.wire() for u in listing.unreadable] == [
        {
            "namespace": "team-b",
            "resources": ["deployments.apps", "statefulsets.apps", "maintenancewindows.maintenance.ops.dev"],
            "reason": "forbidden",
        }
    ]


def test_all_namespaces_without_namespace_list_reads_the_context_namespace() -> None:
    api = cluster()
    api.forbidden |= {("deployments", None), ("statefulsets", None), ("maintenancewindows", None)}
    api.forbidden.add(("namespaces", None))
    items, listing, _ = apps.collect(api, None, NOW)
    assert {i["namespace"] for i in items} == {"team-a"}
    assert rows(items)["team-a/deployment/web"]["window"] == "weekly"
    assert [u.namespace for u in listing.unreadable] == [None]
    assert "only namespace team-a was read" in str(listing.unreadable[0])


def test_named_namespace_refused_fails() -> None:
    api = cluster()
    api.forbidden.add(("deployments", "team-a"))
    with pytest.raises(KubeError, match=r'forbidden: you may not list deployments.apps in namespace "team-a"'):
        apps.collect(api, "team-a", NOW)


def test_windows_unreadable_still_lists_targets() -> None:
    api = cluster()
    api.forbidden.add(("maintenancewindows", "team-a"))
    items, listing, _ = apps.collect(api, "team-a", NOW)
    assert {i["note"] for i in items} == {targets.WINDOWS_UNREADABLE}
    assert [u.namespace for u in listing.unreadable] == ["team-a"]


def test_main_json_and_warnings(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = cluster()
    api.forbidden |= {("deployments", None), ("deployments", "team-b")}
    monkeypatch.setattr(common, "connect", lambda args: api)
    assert main(["apps", "-A", "-o", "json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert sorted(data) == ["ignoredAnnouncements", "ignoredWindows", "items", "unreadable"]
    assert data["unreadable"] == [{"namespace": "team-b", "resources": ["deployments.apps"], "reason": "forbidden"}]
    assert "warning: could not read deployments.apps in namespace team-b: forbidden" in err


def test_main_api_error_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = cluster()
    api.forbidden.add(("deployments", "team-a"))
    monkeypatch.setattr(common, "connect", lambda args: api)
    assert main(["apps"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == 'error: forbidden: you may not list deployments.apps in namespace "team-a"\n'


def test_main_empty(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "connect", lambda args: FakeApi())
    assert main(["apps", "-n", "team-z"]) == 0
    assert capsys.readouterr().err == "No Deployments or StatefulSets need maintenance in namespace team-z.\n"


def test_kubeapi_paths() -> None:
    assert rest.DEPLOYMENTS.path("ns", "web") == "/apis/apps/v1/namespaces/ns/deployments/web"
    assert rest.MAINTENANCE_WINDOWS.path(None) == "/apis/maintenance.ops.dev/v1alpha1/maintenancewindows"


# Announcements (Maintenance objects): applied by the plugin as the operator applies them.

ANNOUNCED_SINCE = "2026-11-25T00:00:00Z"


def announcement_names(row: Mapping[str, Any]) -> list[str]:
    return [a["name"] for a in row["announcements"]]


def announced_cluster() -> FakeApi:
    api = cluster()
    api.add(DEPLOYMENTS, deployment("team-b", "front", labels=WEB))
    api.add(rest.NAMESPACES, namespace("team-a", {"env": "prod"}))
    api.add(rest.NAMESPACES, namespace("team-b", {"env": "dev"}))
    prod_web = {"namespaceSelector": {"matchLabels": {"env": "prod"}}, "selector": {"matchLabels": WEB}}
    api.add(rest.MAINTENANCES, announcement("openssl", description="Base image\nopenssl fix", targets=prod_web))
    return api


def test_announcement_makes_covered_workloads_pending() -> None:
    items, listing, _ = apps.collect(announced_cluster(), None, NOW)
    got = rows(items)
    quiet = got["team-a/deployment/quiet"]  # nothing annotated: pending by the announcement alone
    assert (quiet["reason"], quiet["since"], quiet["window"]) == ("security", ANNOUNCED_SINCE, "weekly")
    assert quiet["announcements"] == [{"name": "openssl", "description": "Base image\nopenssl fix"}]
    web = got["team-a/deployment/web"]  # annotated security too: one reason, the latest since
    assert (web["reason"], web["since"]) == ("security", ANNOUNCED_SINCE)
    assert got["team-a/deployment/api"]["announcements"] == []  # not tier=web
    assert "team-b/deployment/front" not in got  # env=dev
    assert listing.extra == {"ignoredAnnouncements": []}
    assert listing.notes == []


def test_announcement_column_in_table() -> None:
    items, _, _ = apps.collect(announced_cluster(), "team-a", NOW)
    lines = apps.render_table(items, all_namespaces=False).splitlines()
    assert lines[0].split()[-1] == "ANNOUNCEMENT"
    quiet = next(line for line in lines if line.startswith("deployment/quiet"))
    assert quiet.endswith("openssl: Base image openssl fix")
    api_line = next(line for line in lines if line.startswith("deployment/api"))
    assert api_line.endswith(" -")
    # Without any announcement the table keeps its columns.
    items, _, _ = apps.collect(cluster(), "team-a", NOW)
    assert "ANNOUNCEMENT" not in apps.render_table(items, all_namespaces=False)


def test_announcement_cell_shortens_and_counts() -> None:
    long = {"name": "a", "description": "x" * 100}
    cell = apps.announcement_cell({"announcements": [long, {"name": "b", "description": ""}]})
    assert cell == f"a: {'x' * 57}... (+1 more)"
    assert apps.announcement_cell({"announcements": [{"name": "b", "description": ""}]}) == "b"


def test_several_announcements_join_reasons_oldest_first() -> None:
    api = announced_cluster()
    api.add(rest.MAINTENANCES, announcement("kernel", "hardware", since="2026-11-26T00:00:00Z"))
    items, _, _ = apps.collect(api, "team-a", NOW)
    quiet = rows(items)["team-a/deployment/quiet"]
    assert (quiet["reason"], quiet["since"]) == ("security; hardware", "2026-11-26T00:00:00Z")
    assert announcement_names(quiet) == ["openssl", "kernel"]


def test_done_after_the_announcement_is_not_listed() -> None:
    api = announced_cluster()
    quiet = next(o for o in api.objects[DEPLOYMENTS] if o["metadata"]["name"] == "quiet")
    quiet["spec"]["template"] = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-26T00:00:00Z"}}
    }
    items, _, _ = apps.collect(api, "team-a", NOW)
    assert "team-a/deployment/quiet" not in rows(items)


def test_namespace_labels_unreadable_matches_only_every_namespace_announcements() -> None:
    api = announced_cluster()
    api.add(rest.MAINTENANCES, announcement("everywhere", "feature", targets={"kinds": ["Deployment"]}))
    api.forbidden.add(("namespaces", ""))
    items, _, _ = apps.collect(api, "team-a", NOW)
    assert announcement_names(rows(items)["team-a/deployment/quiet"]) == ["everywhere"]


def test_announcements_unreadable_warns_and_shows_annotations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = announced_cluster()
    api.forbidden.add(("maintenances", None))
    items, listing, _ = apps.collect(api, "team-a", NOW)
    assert sorted(rows(items)) == ["team-a/deployment/api", "team-a/deployment/web"]
    assert listing.notes == [targets.ANNOUNCEMENTS_UNREADABLE]
    monkeypatch.setattr(common, "connect", lambda args: api)
    assert main(["apps"]) == 0
    assert f"warning: {targets.ANNOUNCEMENTS_UNREADABLE}" in capsys.readouterr().err


def test_invalid_announcement_is_ignored_and_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = announced_cluster()
    bad = {"selector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": []}]}}
    api.add(rest.MAINTENANCES, announcement("broken", targets=bad))
    monkeypatch.setattr(common, "connect", lambda args: api)
    assert main(["apps", "-o", "json"]) == 0
    out, err = capsys.readouterr()
    [ignored] = json.loads(out)["ignoredAnnouncements"]
    assert ignored["name"] == "broken" and "needs at least one value" in ignored["problem"]
    assert "warning: Maintenance broken is ignored: spec.targets.selector" in err
    quiet = next(i for i in json.loads(out)["items"] if i["name"] == "quiet")
    assert quiet["announcements"] == [{"name": "openssl", "description": "Base image\nopenssl fix"}]


def test_database_statefulset_is_matched_as_its_managed_database() -> None:
    api = FakeApi()
    sts = {**deployment("team-a", "orders", labels={names.LABEL_DATABASE: "orders"}), "status": {}}
    api.add(STATEFULSETS, sts)
    api.add(STATEFULSETS, {**deployment("team-a", "cache", labels={"tier": "db"}), "status": {}})
    api.add(rest.MANAGED_DATABASES, {"metadata": {"namespace": "team-a", "name": "orders", "labels": {"tier": "db"}}})
    targets_ = {"kinds": ["ManagedDatabase"], "selector": {"matchLabels": {"tier": "db"}}}
    api.add(rest.MAINTENANCES, announcement("pg-cve", "database-security", targets=targets_))
    items, _, _ = apps.collect(api, "team-a", NOW)
    assert [(i["name"], i["reason"]) for i in items] == [("orders", "database-security")]


def test_no_announcement_reads_no_databases() -> None:
    api = cluster()
    apps.collect(api, "team-a", NOW)
    assert ("list", "maintenances", None) in api.calls
    assert not any(plural == "manageddatabases" for _, plural, _ in api.calls)
    assert not any(plural == "namespaces" for _, plural, _ in api.calls)
