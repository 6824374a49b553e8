"""WindowSchedule.parse: every problem at once, each naming its field, what is wrong and a valid example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from maintenance_operator.schedule import Exclusion, Problem, ScheduleError, WindowSchedule


def test_parse_valid_window() -> None:
    ws = WindowSchedule.parse(
        " 0 14 * * 2 ",
        "1h",
        "Europe/Berlin",
        [("2026-12-24T00:00:00+01:00", "2027-01-02T00:00:00Z", "holidays")],
        suspend=True,
    )
    assert ws == WindowSchedule(
        "0 14 * * 2",
        timedelta(hours=1),
        ZoneInfo("Europe/Berlin"),
        (Exclusion(datetime(2026, 12, 23, 23, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC), "holidays"),),
        suspend=True,
    )
    assert ws.exclusions[0].start.tzinfo is UTC


@pytest.mark.parametrize(
    ("schedule", "duration"),
    [
        ("0 14 * * 2", "5m"),  # the minimum
        ("*/10 * * * *", "9m"),
        ("0 * * * *", "59m"),
        ("0 22,2 * * *", "3h59m"),  # 22:00 -> 02:00 is the shorter gap
        ("0 14 * * 2", "6d23h59m"),
        ("@daily", "23h59m"),
        ("0 0 29 2 *", "1000d"),  # every four years
        ("0 0 31 * *", "30d"),  # July 31 -> August 31 is the shortest gap
    ],
)
def test_durations_just_under_the_gap_are_valid(schedule: str, duration: str) -> None:
    WindowSchedule.parse(schedule, duration)


@pytest.mark.parametrize(
    ("kwargs", "field", "fragments"),
    [
        ({"schedule": "0 0 14 * * 2"}, "schedule", ["6 fields", "seconds are not supported", "e.g. '0 14 * * 2'"]),
        ({"time_zone": "Europe/Berln"}, "timeZone", ["unknown time zone 'Europe/Berln'", "'Europe/Berlin'"]),
        ({"duration": "4m"}, "duration", ["'4m' is shorter than the minimum of 5m", "e.g. '1h'"]),
        ({"duration": "0s"}, "duration", ["shorter than the minimum of 5m"]),
        ({"duration": "an hour"}, "duration", ["is not a duration", "e.g. '1h'"]),
        (
            {"schedule": "0 * * * *", "duration": "1h"},
            "duration",
            ["not shorter than the 1h between two starts", "'30m'"],
        ),
        ({"schedule": "0 22,2 * * *", "duration": "4h"}, "duration", ["4h between two starts"]),
        ({"schedule": "0 23 * * 1,2", "duration": "1d"}, "duration", ["not shorter than the 1d between"]),
        ({"schedule": "0 0 31 * *", "duration": "31d"}, "duration", ["31d between two starts"]),
        ({"schedule": "*/5 * * * *", "duration": "5m"}, "duration", ["at least 5m", "start less often"]),
        ({"schedule": "0 0 30 2 *"}, "schedule", ["never matches a date", "e.g. '0 14 28 2 *'"]),
        (
            {"exclusions": [("2026-12-24T00:00:00Z", "2026-12-23T00:00:00Z", "x")]},
            "exclusions[0]",
            ["ends before it starts", "end must be later than the start"],
        ),
        (
            {"exclusions": [("2026-12-24T00:00:00Z", "2026-12-24T00:00:00Z", "x")]},
            "exclusions[0]",
            ["is empty"],
        ),
        (
            {
                "exclusions": [
                    ("2026-12-24T00:00:00Z", "2026-12-25T00:00:00Z", ""),
                    ("yesterday", "2026-12-25T00:00:00Z", ""),
                ]
            },
            "exclusions[1].start",
            ["'yesterday' is not an RFC 3339 date-time", "e.g. '2026-12-24T00:00:00Z'"],
        ),
        (
            {"exclusions": [("2026-12-24T00:00:00Z", "2026-12-25T00:00:00", "")]},
            "exclusions[0].end",
            ["has no UTC offset", "add 'Z'"],
        ),
    ],
)
def test_single_problem(kwargs: dict[str, object], field: str, fragments: list[str]) -> None:
    args: dict[str, object] = {"schedule": "0 14 * * 2", "duration": "1h", "time_zone": "UTC", **kwargs}
    with pytest.raises(ScheduleError) as caught:
        WindowSchedule.parse(**args)  # type: ignore[arg-type]
    assert [p.field for p in caught.value.problems] == [field]
    for fragment in fragments:
        assert fragment in caught.value.problems[0].message


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(ScheduleError) as caught:
        WindowSchedule.parse(
            "0 0 14 * * 2",
            "2m",
            "Mars/Base",
            [("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z", ""), ("soon", "later", "")],
        )
    assert [p.field for p in caught.value.problems] == [
        "schedule",
        "duration",
        "timeZone",
        "exclusions[0]",
        "exclusions[1].start",
        "exclusions[1].end",
    ]
    assert str(caught.value).startswith("schedule: '0 0 14 * * 2' has 6 fields")


def test_schedule_error_is_a_value_error_with_readable_text() -> None:
    error = ScheduleError([Problem("duration", "too short"), Problem("timeZone", "unknown")])
    assert isinstance(error, ValueError)
    assert str(error) == "duration: too short; timeZone: unknown"
    with pytest.raises(ValueError, match="at least one problem"):
        ScheduleError([])
