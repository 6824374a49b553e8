"""Occurrence tables: DST in several zones, month ends, 29 February, windows over midnight and New Year."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from maintenance_operator.schedule import (
    Exclusion,
    Occurrence,
    WindowSchedule,
    next_occurrences,
    occurrence_id,
    open_occurrence,
    previous_occurrence,
    scheduled_start,
)
from tests.unit.schedule.helpers import utc


def window(
    schedule: str,
    zone: str = "UTC",
    duration: timedelta = timedelta(minutes=5),
    exclusions: tuple[Exclusion, ...] = (),
) -> WindowSchedule:
    return WindowSchedule(schedule, duration, ZoneInfo(zone), exclusions)


@pytest.mark.parametrize(
    ("schedule", "zone", "after", "ids"),
    [
        # Europe/Berlin: 02:30 does not exist on 2026-03-29 -> 03:00 CEST; exists twice on 2026-10-25 -> first only
        ("30 2 * * *", "Europe/Berlin", "2026-03-28T00:00", ["20260328T0130Z", "20260329T0100Z", "20260330T0030Z"]),
        ("30 2 * * *", "Europe/Berlin", "2026-10-24T00:00", ["20261024T0030Z", "20261025T0030Z", "20261026T0130Z"]),
        # gap-shifted 02:00/02:30 and the real 03:00 collapse onto one instant: one occurrence, not three
        ("0,30 2,3 * * *", "Europe/Berlin", "2026-03-28T23:00", ["20260329T0100Z", "20260329T0130Z", "20260330T0000Z"]),
        # fall back: 02:00 and 02:30 once (CEST), never again in CET the same night
        ("0,30 2 * * *", "Europe/Berlin", "2026-10-24T23:00", ["20261025T0000Z", "20261025T0030Z", "20261026T0100Z"]),
        ("0 * * * *", "Europe/Berlin", "2026-10-24T22:30", ["20261024T2300Z", "20261025T0000Z", "20261025T0200Z"]),
        ("0 * * * *", "Europe/Berlin", "2026-03-28T23:30", ["20260329T0000Z", "20260329T0100Z", "20260329T0200Z"]),
        # America/New_York
        ("30 2 * * *", "America/New_York", "2026-03-07T00:00", ["20260307T0730Z", "20260308T0700Z", "20260309T0630Z"]),
        ("30 1 * * *", "America/New_York", "2026-10-31T00:00", ["20261031T0530Z", "20261101T0530Z", "20261102T0630Z"]),
        # Australia/Lord_Howe: 30-minute shifts
        (
            "15 2 * * *",
            "Australia/Lord_Howe",
            "2026-10-02T00:00",
            ["20261002T1545Z", "20261003T1530Z", "20261004T1515Z"],
        ),
        (
            "0,30 2 * * *",
            "Australia/Lord_Howe",
            "2026-10-03T12:00",
            ["20261003T1530Z", "20261004T1500Z", "20261004T1530Z"],
        ),
        (
            "45 1 * * *",
            "Australia/Lord_Howe",
            "2026-04-03T00:00",
            ["20260403T1445Z", "20260404T1445Z", "20260405T1515Z"],
        ),
        # no DST: Asia/Kolkata (+05:30)
        ("0 14 * * 2", "Asia/Kolkata", "2026-12-01T00:00", ["20261201T0830Z", "20261208T0830Z", "20261215T0830Z"]),
        # month ends, 29 February, the 2100 non-leap year
        ("0 0 31 * *", "UTC", "2026-01-01T00:00", ["20260131T0000Z", "20260331T0000Z", "20260531T0000Z"]),
        ("0 12 28-31 * *", "UTC", "2026-02-27T00:00", ["20260228T1200Z", "20260328T1200Z"]),
        ("0 0 29 2 *", "UTC", "2026-01-01T00:00", ["20280229T0000Z", "20320229T0000Z"]),
        ("0 0 29 2 *", "UTC", "2096-03-01T00:00", ["21040229T0000Z"]),
        ("0 0 29 2 *", "Europe/Berlin", "2027-12-31T00:00", ["20280228T2300Z"]),  # 00:00 CET is 23:00Z the day before
        # day-of-month OR day-of-week (Kubernetes): the 13th or any Friday
        ("0 0 13 * 5", "UTC", "2026-04-01T00:00", ["20260403T0000Z", "20260410T0000Z", "20260413T0000Z"]),
        # New Year
        ("30 23 31 12 *", "Asia/Kolkata", "2026-06-01T00:00", ["20261231T1800Z", "20271231T1800Z"]),
        ("0 0 1 1 *", "Pacific/Chatham", "2026-06-01T00:00", ["20261231T1015Z"]),  # +13:45 in summer
        # macros
        ("@weekly", "UTC", "2026-12-01T00:00", ["20261206T0000Z", "20261213T0000Z"]),
        ("@hourly", "Asia/Kolkata", "2026-12-01T00:00", ["20261201T0030Z", "20261201T0130Z"]),
    ],
)
def test_next_occurrences(schedule: str, zone: str, after: str, ids: list[str]) -> None:
    found = next_occurrences(window(schedule, zone), utc(after), len(ids))
    assert [o.id for o in found] == ids
    assert all(o.start.tzinfo is UTC and o.end.tzinfo is UTC for o in found)


def test_start_equal_to_after_is_not_next() -> None:
    ws = window("0 14 * * 2")
    assert next_occurrences(ws, utc("2026-12-01T14:00"), 1)[0].id == "20261208T1400Z"
    assert next_occurrences(ws, utc("2026-12-01T13:59:59.999999"), 1)[0].id == "20261201T1400Z"


def test_dense_schedule_gives_the_next_few_only() -> None:
    found = next_occurrences(window("*/10 * * * *"), utc("2026-12-31T23:55"), 3)
    assert [o.id for o in found] == ["20270101T0000Z", "20270101T0010Z", "20270101T0020Z"]


def test_count_zero_and_never_matching_schedule_give_nothing() -> None:
    assert next_occurrences(window("0 14 * * 2"), utc("2026-01-01T00:00"), 0) == []
    assert next_occurrences(window("0 0 30 2 *"), utc("2026-01-01T00:00"), 3) == []
    assert previous_occurrence(window("0 0 30 2 *"), utc("2026-01-01T00:00")) is None


def test_aware_non_utc_input_is_accepted_and_output_is_utc() -> None:
    after = datetime(2026, 12, 1, 15, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # 14:00Z
    found = next_occurrences(window("0 14 * * 2"), after, 1)
    assert found[0].start == utc("2026-12-08T14:00") and found[0].start.tzinfo is UTC


@pytest.mark.parametrize(
    "call",
    [
        lambda naive: next_occurrences(window("@daily"), naive, 1),
        lambda naive: previous_occurrence(window("@daily"), naive),
        lambda naive: open_occurrence(window("@daily"), naive),
    ],
)
def test_naive_datetimes_are_rejected(call: Callable[[datetime], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2026, 1, 1))


# Windows belong to their start day, may cross midnight and New Year; duration is elapsed time.
@pytest.mark.parametrize(
    ("schedule", "zone", "duration", "now", "open_id", "end"),
    [
        ("0 23 * * *", "UTC", timedelta(hours=2), "2026-12-31T23:30", "20261231T2300Z", "2027-01-01T01:00"),
        ("0 23 * * *", "UTC", timedelta(hours=2), "2027-01-01T00:59", "20261231T2300Z", "2027-01-01T01:00"),
        ("0 23 * * *", "UTC", timedelta(hours=2), "2027-01-01T01:00", None, None),
        ("0 23 * * *", "UTC", timedelta(hours=2), "2026-12-31T22:59", None, None),
        ("0 23 * * *", "Europe/Berlin", timedelta(hours=3), "2026-12-31T23:30", "20261231T2200Z", "2027-01-01T01:00"),
        # elapsed: a 3h window from 01:00 CEST on fall-back night ends at 03:00 CET (wall clock shows 2h)
        ("0 1 * * *", "Europe/Berlin", timedelta(hours=3), "2026-10-25T01:30", "20261024T2300Z", "2026-10-25T02:00"),
        # spring forward: a 2h window from 01:30 CET ends at 04:30 CEST (wall clock shows 3h)
        ("30 1 * * *", "Europe/Berlin", timedelta(hours=2), "2026-03-29T02:00", "20260329T0030Z", "2026-03-29T02:30"),
    ],
)
def test_open_occurrence(
    schedule: str, zone: str, duration: timedelta, now: str, open_id: str | None, end: str | None
) -> None:
    found = open_occurrence(window(schedule, zone, duration), utc(now))
    if open_id is None:
        assert found is None
    else:
        assert found == Occurrence(
            datetime.strptime(open_id, "%Y%m%dT%H%MZ").replace(tzinfo=UTC), utc(end or ""), open_id
        )


def test_dst_shortened_gap_clips_the_window_at_the_next_start() -> None:
    # 01:00 and 03:00 are 2h apart on the wall, 1h apart in elapsed time on spring-forward night
    ws = window("0 1,3 * * *", "Europe/Berlin", timedelta(minutes=119))
    first, second = next_occurrences(ws, utc("2026-03-28T23:00"), 2)
    assert (first.start, first.end) == (utc("2026-03-29T00:00"), utc("2026-03-29T01:00"))
    assert (second.start, second.end) == (utc("2026-03-29T01:00"), utc("2026-03-29T02:59"))
    assert open_occurrence(ws, utc("2026-03-29T00:59")) == first
    assert open_occurrence(ws, utc("2026-03-29T01:00")) == second


@pytest.mark.parametrize(
    ("schedule", "zone", "before", "expected_id"),
    [
        ("0 14 * * 2", "UTC", "2026-12-01T14:00", "20261201T1400Z"),  # inclusive
        ("0 14 * * 2", "UTC", "2026-12-01T13:59", "20261124T1400Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-03-29T01:30", "20260329T0100Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-10-25T01:45", "20261025T0030Z"),  # not the CET 02:30
        ("0 0 29 2 *", "UTC", "2104-01-01T00:00", "20960229T0000Z"),
        ("0 0 1 1 *", "UTC", "2027-01-01T00:00", "20270101T0000Z"),
        ("45 1 * * *", "Australia/Lord_Howe", "2026-04-05T00:00", "20260404T1445Z"),
    ],
)
def test_previous_occurrence(schedule: str, zone: str, before: str, expected_id: str) -> None:
    found = previous_occurrence(window(schedule, zone), utc(before))
    assert found is not None and found.id == expected_id


FREEZE = Exclusion(utc("2026-12-07T00:00"), utc("2026-12-10T00:00"), "release freeze")


@pytest.mark.parametrize(
    ("exclusions", "ids"),
    [
        ((), ["20261201T1400Z", "20261208T1400Z", "20261215T1400Z"]),
        ((FREEZE,), ["20261201T1400Z", "20261215T1400Z", "20261222T1400Z"]),
        ((Exclusion(utc("2026-12-08T14:00"), utc("2026-12-08T14:01")),), ["20261201T1400Z", "20261215T1400Z"]),
        ((Exclusion(utc("2026-12-08T13:00"), utc("2026-12-08T14:00")),), ["20261201T1400Z", "20261208T1400Z"]),
        ((FREEZE, Exclusion(utc("2026-12-09T00:00"), utc("2026-12-20T00:00"))), ["20261201T1400Z", "20261222T1400Z"]),
    ],
)
def test_excluded_starts_are_skipped(exclusions: tuple[Exclusion, ...], ids: list[str]) -> None:
    ws = window("0 14 * * 2", exclusions=exclusions)
    assert [o.id for o in next_occurrences(ws, utc("2026-12-01T00:00"), len(ids))] == ids


def test_long_exclusion_over_a_dense_schedule_is_skipped_not_walked() -> None:
    year = Exclusion(utc("2026-01-01T00:00"), utc("2036-01-01T00:05"))
    ws = window("* * * * *", exclusions=(year,))
    assert [o.id for o in next_occurrences(ws, utc("2025-12-31T23:58"), 3)] == [
        "20251231T2359Z",
        "20360101T0005Z",
        "20360101T0006Z",
    ]
    found = previous_occurrence(ws, utc("2030-06-01T00:00"))
    assert found is not None and found.id == "20251231T2359Z"


def test_an_excluded_start_never_opens_and_is_not_caught_up() -> None:
    ws = window("0 14 * * 2", duration=timedelta(hours=1), exclusions=(FREEZE,))
    assert open_occurrence(ws, utc("2026-12-08T14:30")) is None
    found = previous_occurrence(ws, utc("2026-12-08T14:30"))
    assert found is not None and found.id == "20261201T1400Z"


def test_a_window_open_when_an_exclusion_begins_stays_open() -> None:
    ws = window(
        "0 14 * * 2",
        duration=timedelta(hours=1),
        exclusions=(Exclusion(utc("2026-12-08T14:30"), utc("2026-12-09T00:00")),),
    )
    found = open_occurrence(ws, utc("2026-12-08T14:45"))
    assert found is not None and found.id == "20261208T1400Z"


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (utc("2026-12-01T14:00"), "20261201T1400Z"),
        (datetime(2026, 12, 1, 15, 0, tzinfo=ZoneInfo("Europe/Berlin")), "20261201T1400Z"),
        (utc("2026-03-29T01:00:59"), "20260329T0100Z"),
    ],
)
def test_occurrence_id(start: datetime, expected: str) -> None:
    assert occurrence_id(start) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20261201T1400Z", utc("2026-12-01T14:00")),
        ("20261201T140005Z", None),  # a run-now occurrence: its id has seconds
        ("on-demand-20261201T1400Z", None),
        ("", None),
    ],
)
def test_scheduled_start_reads_an_id_back(value: str, expected: datetime | None) -> None:
    assert scheduled_start(value) == expected
    if expected is not None:
        assert occurrence_id(expected) == value


def test_exclusions_need_aware_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Exclusion(datetime(2026, 12, 1), utc("2026-12-02T00:00"))


def test_occurrence_id_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrence_id(datetime(2026, 12, 1, 14, 0))
