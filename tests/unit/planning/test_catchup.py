"""Catch-up after downtime: at most one, the most recent occurrence, only while it is open, never a duplicate;
everything older is reported missed. Properties check the decision against a forward walk of the schedule."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from maintenance_operator.planning.catchup import CatchUp, catch_up
from maintenance_operator.schedule import (
    Occurrence,
    WindowSchedule,
    next_occurrences,
    open_occurrence,
    window_state,
)

DAILY = WindowSchedule.parse("0 13 * * *", "1h")
# The last occurrence handled before the operator went down: 4 December 2026.
SINCE = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def ids(occurrences: tuple[Occurrence, ...]) -> list[str]:
    return [o.id for o in occurrences]


def days(*numbers: int) -> list[str]:
    return [f"202612{n:02}T1300Z" for n in numbers]


@pytest.mark.parametrize(
    ("now", "taken", "run", "missed"),
    [
        # Back inside the 10 December window: run it late; 5-9 December are missed.
        (at(10, 13, 20), set(), "20261210T1300Z", days(5, 6, 7, 8, 9)),
        (at(10, 13, 0), set(), "20261210T1300Z", days(5, 6, 7, 8, 9)),
        # Back after it closed: nothing runs, all are missed (the end is exclusive).
        (at(10, 14, 0), set(), None, days(5, 6, 7, 8, 9, 10)),
        (at(10, 12, 59), set(), None, days(5, 6, 7, 8, 9)),
        # Snapshots exist for an occurrence: it was started, so it is neither repeated nor missed.
        (at(10, 13, 20), set(days(10)), None, days(5, 6, 7, 8, 9)),
        (at(10, 13, 20), set(days(6, 8)), "20261210T1300Z", days(5, 7, 9)),
        (at(10, 14, 30), set(days(10)), None, days(5, 6, 7, 8, 9)),
        # Nothing passed since the last handled occurrence.
        (at(4, 13, 30), set(), None, []),
        (at(5, 12, 0), set(), None, []),
        (at(5, 13, 30), set(), "20261205T1300Z", []),
    ],
)
def test_catch_up_after_downtime(now: datetime, taken: set[str], run: str | None, missed: list[str]) -> None:
    decision = catch_up(DAILY, SINCE, taken, now)
    assert (decision.run.id if decision.run else None, ids(decision.missed)) == (run, missed)
    assert not decision.more_missed


def test_the_catch_up_is_the_open_occurrence_itself() -> None:
    decision = catch_up(DAILY, SINCE, set(), at(10, 13, 20))
    assert decision.run == Occurrence(at(10, 13), at(10, 14), "20261210T1300Z")


def test_excluded_occurrences_never_opened_so_are_not_missed() -> None:
    ws = WindowSchedule.parse(
        "0 13 * * *", "1h", exclusions=[("2026-12-07T00:00:00Z", "2026-12-09T00:00:00Z", "freeze")]
    )
    assert ids(catch_up(ws, SINCE, set(), at(10, 15)).missed) == days(5, 6, 9, 10)


def test_no_catch_up_while_an_exclusion_covers_now_and_the_window_is_not_missed_yet() -> None:
    ws = WindowSchedule.parse(
        "0 13 * * *", "1h", exclusions=[("2026-12-10T13:10:00Z", "2026-12-10T13:30:00Z", "freeze")]
    )
    blocked = catch_up(ws, SINCE, set(), at(10, 13, 20))
    assert (blocked.run, ids(blocked.missed)) == (None, days(5, 6, 7, 8, 9))
    # Once the exclusion ends, the window is still open: catch up then.
    assert catch_up(ws, SINCE, set(), at(10, 13, 40)).run is not None
    # Had it stayed blocked until the end, it is missed once closed.
    assert ids(catch_up(ws, SINCE, set(), at(10, 14)).missed)[-1] == "20261210T1300Z"


def test_suspended_windows_catch_up_nothing_and_miss_nothing() -> None:
    suspended = replace(DAILY, suspend=True)
    assert catch_up(suspended, SINCE, set(), at(10, 13, 20)) == CatchUp(None, ())


def test_long_downtime_lists_only_the_most_recent_misses() -> None:
    hourly = WindowSchedule.parse("0 * * * *", "30m")
    decision = catch_up(hourly, SINCE, set(), at(14, 10, 15), limit=3)
    assert ids(decision.missed) == ["20261214T0700Z", "20261214T0800Z", "20261214T0900Z"]
    assert decision.run is not None and decision.run.id == "20261214T1000Z"
    assert decision.more_missed
    exact = catch_up(hourly, at(14, 6), set(), at(14, 10, 15), limit=3)
    assert ids(exact.missed) == ids(decision.missed) and not exact.more_missed


def test_ids_follow_the_schedule_in_other_zones() -> None:
    """Occurrence ids are the UTC start: 13:00 in Berlin is 12:00Z in winter."""
    berlin = WindowSchedule.parse("0 13 * * *", "1h", "Europe/Berlin")
    decision = catch_up(berlin, SINCE, set(), at(6, 12, 30))
    assert (decision.run.id if decision.run else None, ids(decision.missed)) == ("20261206T1200Z", ["20261205T1200Z"])


@pytest.mark.parametrize(
    ("since", "now", "limit", "message"),
    [
        (SINCE.replace(tzinfo=None), at(10, 13), 10, "since must be timezone-aware"),
        (SINCE, at(10, 13).replace(tzinfo=None), 10, "now must be timezone-aware"),
        (SINCE, at(10, 13), 0, "limit must be positive"),
    ],
)
def test_bad_arguments(since: datetime, now: datetime, limit: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        catch_up(DAILY, since, set(), now, limit)


# -- properties --------------------------------------------------------------------------------------------------

BASE = datetime(2026, 3, 1, tzinfo=UTC)
schedules = st.sampled_from(
    [
        DAILY,
        WindowSchedule.parse("0 * * * *", "30m"),
        WindowSchedule.parse("*/20 * * * *", "5m"),
        WindowSchedule.parse("30 2 * * *", "2h", "Europe/Berlin"),  # 29 March: 02:30 does not exist
        WindowSchedule.parse("0 14 * * 2", "1h", exclusions=[("2026-03-10T00:00:00Z", "2026-03-18T00:00:00Z", "x")]),
        WindowSchedule.parse("0 */6 * * *", "1h", exclusions=[("2026-03-02T06:30:00Z", "2026-03-02T12:20:00Z", "y")]),
    ]
)
minutes = st.integers(0, 60 * 24 * 40).map(lambda m: BASE + timedelta(minutes=m))


def between(ws: WindowSchedule, since: datetime, now: datetime) -> list[Occurrence]:
    """The oracle: every occurrence starting in (since, now], walking forward."""
    found: list[Occurrence] = []
    after = since
    while batch := [o for o in next_occurrences(ws, after, 50) if o.start <= now]:
        found += batch
        after = batch[-1].start
    return found


@settings(max_examples=150, deadline=None)
@given(schedules, minutes, st.integers(0, 60 * 24 * 10), st.data())
def test_every_passed_occurrence_is_run_missed_or_already_taken(
    ws: WindowSchedule, since: datetime, downtime: int, data: st.DataObject
) -> None:
    now = since + timedelta(minutes=downtime)
    passed = between(ws, since, now)
    taken = set(data.draw(st.sets(st.sampled_from([o.id for o in passed])))) if passed else set()
    decision = catch_up(ws, since, taken, now, limit=10_000)
    event(f"run: {decision.run is not None}, missed: {min(len(decision.missed), 2)}")
    expected_run = open_occurrence(ws, now)
    if (
        expected_run is None
        or expected_run.start <= since
        or expected_run.id in taken
        or not window_state(ws, now).can_start_work
    ):
        expected_run = None
    assert decision.run == expected_run
    open_ids = {o.id for o in passed if now < o.end}
    assert len(open_ids) <= 1, "windows never overlap"
    assert ids(decision.missed) == [o.id for o in passed if o.id not in taken and o.id not in open_ids]
    assert all(o.end <= now for o in decision.missed), "an open window is never reported missed"
    assert not decision.more_missed
    if decision.run is not None:
        assert all(o.start < decision.run.start for o in decision.missed), "only the most recent one is caught up"
        # Once started, its snapshots exist: asking again never yields a duplicate.
        again = catch_up(ws, since, taken | {decision.run.id}, now + timedelta(minutes=1), limit=10_000)
        assert again.run is None


@settings(max_examples=100, deadline=None)
@given(schedules, minutes, st.integers(0, 60 * 24 * 10), st.integers(1, 20))
def test_the_limit_keeps_the_most_recent_misses(ws: WindowSchedule, since: datetime, downtime: int, limit: int) -> None:
    now = since + timedelta(minutes=downtime)
    full = catch_up(ws, since, set(), now, limit=10_000)
    cut = catch_up(ws, since, set(), now, limit=limit)
    assert cut.run == full.run
    assert cut.missed == full.missed[-limit:]
    assert cut.more_missed == (len(full.missed) > limit)


@given(schedules, minutes, st.integers(0, 60 * 24 * 10))
def test_suspended_is_silent(ws: WindowSchedule, since: datetime, downtime: int) -> None:
    assert catch_up(replace(ws, suspend=True), since, set(), since + timedelta(minutes=downtime)) == CatchUp(None, ())


DAILY_PAUSE = WindowSchedule.parse(
    "0 13 * * *",
    "1h",
    exclusions=[(f"2026-03-{d:02}T13:20:00Z", f"2026-03-{d:02}T13:40:00Z", "daily pause") for d in range(1, 32)],
)


@given(st.integers(2, 31), st.integers(0, 59), st.integers(1, 5))
def test_a_window_blocked_right_now_is_neither_run_nor_missed(day: int, minute: int, down_days: int) -> None:
    """New work may not start inside an exclusion, even late; the window may still be caught up after it."""
    now = datetime(2026, 3, day, 13, minute, tzinfo=UTC)
    decision = catch_up(DAILY_PAUSE, now - timedelta(days=down_days, minutes=minute), set(), now)
    today = f"202603{day:02}T1300Z"
    assert (decision.run is not None and decision.run.id == today) == (not 20 <= minute < 40)
    assert len(decision.missed) == down_days - 1
    assert today not in ids(decision.missed)
