"""`kubectl maintenance announcements [NAME]` against a fake API: the operator's counts, and what is left where."""

from __future__ import annotations

import json

import pytest

from maintenance_operator.api.rest import MAINTENANCES
from maintenance_operator.cli import announcements, common
from maintenance_operator.cli.main import main
from tests.unit.cli.fakes import FakeApi, announcement

COUNTED = {
    "total": 40,
    "doneByWindow": 20,
    "doneBySelfService": 5,
    "pending": 15,
    "failed": 1,
    "overdue": 15,
    "left": [
        {"namespace": "team-a", "count": 12, "targets": ["deployment/web", "statefulset/db"]},
        {"namespace": "team-b", "count": 3, "targets": ["deployment/api"]},
    ],
    "leftNamespaces": 4,
    "conditions": [
        {"type": "Ready", "status": "True", "reason": "Valid", "lastTransitionTime": "2026-11-25T00:00:00Z"},
        {"type": "Complete", "status": "False", "reason": "Pending", "lastTransitionTime": "2026-11-25T00:00:00Z"},
        {"type": "Overdue", "status": "True", "reason": "PastDeadline", "lastTransitionTime": "2026-12-01T00:00:00Z"},
    ],
}


def cluster() -> FakeApi:
    api = FakeApi()
    api.add(
        MAINTENANCES,
        announcement("openssl", description="Base image openssl fix", deadline="2026-12-01T00:00:00Z", status=COUNTED),
    )
    api.add(MAINTENANCES, announcement("hw", "hardware", since=None))  # not counted yet
    done = {"total": 0, "conditions": [{"type": "Complete", "status": "True", "reason": "Done"}]}
    api.add(MAINTENANCES, announcement("empty", "feature", status=done))
    broken = {"conditions": [{"type": "Ready", "status": "False", "reason": "Invalid", "message": "bad selector"}]}
    api.add(MAINTENANCES, announcement("broken", "feature", status=broken))
    return api


def test_list_rows_from_status() -> None:
    items = announcements.collect(cluster(), None)
    assert [i["name"] for i in items] == ["broken", "empty", "hw", "openssl"]
    by_name = {i["name"]: i for i in items}
    openssl = by_name["openssl"]
    assert {k: openssl[k] for k in announcements.COUNTS} == {k: COUNTED[k] for k in announcements.COUNTS}
    assert (openssl["complete"], openssl["overdueCondition"], openssl["ready"]) == (False, True, True)
    assert openssl["requiredSince"] == "2026-11-25T00:00:00Z"
    assert "left" not in openssl
    hw = by_name["hw"]
    assert hw["total"] is None and hw["complete"] is None
    assert hw["requiredSince"] == "2026-11-24T00:00:00Z"  # its creation
    assert (by_name["empty"]["total"], by_name["empty"]["complete"]) == (0, True)
    assert by_name["broken"]["problem"] == "bad selector"


def test_table() -> None:
    lines = announcements.render_table(announcements.collect(cluster(), None)).splitlines()
    assert lines[0].split() == [
        "NAME",
        "REASON",
        "TOTAL",
        "DONE",
        "(WINDOW/SELF)",
        "PENDING",
        "FAILED",
        "OVERDUE",
        "DEADLINE",
        "COMPLETE",
    ]
    assert lines[4].split() == ["openssl", "security", "40", "20/5", "15", "1", "15", "2026-12-01T00:00:00Z", "False"]
    assert lines[3].split() == ["hw", "hardware", "-", "-", "-", "-", "-", "-", "-"]


def test_one_with_what_is_left(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "connect", lambda a: cluster())
    assert main(["announcements", "openssl"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("openssl ")
    assert out[2] == "Description: Base image openssl fix"
    assert out[3] == "Left:"
    assert out[4].split() == ["NAMESPACE", "LEFT", "TARGETS"]
    assert out[5].split() == ["team-a", "12", "deployment/web,", "statefulset/db", "and", "10", "more"]
    assert out[6].split() == ["team-b", "3", "deployment/api", "and", "2", "more"]
    assert out[7] == "... and 2 more namespaces"
    assert main(["announcements", "openssl", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "openssl" and data["leftNamespaces"] == 4
    assert data["left"][1] == {"namespace": "team-b", "count": 3, "targets": ["deployment/api"]}


def test_one_not_counted_or_nothing_left(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "connect", lambda a: cluster())
    assert main(["announcements", "hw"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Not counted yet: is the operator running?"
    assert main(["announcements", "empty"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Nothing left."


def test_warnings_missing_and_empty(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "connect", lambda a: cluster())
    assert main(["announcements", "-o", "yaml"]) == 0
    assert capsys.readouterr().err == "warning: Maintenance broken is not ready: bad selector\n"
    assert main(["announcements", "nope"]) == 1
    assert capsys.readouterr().err == 'error: not found: Maintenance "nope"\n'
    monkeypatch.setattr(common, "connect", lambda a: FakeApi())
    assert main(["announcements"]) == 0
    assert "No Maintenance announcements" in capsys.readouterr().err


def test_forbidden_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = cluster()
    api.forbidden.add(("maintenances", None))
    monkeypatch.setattr(common, "connect", lambda a: api)
    assert main(["announcements"]) == 1
    assert capsys.readouterr().err == ("error: forbidden: you may not list maintenances.maintenance.ops.dev\n")
