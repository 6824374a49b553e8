"""Advance notices: from `noticeBefore` ahead of the start, once per target and occurrence, only for due targets."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.planning.notices import notice_due_from, notices_due
from maintenance_operator.planning.restarts import Policy, is_due
from maintenance_operator.planning.workloads import Workload
from tests.unit.planning.factories import (
    ANNOUNCED,
    OCCURRENCE,
    PREVIOUS_OCCURRENCE,
    WINDOW_START,
    pending_workload,
    workload,
)

NOTICE = timedelta(hours=72)
IF_PENDING = Policy()
ALWAYS = Policy(always=True)
OPENS_NOTICE = WINDOW_START - NOTICE


def due_names(targets: list[Workload], now: datetime, policy: Policy = IF_PENDING) -> list[str]:
    return [w.name for w in notices_due(targets, OCCURRENCE, WINDOW_START, NOTICE, policy, now)]


def test_notice_period_starts_notice_before_ahead_of_the_window() -> None:
    assert notice_due_from(WINDOW_START, NOTICE) == WINDOW_START - timedelta(days=3)
    assert notice_due_from(WINDOW_START, timedelta(0)) == WINDOW_START


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(OPENS_NOTICE - timedelta(days=30), [], id="a-month-ahead"),
        pytest.param(OPENS_NOTICE - timedelta(seconds=1), [], id="just-before-notice-period"),
        pytest.param(OPENS_NOTICE, ["web"], id="notice-period-opens"),
        pytest.param(OPENS_NOTICE + timedelta(days=1), ["web"], id="within-notice-period"),
        pytest.param(WINDOW_START, ["web"], id="window-start"),  # a late notice is better than none
    ],
)
def test_nothing_is_announced_before_the_notice_period(now: datetime, expected: list[str]) -> None:
    assert due_names([pending_workload("web")], now) == expected


@pytest.mark.parametrize(
    ("w", "expected"),
    [
        pytest.param(pending_workload("web"), ["web"], id="pending"),
        pytest.param(pending_workload("web", notice_sent=OCCURRENCE), [], id="already-told"),
        pytest.param(pending_workload("web", notice_sent=PREVIOUS_OCCURRENCE), ["web"], id="told-about-last-week"),
        pytest.param(workload("web"), [], id="nothing-pending"),
        pytest.param(workload("web", required="security"), [], id="announced-not-yet-stamped"),
        pytest.param(
            pending_workload("web", completed_at=WINDOW_START - timedelta(days=1)), [], id="self-served-already"
        ),
        pytest.param(pending_workload("web", paused=True), [], id="paused"),
    ],
)
def test_only_due_targets_not_yet_told(w: Workload, expected: list[str]) -> None:
    assert due_names([w], OPENS_NOTICE + timedelta(hours=1)) == expected


@pytest.mark.parametrize(
    ("w", "expected"),
    [
        pytest.param(workload("web"), ["web"], id="nothing-pending-still-restarted"),
        pytest.param(workload("web", notice_sent=OCCURRENCE), [], id="already-told"),
        pytest.param(workload("web", paused=True), [], id="paused"),
    ],
)
def test_policy_always_tells_every_target(w: Workload, expected: list[str]) -> None:
    assert due_names([w], OPENS_NOTICE + timedelta(hours=1), ALWAYS) == expected


def test_notices_keep_the_non_ha_flag_for_the_message() -> None:
    single = pending_workload("single", replicas=1)
    recreate = pending_workload("recreate", recreate=True)
    ha = pending_workload("ha")
    notices = notices_due([single, recreate, ha], OCCURRENCE, WINDOW_START, NOTICE, IF_PENDING, OPENS_NOTICE)
    assert {w.name: w.downtime_expected for w in notices} == {"single": True, "recreate": True, "ha": False}


targets = st.lists(
    st.builds(
        workload,
        st.sampled_from("abcdef"),
        required=st.sampled_from([None, "security"]),
        required_since=st.just(ANNOUNCED),
        notice_sent=st.sampled_from([None, OCCURRENCE, PREVIOUS_OCCURRENCE]),
        paused=st.booleans(),
        completed_at=st.sampled_from([None, WINDOW_START - timedelta(days=1)]),
    ),
    max_size=6,
    unique_by=lambda w: w.name,
)


@given(targets, st.booleans(), st.integers(-200, 100).map(lambda h: OPENS_NOTICE + timedelta(hours=h)))
def test_notices_due_properties(ws: list[Workload], always: bool, now: datetime) -> None:
    policy = Policy(always=always)
    told = notices_due(ws, OCCURRENCE, WINDOW_START, NOTICE, policy, now)
    if now < OPENS_NOTICE:
        assert told == []
        return
    assert {w.key for w in told} == {
        w.key for w in ws if is_due(w, policy) and not w.paused and w.notice_sent != OCCURRENCE
    }
    # Once recorded, the same occurrence is never announced again.
    recorded = [replace(w, notice_sent=OCCURRENCE) if w in told else w for w in ws]
    assert notices_due(recorded, OCCURRENCE, WINDOW_START, NOTICE, policy, now) == []
