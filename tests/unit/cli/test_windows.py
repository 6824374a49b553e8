"""`kubectl maintenance windows`: next occurrence from the spec, open now, pending count, invalid windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from maintenance_operator.api import names
from maintenance_operator.api.rest import BACKUP_WINDOWS, MAINTENANCE_WINDOWS
from maintenance_operator.cli import common, windows
from maintenance_operator.cli.main import main
from tests.unit.cli.fakes import FakeApi, window

NOW = datetime(2026, 11, 30, 13, 30, tzinfo=UTC)  # Monday, inside the default backup window 13:00-14:00 UTC
STALE = {"nextWindow": "2020-01-01T00:00:00Z", "pendingCount": 3}


def cluster() -> FakeApi:
    api = FakeApi()
    api.add(MAINTENANCE_WINDOWS, window("team-a", "weekly", status=STALE))
    api.add(MAINTENANCE_WINDOWS, window("team-a", "berlin", schedule="0 3 * * *", timeZone="Europe/Berlin"))
    api.add(MAINTENANCE_WINDOWS, window("team-b", "frozen", suspend=True))
    api.add(BACKUP_WINDOWS, window("team-a", "daily", kind=names.BACKUP_WINDOW, schedule="0 13 * * *"))
    api.add(MAINTENANCE_WINDOWS, window("team-a", "broken", schedule="0 0 14 * * 2"))
    return api


def by_name(items: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(i["name"]): i for i in items}


def test_describe_every_window() -> None:
    items, listing = windows.collect(cluster(), None, NOW)
    got = by_name(items)
    assert [i["name"] for i in items] == ["daily", "berlin", "broken", "weekly", "frozen"]  # namespace, kind, name
    weekly = got["weekly"]
    assert weekly["nextOccurrence"] == {
        "id": "20261201T1400Z",
        "start": "2026-12-01T14:00:00Z",
        "end": "2026-12-01T15:00:00Z",
    }
    assert weekly["pendingCount"] == 3  # from status; the stale nextWindow is not used
    assert weekly["state"] == "outside-window" and weekly["open"] is False
    assert got["berlin"]["nextOccurrence"]["start"] == "2026-12-01T02:00:00Z"  # type: ignore[index]
    assert got["berlin"]["timeZone"] == "Europe/Berlin"
    daily = got["daily"]
    assert daily["kind"] == "BackupWindow" and daily["open"] is True and daily["state"] == "open"
    assert daily["openOccurrence"]["end"] == "2026-11-30T14:00:00Z"  # type: ignore[index]
    assert daily["pendingCount"] is None
    assert got["frozen"]["state"] == "suspended"
    assert got["broken"]["state"] == "invalid" and "6 fields" in str(got["broken"]["problem"])
    assert listing.unreadable == []


def test_table() -> None:
    items, _ = windows.collect(cluster(), None, NOW)
    lines = windows.render_table(items, all_namespaces=True).splitlines()
    assert lines[0].split() == [
        "NAMESPACE",
        "KIND",
        "NAME",
        "SCHEDULE",
        "DURATION",
        "ZONE",
        "NEXT",
        "(UTC)",
        "OPEN",
        "PENDING",
    ]
    assert "yes, until 2026-11-30T14:00:00Z" in lines[1] and lines[1].rstrip().endswith("-")
    assert "invalid" in lines[3]
    assert "no (suspended)" in lines[5]
    single = windows.render_table(items[:1], all_namespaces=False).splitlines()
    assert single[0].startswith("KIND")


def test_main_yaml(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "connect", lambda args: cluster())
    assert main(["windows", "-n", "team-b", "-o", "json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert [i["name"] for i in data["items"]] == ["frozen"]
    assert data["unreadable"] == []
    assert err == ""


def test_main_warns_about_invalid(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "connect", lambda args: cluster())
    assert main(["windows"]) == 0
    out, err = capsys.readouterr()
    assert "weekly" in out
    assert "warning: MaintenanceWindow team-a/broken is invalid: schedule" in err


def test_backup_windows_refused_in_a_named_namespace_is_a_warning() -> None:
    api = cluster()
    api.forbidden.add(("backupwindows", "team-a"))
    items, listing = windows.collect(api, "team-a", NOW)
    assert {i["kind"] for i in items} == {"MaintenanceWindow"}
    assert [u.namespace for u in listing.unreadable] == ["team-a"]
