"""`kubectl maintenance apps` against a fake API: which rows, which window, what the caller could not read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from maintenance_operator.api import names, rest
from maintenance_operator.api.rest import DEPLOYMENTS, MAINTENANCE_WINDOWS, STATEFULSETS
from maintenance_operator.cli import apps, common, targets
from maintenance_operator.cli.kubeapi import KubeError
from maintenance_operator.cli.main import main
from tests.unit.cli.fakes import FakeApi, deployment, window

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
    assert sorted(data) == ["ignoredWindows", "items", "unreadable"]
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
