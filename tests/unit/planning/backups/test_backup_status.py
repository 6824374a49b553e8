"""How a BackupWindow occurrence reads: Running while work may finish, then what it achieved."""

from datetime import UTC, datetime

import pytest

from maintenance_operator.planning.backups.snapshots import BackupStep, DataVolume, SnapshotRequest, VolumeWait
from maintenance_operator.planning.backups.status import backup_status, missed_summary, run_result, run_summary

NOW = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)
REQUEST = SnapshotRequest("orders-data-orders-0-x", "orders", "data-orders-0", {})


def step(**fields: object) -> BackupStep:
    s = BackupStep()
    for key, value in fields.items():
        setattr(s, key, value)
    return s


@pytest.mark.parametrize(
    ("fields", "closed", "expected"),
    [
        ({"ready": ["a"]}, False, "Succeeded"),
        ({"ready": ["a"], "in_progress": ["b"]}, False, "Running"),
        ({"create": [REQUEST]}, False, "Running"),
        ({"failed": ["a"], "retry": ["a"]}, False, "Running"),
        ({"ready": ["a"], "failed": ["b"]}, True, "PartiallyFailed"),
        ({"ready": ["a"], "in_progress": ["b"]}, True, "PartiallyFailed"),
        ({"failed": ["a"]}, True, "Failed"),
        ({"in_progress": ["a"]}, True, "Missed"),
        ({"waiting": {DataVolume("orders", "data-orders-0"): VolumeWait.CLOSED}}, True, "Missed"),
        ({}, True, "Succeeded"),  # no database selected: nothing to back up
        ({}, False, "Succeeded"),
    ],
)
def test_run_result(fields: dict[str, object], closed: bool, expected: str) -> None:
    assert run_result(step(**fields), closed=closed) == expected


def test_a_closed_run_counts_everything_not_ready_as_failed() -> None:
    summary = run_summary("20261125T1300Z", step(ready=["a"], in_progress=["b"], failed=["c"]), closed=True, now=NOW)
    assert summary == {
        "occurrence": "20261125T1300Z",
        "result": "PartiallyFailed",
        "snapshots": 1,
        "failed": 2,
        "finished": "2026-11-25T13:30:00Z",
    }
    assert "finished" not in run_summary("x", step(in_progress=["b"]), closed=False, now=NOW)


def test_missed_occurrences_accumulate_once_and_raise_the_condition() -> None:
    previous = {"missedOccurrences": ["20261123T1300Z"], "conditions": []}
    run = {"occurrence": "20261125T1300Z", "result": "Missed", "snapshots": 0, "failed": 1}
    out = backup_status(
        previous=previous,
        generation=1,
        upcoming=[],
        current=None,
        last_run=run,
        handled_through=NOW,
        missed=["20261123T1300Z", "20261124T1300Z"],
        problem=None,
        now=NOW,
    )
    assert out["missedOccurrences"] == ["20261123T1300Z", "20261124T1300Z"]
    assert out["lastResult"] == "Missed 20261125T1300Z"
    assert out["handledThrough"] == "2026-11-25T13:30:00Z"
    missed = next(c for c in out["conditions"] if c["type"] == "BackupMissed")
    assert (missed["status"], missed["reason"]) == ("True", "Missed")


def test_an_occurrence_missed_while_down_becomes_the_last_run_and_raises_the_condition() -> None:
    previous = {
        "lastRun": {"occurrence": "20261124T1300Z", "result": "Succeeded", "snapshots": 2, "failed": 0},
        "conditions": [],
    }
    out = backup_status(
        previous=previous,
        generation=1,
        upcoming=[],
        current=None,
        last_run=missed_summary("20261125T1300Z", 2, NOW),
        handled_through=NOW,
        missed=["20261125T1300Z"],
        problem=None,
        now=NOW,
    )
    assert out["lastRun"] == {
        "occurrence": "20261125T1300Z",
        "result": "Missed",
        "snapshots": 0,
        "failed": 2,
        "finished": "2026-11-25T13:30:00Z",
    }
    missed = next(c for c in out["conditions"] if c["type"] == "BackupMissed")
    assert (missed["status"], missed["reason"]) == ("True", "Missed")
    assert "20261125T1300Z" in missed["message"]


def test_an_invalid_spec_replaces_the_schedule() -> None:
    out = backup_status(
        previous={},
        generation=4,
        upcoming=[],
        current=None,
        last_run=None,
        handled_through=None,
        missed=[],
        problem="spec.schedule: bad",
        now=NOW,
    )
    assert out["open"] is False
    assert [(c["type"], c["status"], c["message"]) for c in out["conditions"]] == [
        ("Ready", "False", "spec.schedule: bad")
    ]
    assert out["handledThrough"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "no occurrence is due while invalid"
