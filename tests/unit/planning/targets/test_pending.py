"""Pending maintenance: announced, then done by a window's restart or by the user (self-service), never twice."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.planning.targets.pending import (
    Pending,
    completion_to_record,
    is_done,
    may_be_self_served,
    needs_since_stamp,
    pending,
    self_served,
)
from maintenance_operator.planning.targets.workloads import Rollout, Workload
from tests.unit.planning.factories import ANNOUNCED, WINDOW, WINDOW_START, pending_workload, workload

SINCE = ANNOUNCED
BEFORE = SINCE - timedelta(hours=1)
AFTER = SINCE + timedelta(hours=1)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("w", "expected"),
    [
        pytest.param(workload(), None, id="nothing-announced"),
        pytest.param(workload(required_since=SINCE), None, id="since-without-reason"),
        pytest.param(
            workload(required="security"), None, id="announced-not-yet-stamped"
        ),  # the operator stamps it first
        pytest.param(pending_workload(reason="security"), Pending("security", SINCE), id="announced"),
        pytest.param(
            pending_workload(reason="replace the disk controller"),
            Pending("replace the disk controller", SINCE),
            id="free-text-reason",
        ),
        # Done by a recorded completion at or after the announcement.
        pytest.param(pending_workload(completed_at=BEFORE), Pending("security", SINCE), id="completed-before"),
        pytest.param(
            pending_workload(completed_at=SINCE - SECOND), Pending("security", SINCE), id="completed-just-before"
        ),
        pytest.param(pending_workload(completed_at=SINCE), None, id="completed-at-since"),
        pytest.param(pending_workload(completed_at=AFTER), None, id="completed-after"),
        # Done by any restart after the announcement, once fully rolled out.
        pytest.param(pending_workload(restarted_at=BEFORE), Pending("security", SINCE), id="restarted-before"),
        pytest.param(pending_workload(restarted_at=SINCE), None, id="restarted-at-since"),
        pytest.param(pending_workload(restarted_at=AFTER), None, id="restarted-after"),
        pytest.param(
            pending_workload(restarted_at=AFTER, rollout=Rollout.PROGRESSING),
            Pending("security", SINCE),
            id="restarted-still-rolling-out",
        ),
        pytest.param(
            pending_workload(restarted_at=AFTER, rollout=Rollout.FAILED),
            Pending("security", SINCE),
            id="restart-rollout-failed",
        ),
        pytest.param(pending_workload(restarted_at=AFTER, restarted_by=WINDOW), None, id="restarted-by-window-after"),
    ],
)
def test_pending(w: Workload, expected: Pending | None) -> None:
    assert pending(w) == expected
    assert is_done(w) is (w.required is not None and w.required_since is not None and expected is None)


@pytest.mark.parametrize(
    ("w", "expected"),
    [
        (workload(), False),
        (workload(required="security"), True),
        (pending_workload(), False),
        (workload(required_since=SINCE), False),
    ],
)
def test_needs_since_stamp_only_when_announced_without_a_time(w: Workload, expected: bool) -> None:
    assert needs_since_stamp(w) is expected


def test_re_announcing_later_makes_done_maintenance_pending_again() -> None:
    done = pending_workload(reason="security", completed_at=AFTER, restarted_at=AFTER)
    assert pending(done) is None
    later = AFTER + timedelta(days=7)
    again = replace(done, required="hardware", required_since=later)
    assert pending(again) == Pending("hardware", later)
    assert completion_to_record(again) is None


@pytest.mark.parametrize(
    ("w", "expected"),
    [
        pytest.param(workload(), None, id="nothing-announced"),
        pytest.param(pending_workload(), None, id="pending"),
        pytest.param(pending_workload(restarted_at=AFTER, restarted_by=WINDOW), WINDOW, id="window-restart"),
        pytest.param(pending_workload(restarted_at=AFTER), "self-service", id="user-restart"),
        pytest.param(pending_workload(restarted_at=SINCE), "self-service", id="user-restart-at-since"),
        pytest.param(pending_workload(restarted_at=BEFORE), None, id="restart-before-announcement"),
        pytest.param(
            pending_workload(restarted_at=AFTER, rollout=Rollout.PROGRESSING), None, id="restart-still-rolling-out"
        ),
        pytest.param(pending_workload(restarted_at=AFTER, rollout=Rollout.FAILED), None, id="restart-failed"),
        # Already recorded: nothing more to record (and no second Event).
        pytest.param(pending_workload(restarted_at=AFTER, completed_at=AFTER), None, id="recorded"),
        pytest.param(
            pending_workload(restarted_at=AFTER, restarted_by=WINDOW, completed_at=SINCE), None, id="recorded-at-since"
        ),
        # A completion recorded for an earlier announcement does not cover this one.
        pytest.param(
            pending_workload(restarted_at=AFTER, completed_at=BEFORE), "self-service", id="recorded-for-earlier"
        ),
        pytest.param(workload(required="security", restarted_at=AFTER), None, id="not-yet-stamped"),
        # The window did it; the user restarted again later: not self-service (issue 13, defect 2).
        pytest.param(
            pending_workload(restarted_at=AFTER + SECOND, window_restarted_at=AFTER), None, id="user-after-window"
        ),
        # A window restart for an earlier announcement does not cover this one.
        pytest.param(
            pending_workload(restarted_at=AFTER, window_restarted_at=BEFORE), "self-service", id="window-for-earlier"
        ),
    ],
)
def test_completion_to_record(w: Workload, expected: str | None) -> None:
    assert completion_to_record(w) == expected


@pytest.mark.parametrize(
    ("w", "expected"),
    [
        (pending_workload(), True),
        (pending_workload(rollout=Rollout.PROGRESSING), False),
        (pending_workload(rollout=Rollout.FAILED), False),
        (pending_workload(paused=True), False),
        (workload(), False),
        (pending_workload(completed_at=AFTER), False),
    ],
)
def test_pods_are_worth_a_look_only_for_settled_pending_workloads(w: Workload, expected: bool) -> None:
    assert may_be_self_served(w) is expected


@pytest.mark.parametrize(
    ("w", "revision_created", "expected"),
    [
        pytest.param(pending_workload(), AFTER, True, id="redeployed-after"),
        pytest.param(pending_workload(), SINCE + SECOND, True, id="one-second-after"),
        pytest.param(pending_workload(), SINCE, False, id="announcement-second-maybe-older"),
        pytest.param(pending_workload(), BEFORE, False, id="old-revision-or-rollback"),
        pytest.param(pending_workload(), None, False, id="revision-not-seen-yet"),
        pytest.param(pending_workload(replicas=0), AFTER, False, id="no-pods-proves-nothing"),
        pytest.param(pending_workload(rollout=Rollout.PROGRESSING), AFTER, False, id="still-rolling-out"),
        pytest.param(pending_workload(paused=True), AFTER, False, id="paused"),
        pytest.param(pending_workload(restarted_by="MaintenanceWindow/weekly"), AFTER, False, id="a-window-did-it"),
        pytest.param(workload(), AFTER, False, id="nothing-pending"),
        pytest.param(pending_workload(completed_at=AFTER), AFTER, False, id="already-recorded"),
        pytest.param(pending_workload(window_restarted_at=AFTER), AFTER, False, id="a-window-restarted-it-before"),
    ],
)
def test_self_served_when_the_running_revision_is_newer_than_the_announcement(
    w: Workload, revision_created: datetime | None, expected: bool
) -> None:
    assert self_served(w, revision_created) is expected


# ---------------------------------------------------------------------------------------------------------------
# Properties over every combination of stamps around the announcement.

moments = st.one_of(st.none(), st.integers(-3, 3).map(lambda h: SINCE + timedelta(hours=h)))
workloads = st.builds(
    pending_workload,
    reason=st.sampled_from(["security", "hardware"]),
    completed_at=moments,
    restarted_at=moments,
    restarted_by=st.sampled_from([None, WINDOW]),
    rollout=st.sampled_from(list(Rollout)),
    paused=st.booleans(),
)


@given(workloads)
def test_something_to_record_means_done(w: Workload) -> None:
    if completion_to_record(w) is not None:
        assert pending(w) is None
        assert w.restarted_at is not None and w.required_since is not None and w.restarted_at >= w.required_since
        assert w.rollout is Rollout.COMPLETE


@given(workloads, st.integers(0, 3).map(lambda h: WINDOW_START + timedelta(hours=h)))
def test_recording_the_completion_settles_it(w: Workload, now: datetime) -> None:
    if completion_to_record(w) is None:
        return
    recorded = replace(w, completed_at=now)
    assert completion_to_record(recorded) is None
    assert pending(recorded) is None


@given(workloads)
def test_announcing_after_every_stamp_is_pending(w: Workload) -> None:
    later = SINCE + timedelta(days=1)
    again = replace(w, required_since=later)
    assert pending(again) == Pending(w.required or "", later)
    assert completion_to_record(again) is None


@given(workloads, st.integers(1, 48))
def test_an_earlier_announcement_is_no_less_done(w: Workload, hours: int) -> None:
    earlier = replace(w, required_since=SINCE - timedelta(hours=hours))
    if pending(w) is None:
        assert pending(earlier) is None


@given(workloads)
def test_pending_only_with_reason_and_time(w: Workload) -> None:
    result = pending(w)
    if result is not None:
        assert (result.reason, result.since) == (w.required, w.required_since)
    assert pending(replace(w, required=None)) is None
    assert pending(replace(w, required_since=None)) is None
