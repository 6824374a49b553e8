"""A MaintenanceWindow's status: what it will do in `pending`, what another window handles in `handledElsewhere`."""

from datetime import timedelta
from typing import Any

from maintenance_operator.api.windows import MaintenanceWindowStatus
from maintenance_operator.planning.windows import restarts
from maintenance_operator.planning.windows.status import MAX_LISTED, maintenance_status
from maintenance_operator.schedule import WindowReason
from tests.unit.planning.factories import ANNOUNCED, WINDOW_START, workload

NOW = WINDOW_START - timedelta(hours=1)


def test_targets_handled_elsewhere_are_listed_apart_with_their_window() -> None:
    mine = workload("api", required="security", required_since=ANNOUNCED)
    theirs = workload("web", required="hardware", required_since=ANNOUNCED)
    step = restarts.plan([mine], None, WindowReason.OUTSIDE_WINDOW, restarts.Policy(), NOW)
    out = maintenance_status(
        previous={},
        generation=1,
        upcoming=[],
        current=None,
        step=step,
        problem=None,
        now=NOW,
        last_run=None,
        elsewhere=[(theirs, "nightly")],
    )
    assert (out["pendingCount"], [p["name"] for p in out["pending"]]) == (1, ["api"])
    assert out["handledElsewhereCount"] == 1
    assert out["handledElsewhere"] == [{"kind": "Deployment", "name": "web", "reason": "hardware", "window": "nightly"}]
    MaintenanceWindowStatus.model_validate(out)  # what the CRD schema accepts


def test_an_invalid_window_lists_nothing_elsewhere() -> None:
    out = maintenance_status(
        previous={"handledElsewhere": [{"kind": "Deployment", "name": "web", "reason": "x", "window": "nightly"}]},
        generation=2,
        upcoming=[],
        current=None,
        step=None,
        problem="duration: must be at least 5m",
        now=NOW,
        last_run=None,
    )
    assert out["handledElsewhereCount"] == 0 and "handledElsewhere" not in out


def status_after(previous: dict[str, Any], last_run: dict[str, Any], **missed: Any) -> dict[str, Any]:
    return maintenance_status(
        previous=previous,
        generation=1,
        upcoming=[],
        current=None,
        step=restarts.Step(),
        problem=None,
        now=NOW,
        last_run=last_run,
        **missed,
    )


def test_missed_occurrences_are_listed_once_and_raise_the_missed_condition_until_the_next_run() -> None:
    """Issue 13: the status an alert and `kubectl get mw -o yaml` read for occurrences the operator was down for."""
    missed_run = {"occurrence": "20261201T1400Z", "started": "2026-12-01T14:00:00Z", "result": "Missed", "skipped": 1}
    out = status_after(
        {"missedOccurrences": ["20261130T1400Z"]},
        missed_run,
        handled_through=WINDOW_START,
        missed=["20261130T1400Z", "20261201T1400Z"],
    )
    assert out["missedOccurrences"] == ["20261130T1400Z", "20261201T1400Z"]
    assert out["handledThrough"] == "2026-12-01T14:00:00Z"
    missed = next(c for c in out["conditions"] if c["type"] == "MaintenanceMissed")
    assert (missed["status"], missed["reason"]) == ("True", "Missed") and "20261201T1400Z" in missed["message"]
    MaintenanceWindowStatus.model_validate(out)
    ran = status_after(out, {"occurrence": "20261202T1400Z", "result": "Succeeded"})
    again = next(c for c in ran["conditions"] if c["type"] == "MaintenanceMissed")
    assert again["status"] == "False" and ran["missedOccurrences"] == out["missedOccurrences"]
    assert ran["handledThrough"] == out["handledThrough"], "kept while nothing new is decided"


def test_an_invalid_spec_keeps_the_misses_and_expects_nothing_while_it_lasts() -> None:
    """Without a schedule no occurrence is due: `handledThrough` moves to now, so fixing the spec later does not
    report the occurrences of the invalid time (or of everything since the window's creation) as missed."""
    before = {"handledThrough": "2026-11-24T14:00:00Z", "missedOccurrences": ["20261124T1400Z"]}
    out = maintenance_status(
        previous=before,
        generation=2,
        upcoming=[],
        current=None,
        step=None,
        problem="timeZone: unknown",
        now=NOW,
        last_run=None,
    )
    assert (out["handledThrough"], out["missedOccurrences"]) == ("2026-12-01T13:00:00Z", ["20261124T1400Z"])
    MaintenanceWindowStatus.model_validate(out)


def test_ready_false_keeps_its_transition_time_while_the_problem_lasts() -> None:
    """Idle windows cost no writes: a webhook problem that lasts must not rewrite Ready=False on every pass."""

    def status(previous: dict[str, Any], now: Any) -> dict[str, Any]:
        return maintenance_status(
            previous=previous,
            generation=1,
            upcoming=[],
            current=None,
            step=restarts.Step(),
            problem=None,
            now=now,
            last_run=None,
            notice_problem="noticeWebhook.url: host example.com is not allowed",
        )

    first = status({}, NOW)
    again = status(first, NOW + timedelta(minutes=5))
    assert again == first
    ready = next(c for c in again["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "NoticeWebhookRefused")


def test_a_long_pending_list_is_counted_whole_and_listed_up_to_the_limit() -> None:
    mine = [workload(f"app-{i:04d}", required="security", required_since=ANNOUNCED) for i in range(MAX_LISTED + 7)]
    theirs = [(workload(f"web-{i:04d}", required="hardware", required_since=ANNOUNCED), "nightly") for i in range(3)]
    step = restarts.plan(mine, None, WindowReason.OUTSIDE_WINDOW, restarts.Policy(), NOW)
    out = maintenance_status(
        previous={},
        generation=1,
        upcoming=[],
        current=None,
        step=step,
        problem=None,
        now=NOW,
        last_run=None,
        elsewhere=list(reversed(theirs)),
    )
    assert out["pendingCount"] == MAX_LISTED + 7
    assert [p["name"] for p in out["pending"]] == [w.name for w in mine[:MAX_LISTED]]
    assert out["handledElsewhereCount"] == 3
    assert [e["name"] for e in out["handledElsewhere"]] == ["web-0000", "web-0001", "web-0002"]
