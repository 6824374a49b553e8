"""RFC 3339 in annotations: what users and kubectl write parses to aware UTC; anything else is None, never a crash."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.planning.times import format_time, parse_time

NOON_UTC = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T12:00:00Z", NOON_UTC),
        ("2026-12-01T12:00:00+00:00", NOON_UTC),
        # `kubectl rollout restart` writes local time with an offset.
        ("2026-12-01T13:00:00+01:00", NOON_UTC),
        ("2026-12-01T07:00:00-05:00", NOON_UTC),
        ("2026-12-01T12:00:00.250Z", NOON_UTC + timedelta(milliseconds=250)),
        ("  2026-12-01T12:00:00Z\n", NOON_UTC),
        # Offsets that move the date.
        ("2026-12-02T01:30:00+13:30", NOON_UTC),
    ],
)
def test_rfc3339_times_parse_to_utc(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "yesterday",
        "2026-12-01",  # a date has no instant
        "2026-12-01T12:00:00",  # no offset: which zone?
        "2026-13-01T12:00:00Z",
        "2026-02-30T12:00:00Z",
        "2026-12-01T25:00:00Z",
        "12/01/2026 12:00",
        "1764590400",
        # Offsets that push an edge-of-range date beyond what a datetime holds.
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_missing_or_malformed_times_are_none(text: str | None) -> None:
    assert parse_time(text) is None


def test_format_is_second_precision_utc_with_z() -> None:
    berlin = timezone(timedelta(hours=1))
    assert format_time(datetime(2026, 12, 1, 15, 0, 59, 999_999, tzinfo=berlin)) == "2026-12-01T14:00:59Z"


@given(
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_format_then_parse_is_the_same_instant_to_the_second(naive: datetime, offset_minutes: int) -> None:
    value = naive.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    assert parse_time(format_time(value)) == value.replace(microsecond=0)


@given(
    st.one_of(st.datetimes(), st.sampled_from([datetime.min, datetime.max])),
    st.integers(min_value=-(24 * 60) + 1, max_value=24 * 60 - 1),
)
def test_any_offset_time_parses_to_the_same_instant_or_none(naive: datetime, offset_minutes: int) -> None:
    value = naive.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    parsed = parse_time(value.isoformat())
    # Only an instant a datetime cannot hold in UTC (year 1 or 9999 shifted across the edge) may give None.
    assert parsed == value or (parsed is None and naive.year in (1, 9999))


@given(st.text())
def test_user_input_never_raises(text: str) -> None:
    parsed = parse_time(text)
    assert parsed is None or parsed.utcoffset() == timedelta(0)
