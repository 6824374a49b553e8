"""The open occurrence (scheduled or run-now) and whether work may start in it: tables over the schedule, the
recorded status and the trigger."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from maintenance_operator import schedule as sched
from maintenance_operator.planning.windows.occurrence import OpenOccurrence, blocked_by, current, recorded
from maintenance_operator.schedule import WindowReason

# Tuesdays 14:00-15:00 UTC; 2026-12-01 is a Tuesday.
WEEKLY = sched.WindowSchedule.parse("0 14 * * 2", "1h")
IN_WINDOW = datetime(2026, 12, 1, 14, 10, tzinfo=UTC)
OUTSIDE = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
SCHEDULED_ID = "20261201T1400Z"


def ad_hoc_status(trigger: str, start: datetime, minutes: int = 60) -> dict[str, Any]:
    ref = OpenOccurrence(
        sched.Occurrence(start, start + timedelta(minutes=minutes), sched.run_now_id(start)), True, trigger
    )
    return {"currentOccurrence": ref.ref().written()}


@pytest.mark.parametrize(
    ("status", "trigger", "now", "open_id", "opens"),
    [
        pytest.param({}, None, IN_WINDOW, SCHEDULED_ID, False, id="scheduled-open"),
        pytest.param({}, None, OUTSIDE, None, False, id="closed"),
        pytest.param({}, "t1", OUTSIDE, sched.run_now_id(OUTSIDE), True, id="trigger-opens-ad-hoc"),
        pytest.param(
            ad_hoc_status("t1", OUTSIDE),
            "t1",
            OUTSIDE + timedelta(minutes=5),
            sched.run_now_id(OUTSIDE),
            False,
            id="recorded-trigger-not-rerun",
        ),
        pytest.param(
            ad_hoc_status("t1", OUTSIDE),
            None,
            OUTSIDE + timedelta(minutes=59),
            sched.run_now_id(OUTSIDE),
            False,
            id="ad-hoc-open-until-its-end",
        ),
        pytest.param(ad_hoc_status("t1", OUTSIDE), None, OUTSIDE + timedelta(hours=1), None, False, id="ad-hoc-over"),
        pytest.param(
            ad_hoc_status("t1", OUTSIDE),
            "t2",
            OUTSIDE + timedelta(hours=2),
            sched.run_now_id(OUTSIDE + timedelta(hours=2)),
            True,
            id="a-new-trigger-opens-again",
        ),
        pytest.param(
            ad_hoc_status("t1", IN_WINDOW - timedelta(minutes=50), 30),
            None,
            IN_WINDOW,
            SCHEDULED_ID,
            False,
            id="scheduled-after-an-ad-hoc-ended",
        ),
    ],
)
def test_the_open_occurrence(
    status: dict[str, Any], trigger: str | None, now: datetime, open_id: str | None, opens: bool
) -> None:
    open_now, opened = current(WEEKLY, status, trigger, now)
    assert (open_now.id if open_now else None, opened is not None) == (open_id, opens)
    if opened is not None:
        assert (opened.ad_hoc, opened.trigger, opened.end - opened.start) == (True, trigger, WEEKLY.duration)
        assert opened.start.microsecond == 0


def test_the_recorded_status_round_trips_and_a_scheduled_or_broken_one_is_ignored() -> None:
    ad_hoc = recorded(ad_hoc_status("t1", OUTSIDE))
    assert ad_hoc is not None and recorded({"currentOccurrence": ad_hoc.ref().written()}) == ad_hoc
    scheduled = OpenOccurrence(sched.Occurrence(IN_WINDOW, IN_WINDOW + timedelta(hours=1), SCHEDULED_ID))
    assert recorded({"currentOccurrence": scheduled.ref().written()}) is None
    assert recorded({"currentOccurrence": {"adHoc": True, "id": "x", "start": "not a time"}}) is None


EXCLUDED_NOW = replace(WEEKLY, exclusions=(sched.Exclusion(OUTSIDE, OUTSIDE + timedelta(hours=1)),))
AD_HOC = OpenOccurrence(sched.Occurrence(OUTSIDE, OUTSIDE + timedelta(hours=1), "adhoc"), True, "t")
SCHEDULED = OpenOccurrence(sched.Occurrence(IN_WINDOW, IN_WINDOW + timedelta(hours=1), SCHEDULED_ID))


@pytest.mark.parametrize(
    ("ws", "open_now", "now", "reason"),
    [
        pytest.param(WEEKLY, None, OUTSIDE, WindowReason.OUTSIDE_WINDOW, id="nothing-open"),
        pytest.param(WEEKLY, SCHEDULED, IN_WINDOW, None, id="scheduled-open"),
        pytest.param(replace(WEEKLY, suspend=True), SCHEDULED, IN_WINDOW, WindowReason.SUSPENDED, id="suspended"),
        pytest.param(WEEKLY, AD_HOC, OUTSIDE, None, id="run-now-ignores-the-schedule"),
        pytest.param(replace(WEEKLY, suspend=True), AD_HOC, OUTSIDE, WindowReason.SUSPENDED, id="run-now-suspended"),
        pytest.param(EXCLUDED_NOW, AD_HOC, OUTSIDE, WindowReason.EXCLUDED, id="run-now-in-an-exclusion"),
    ],
)
def test_whether_work_may_start(
    ws: sched.WindowSchedule, open_now: OpenOccurrence | None, now: datetime, reason: WindowReason | None
) -> None:
    assert blocked_by(ws, sched.window_state(ws, now), open_now, now) == reason
