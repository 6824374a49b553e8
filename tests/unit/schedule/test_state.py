"""window_state: whether work may start, why, and the exact instant to wake up next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maintenance_operator.schedule import Exclusion, WindowSchedule, window_state
from tests.unit.schedule.helpers import utc

TUESDAYS = "0 14 * * 2"  # 2026-12-01 and 2026-12-08 are Tuesdays
FREEZE = Exclusion(utc("2026-12-08T00:00"), utc("2026-12-09T00:00"), "freeze")
LATE = Exclusion(utc("2026-12-08T14:30"), utc("2026-12-08T16:00"), "incident")


@pytest.mark.parametrize(
    ("exclusions", "suspend", "now", "open_id", "reason", "next_change"),
    [
        ((), False, "2026-12-01T13:00", None, "outside-window", "2026-12-01T14:00"),
        ((), False, "2026-12-01T14:00", "20261201T1400Z", "open", "2026-12-01T15:00"),
        ((), False, "2026-12-01T14:59:59", "20261201T1400Z", "open", "2026-12-01T15:00"),
        ((), False, "2026-12-01T15:00", None, "outside-window", "2026-12-08T14:00"),
        # suspended: the window is still reported, but no work may start
        ((), True, "2026-12-01T14:30", "20261201T1400Z", "suspended", "2026-12-01T15:00"),
        ((), True, "2026-12-01T16:00", None, "suspended", "2026-12-08T14:00"),
        # the start is excluded: the window never opens; the reason says why nothing happens in the usual slot
        ((FREEZE,), False, "2026-12-07T12:00", None, "outside-window", "2026-12-08T00:00"),
        ((FREEZE,), False, "2026-12-08T10:00", None, "outside-window", "2026-12-08T14:00"),
        ((FREEZE,), False, "2026-12-08T14:30", None, "excluded", "2026-12-08T15:00"),
        ((FREEZE,), False, "2026-12-08T15:30", None, "outside-window", "2026-12-09T00:00"),
        # an exclusion starting inside an open window: still open, but no new work
        ((LATE,), False, "2026-12-08T14:10", "20261208T1400Z", "open", "2026-12-08T14:30"),
        ((LATE,), False, "2026-12-08T14:30", "20261208T1400Z", "excluded", "2026-12-08T15:00"),
        ((LATE,), False, "2026-12-08T15:10", None, "outside-window", "2026-12-08T16:00"),
        ((LATE,), True, "2026-12-08T14:40", "20261208T1400Z", "suspended", "2026-12-08T15:00"),
    ],
)
def test_window_state(
    exclusions: tuple[Exclusion, ...], suspend: bool, now: str, open_id: str | None, reason: str, next_change: str
) -> None:
    ws = WindowSchedule(TUESDAYS, timedelta(hours=1), ZoneInfo("UTC"), exclusions, suspend)
    state = window_state(ws, utc(now))
    assert (state.open.id if state.open else None, state.reason, state.next_change) == (
        open_id,
        reason,
        utc(next_change),
    )
    assert state.can_start_work == (reason == "open")
    assert state.next_change.tzinfo is UTC


def test_next_change_on_dst_night_is_the_shifted_start() -> None:
    ws = WindowSchedule("30 2 * * *", timedelta(hours=1), ZoneInfo("Europe/Berlin"))
    state = window_state(ws, utc("2026-03-29T00:00"))
    assert state.next_change == utc("2026-03-29T01:00")  # 03:00 CEST


def test_no_future_start_still_gives_a_wake_up_time() -> None:
    ws = WindowSchedule("0 0 30 2 *", timedelta(hours=1), ZoneInfo("UTC"))
    now = utc("2026-01-01T00:00")
    assert window_state(ws, now).next_change > now


@settings(max_examples=60, deadline=None)
@given(
    schedule=st.sampled_from(["0 14 * * 2", "*/30 * * * *", "30 2 * * *", "0 1,3 * * *", "15 2 * * 0"]),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "Australia/Lord_Howe", "America/New_York"]),
    start=st.datetimes(datetime(2026, 3, 1), datetime(2026, 11, 30)),
    steps=st.lists(st.integers(1, 10 * 24 * 60), min_size=3, max_size=3),
    exclusion=st.tuples(st.integers(0, 20 * 24 * 60), st.integers(1, 3 * 24 * 60)),
    suspend=st.booleans(),
)
def test_state_is_constant_until_next_change(
    schedule: str,
    zone: str,
    start: datetime,
    steps: list[int],
    exclusion: tuple[int, int],
    suspend: bool,
) -> None:
    """Sleeping until next_change misses nothing: sampled instants before it have the same state."""
    now = start.replace(tzinfo=UTC)
    excluded_from = now + timedelta(minutes=exclusion[0])
    ws = WindowSchedule(
        schedule,
        timedelta(minutes=20),
        ZoneInfo(zone),
        (Exclusion(excluded_from, excluded_from + timedelta(minutes=exclusion[1])),),
        suspend,
    )
    state = window_state(ws, now)
    assert state.next_change > now
    span = state.next_change - now
    for step in steps:
        probe = now + span * (step / (10 * 24 * 60 + 1))
        later = window_state(ws, probe)
        assert (later.open, later.reason) == (state.open, state.reason)
