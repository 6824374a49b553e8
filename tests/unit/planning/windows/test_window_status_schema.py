"""The MaintenanceWindow and BackupWindow statuses their builders write fit their CRDs' `status` schemas.

Representative passes (an open occurrence, run-now, missed, an invalid spec, forbidden, a backup's runs), each
checked by `crd_status.check`; the last test shows that the check refuses what the API server would prune or reject.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jsonschema
import pytest

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.planning.backups.snapshots import BackupStep, DataVolume, VolumeWait
from maintenance_operator.planning.backups.status import backup_status, missed_summary, run_summary
from maintenance_operator.planning.targets.workloads import Rollout
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows import restarts
from maintenance_operator.planning.windows.occurrence import OpenOccurrence
from maintenance_operator.planning.windows.status import maintenance_status, not_ready
from tests.unit.planning.crd_status import NOW, OPEN, Status, check
from tests.unit.planning.factories import ANNOUNCED, OCCURRENCE, pending_workload, workload

NEXT = [sched.Occurrence(OPEN.start + timedelta(days=7 * i), OPEN.end + timedelta(days=7 * i), f"o{i}") for i in (1, 2)]


# --- MaintenanceWindow -------------------------------------------------------------------------------------------


def window(**changes: Any) -> Status:
    args: dict[str, Any] = {
        "previous": {},
        "generation": 4,
        "upcoming": NEXT,
        "current": None,
        "step": restarts.Step(),
        "problem": None,
        "now": NOW,
        "last_run": None,
    }
    return maintenance_status(**(args | changes))


def _open_step() -> restarts.Step:
    api, web, db, batch = (pending_workload(n, since=ANNOUNCED) for n in ("api", "web", "db", "batch"))
    slow = workload("cache", kind="StatefulSet", rollout=Rollout.PROGRESSING)  # policy Always: no announcement
    return restarts.Step(
        start=[api],
        in_flight=[slow],
        failed=[web],
        waiting=[db, batch],
        wait_reasons={db.key: restarts.Wait.CONCURRENCY, batch.key: restarts.Wait.STOPPED_AFTER_FAILURE},
    )


def _running(current: OpenOccurrence) -> Status:
    """lastRun as the window runner writes it for the open occurrence."""
    return {
        "occurrence": current.id,
        "started": format_time(current.start),
        "restarted": 2,
        "failed": 1,
        "skipped": 1,
        "result": "Running",
    }


def _open() -> Status:
    current = OpenOccurrence(OPEN)
    elsewhere = [(pending_workload("shop"), "nightly")]
    return window(
        current=current, step=_open_step(), last_run=_running(current), elsewhere=elsewhere, handled_through=OPEN.start
    )


def _run_now() -> Status:
    ad_hoc = sched.Occurrence(NOW.replace(microsecond=0), NOW.replace(microsecond=0) + timedelta(hours=1), "adhoc")
    current = OpenOccurrence(ad_hoc, ad_hoc=True, trigger="2026-12-01T14:09:00Z")
    return window(current=current, step=_open_step(), last_run=_running(current))


def _missed() -> Status:
    missed_run = {
        "occurrence": OCCURRENCE,
        "started": format_time(OPEN.start),
        "restarted": 0,
        "failed": 0,
        "skipped": 3,
        "result": "Missed",
    }
    previous = {"missedOccurrences": [f"m{i}" for i in range(19)], "handledThrough": "2026-11-24T14:00:00Z"}
    return window(previous=previous, last_run=missed_run, handled_through=OPEN.start, missed=["m18", OCCURRENCE, "x"])


def _forbidden() -> Status:
    first = window(notice_problem="the webhook host is not allowed")
    return window(
        previous=first,
        notice_problem="the webhook host is not allowed",
        forbidden="cannot patch deployments.apps in shop",
        step=_open_step(),
    )


def _closed_after_run() -> Status:
    """The pass after the run: the previous status (as written) carries lastRun and the conditions on."""
    before = _open()
    done = {"occurrence": OCCURRENCE, "started": format_time(OPEN.start), "result": "Succeeded", "restarted": 5}
    return window(previous=before, last_run=done, step=None)


WINDOW_CASES: dict[str, Callable[[], Status]] = {
    "open occurrence": _open,
    "run-now": _run_now,
    "missed": _missed,
    "invalid spec": lambda: window(previous=_missed(), step=None, problem="spec.duration: must be at least 5m"),
    "forbidden": _forbidden,
    "closed after a run": _closed_after_run,
    "no occurrence ahead": lambda: window(upcoming=[], step=None),
    "403 stopped the pass": lambda: not_ready(_open(), "Forbidden", "cannot list pods in shop", NOW, 4),
}


@pytest.mark.parametrize("case", WINDOW_CASES, ids=str)
def test_maintenance_window_status_fits_the_crd(case: str) -> None:
    check(names.MAINTENANCE_WINDOW, WINDOW_CASES[case]())


def test_the_cases_write_what_they_are_about() -> None:
    """Guard the cases themselves: each shows the fields the schema check is meant to cover."""
    opened, adhoc, missed = _open(), _run_now(), _missed()
    assert {p["waiting"] for p in opened["pending"]} == {
        "starting",
        "in-progress",
        "rollout-failed",
        "waiting-for-concurrency",
        "stopped-after-failure",
    }
    assert opened["handledElsewhere"] and opened["lastRun"]["result"] == "Running" and opened["open"]
    assert adhoc["currentOccurrence"]["adHoc"] is True and "trigger" in adhoc["currentOccurrence"]
    assert len(missed["missedOccurrences"]) == 20 and missed["lastRun"]["result"] == "Missed"
    ready = _forbidden()["conditions"][0]
    assert (ready["type"], ready["reason"]) == ("Ready", "Forbidden")
    assert all(c["lastTransitionTime"].endswith(":00Z") for c in opened["conditions"])  # no microseconds


# --- BackupWindow -------------------------------------------------------------------------------------------------


def backups(**changes: Any) -> Status:
    args: dict[str, Any] = {
        "previous": {},
        "generation": 2,
        "upcoming": NEXT,
        "current": None,
        "last_run": None,
        "handled_through": None,
        "missed": [],
        "problem": None,
        "now": NOW,
    }
    return backup_status(**(args | changes))


def _backup_running() -> Status:
    step = BackupStep(ready=["a"], in_progress=["b"], waiting={DataVolume("c", "data-c-0"): VolumeWait.CLOSED})
    run = run_summary(OCCURRENCE, step, closed=False, now=NOW)
    return backups(current=OpenOccurrence(OPEN), last_run=run, handled_through=OPEN.start)


def _backup_closed() -> Status:
    run = run_summary(OCCURRENCE, BackupStep(ready=["a"], failed=["b"]), closed=True, now=NOW)
    return backups(previous=_backup_running(), last_run=run, handled_through=OPEN.start)


BACKUP_CASES: dict[str, Callable[[], Status]] = {
    "running, with lastRun": _backup_running,
    "closed, partially failed": _backup_closed,
    "missed": lambda: backups(last_run=missed_summary(OCCURRENCE, 3, NOW), missed=[OCCURRENCE], handled_through=NOW),
    "invalid spec": lambda: backups(previous=_backup_closed(), problem="spec.retention: must keep something"),
    "never ran": lambda: backups(upcoming=[]),
    "the next pass carries lastRun on": lambda: backups(previous=_backup_closed()),
}


@pytest.mark.parametrize("case", BACKUP_CASES, ids=str)
def test_backup_window_status_fits_the_crd(case: str) -> None:
    status = BACKUP_CASES[case]()
    check(names.BACKUP_WINDOW, status)
    if "lastRun" in status:
        assert status["lastResult"].startswith(status["lastRun"]["result"])


# --- the check can fail -------------------------------------------------------------------------------------------

WRONG: dict[str, tuple[str, Callable[[], Status], Callable[[Status], None]]] = {
    "an undeclared field": (names.MAINTENANCE_WINDOW, _open, lambda s: s.update(openSince="2026-12-01T14:00:00Z")),
    "an undeclared nested field": (names.BACKUP_WINDOW, _backup_running, lambda s: s["lastRun"].update(size=3)),
    "a wrong type": (names.MAINTENANCE_WINDOW, _open, lambda s: s.update(pendingCount="7")),
    "a repeated condition": (names.BACKUP_WINDOW, _backup_closed, lambda s: s["conditions"].append(s["conditions"][0])),
    "too many missed occurrences": (names.MAINTENANCE_WINDOW, _missed, lambda s: s["missedOccurrences"].append("y")),
}


@pytest.mark.parametrize("case", WRONG, ids=str)
def test_the_check_refuses_what_the_crd_would_prune_or_reject(case: str) -> None:
    kind, build, spoil = WRONG[case]
    status = build()
    check(kind, status)
    spoil(status)
    with pytest.raises(jsonschema.ValidationError):
        check(kind, status)
