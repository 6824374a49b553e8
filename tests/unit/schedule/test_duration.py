"""Durations: the spellings users write, canonical formatting, and round trips."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.schedule import ScheduleError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", timedelta(hours=1)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(days=7)),
        ("1d12h", timedelta(hours=36)),
        ("300s", timedelta(minutes=5)),
        ("1h0m0s", timedelta(hours=1)),
        ("1.5h", timedelta(minutes=90)),
        (" 72h ", timedelta(hours=72)),
        ("0m", timedelta()),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1", "h", "1x", "1H", "-1h", "1m1h", "1h 30m", "1h1h", "1,5h", "1e3s"])
def test_parse_rejects_with_example(text: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_duration(text)
    assert caught.value.problems[0].field == "duration"
    assert "e.g. '1h', '90m'" in str(caught.value)


def test_error_names_the_field_it_is_given() -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_duration("soon", field="noticeBefore")
    assert caught.value.problems[0].field == "noticeBefore"


def test_absurdly_long_durations_are_errors_not_crashes() -> None:
    with pytest.raises(ScheduleError, match="too long"):
        parse_duration("99999999999999d")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(), "0s"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=2), "2d"),
        (timedelta(hours=72), "3d"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(seconds=1, microseconds=500000), "1.5s"),
        (timedelta(minutes=-5), "-5m"),
    ],
)
def test_format(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@given(st.timedeltas(min_value=timedelta(), max_value=timedelta(days=3650)))
def test_format_round_trips(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value
