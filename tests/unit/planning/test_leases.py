"""Leader election rules: who may take a Lease, and for how long a leader may act on its last renewal."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.planning.leases import (
    LeaseRecord,
    Timing,
    acquired,
    lease_spec,
    may_acquire,
    may_act,
    record_from,
    released,
    renewed,
)

NOW = datetime(2026, 12, 1, 14, 0, 0, 123456, tzinfo=UTC)
TIMING = Timing()
HELD = LeaseRecord("other", 15.0, NOW, NOW, 2)


@pytest.mark.parametrize(
    ("record", "unchanged_since", "now", "expected"),
    [
        pytest.param(None, 0.0, 0.0, True, id="no-lease-yet"),
        pytest.param(released(HELD, NOW), 100.0, 100.0, True, id="released"),
        pytest.param(LeaseRecord("me", 15.0, NOW, NOW, 0), 100.0, 100.0, True, id="ours"),
        pytest.param(HELD, 100.0, 114.9, False, id="held-and-fresh"),
        pytest.param(HELD, 100.0, 115.0, True, id="unchanged-for-its-duration"),
    ],
)
def test_may_acquire(record: LeaseRecord | None, unchanged_since: float, now: float, expected: bool) -> None:
    assert may_acquire(record, "me", unchanged_since, now) is expected


def test_taking_over_counts_a_transition_and_renewing_ours_does_not() -> None:
    taken = acquired(HELD, "me", TIMING, NOW)
    assert (taken.holder, taken.transitions, taken.acquired) == ("me", 3, NOW)
    later = NOW + timedelta(seconds=2)
    again = acquired(taken, "me", TIMING, later)
    assert (again.transitions, again.acquired, again.renewed) == (3, NOW, later)
    assert renewed(again, later + timedelta(seconds=2)).renewed == later + timedelta(seconds=2)
    assert acquired(None, "me", TIMING, NOW).transitions == 0


def test_wire_round_trip_keeps_microseconds() -> None:
    spec = lease_spec(HELD)
    assert spec["renewTime"] == "2026-12-01T14:00:00.123456Z"
    assert spec["leaseDurationSeconds"] == 15
    back = record_from({"spec": spec})
    assert back.holder == "other" and back.transitions == 2 and back.duration == 15.0
    assert lease_spec(released(HELD, NOW))["holderIdentity"] is None


def test_record_from_tolerates_junk() -> None:
    record = record_from({"spec": {"leaseDurationSeconds": "15", "leaseTransitions": None}})
    assert record == LeaseRecord("", 0.0, None, None, 0)


@given(last=st.floats(0, 1e6), elapsed=st.floats(0, 100))
def test_a_leader_stops_acting_before_anyone_may_take_over(last: float, elapsed: float) -> None:
    """Acting at `last + elapsed` implies no candidate that saw the renewal at `last` may acquire yet."""
    if may_act(last, last + elapsed, TIMING):
        assert not may_acquire(acquired(HELD, "leader", TIMING, NOW), "me", last, last + elapsed)


@pytest.mark.parametrize(
    ("timing", "problem"),
    [
        (Timing(), None),
        (Timing(10, 10, 2), "the lease duration must be longer than the renew deadline"),
        (Timing(15, 2, 2), "the renew deadline must be longer than 1.2 times the retry period"),
    ],
)
def test_timing_constraints(timing: Timing, problem: str | None) -> None:
    assert timing.problem() == problem


def test_never_acted_means_may_not_act() -> None:
    assert not may_act(None, 0.0, TIMING)
