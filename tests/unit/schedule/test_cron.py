"""Cron parsing: field sets, macros, the Kubernetes dom/dow rule, and precise messages."""

from __future__ import annotations

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from maintenance_operator.schedule import ScheduleError
from maintenance_operator.schedule.cron import CronSpec, parse_cron


@pytest.mark.parametrize(
    ("expression", "minutes", "hours"),
    [
        ("0 14 * * 2", (0,), (14,)),
        ("*/15 9-17/4 * * *", (0, 15, 30, 45), (9, 13, 17)),
        ("5/20 0 * * *", (5, 25, 45), (0,)),
        ("0,30 1,2,3 * * *", (0, 30), (1, 2, 3)),
        ("59 23 * * *", (59,), (23,)),
        ("  0   14 * *   2 ", (0,), (14,)),
    ],
)
def test_minutes_and_hours(expression: str, minutes: tuple[int, ...], hours: tuple[int, ...]) -> None:
    spec = parse_cron(expression)
    assert (spec.minutes, spec.hours) == (minutes, hours)


@pytest.mark.parametrize(
    ("expression", "weekdays", "months"),
    [
        ("0 0 * * mon-fri", {1, 2, 3, 4, 5}, set(range(1, 13))),
        ("0 0 * * 7", {0}, set(range(1, 13))),
        ("0 0 * * 5-7", {5, 6, 0}, set(range(1, 13))),
        ("0 0 * * SUN,sat", {0, 6}, set(range(1, 13))),
        ("0 0 * jan,JUL-sep *", set(range(7)), {1, 7, 8, 9}),
        ("0 0 * */3 *", set(range(7)), {1, 4, 7, 10}),
    ],
)
def test_names_and_sunday_aliases(expression: str, weekdays: set[int], months: set[int]) -> None:
    spec = parse_cron(expression)
    assert (set(spec.weekdays), set(spec.months)) == (weekdays, months)


@pytest.mark.parametrize(
    ("macro", "equivalent"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@Daily", "0 0 * * *"),
    ],
)
def test_macros(macro: str, equivalent: str) -> None:
    assert _sets(parse_cron(macro)) == _sets(parse_cron(equivalent))
    assert parse_cron(macro).expression == macro


# Kubernetes (robfig/cron): restricted day-of-month and day-of-week match when EITHER matches; a field is
# unrestricted only when an item is `*` or `?` without a step above 1.
@pytest.mark.parametrize(
    ("expression", "year", "month", "days"),
    [
        ("0 0 * * 5", 2026, 3, (6, 13, 20, 27)),  # Fridays
        ("0 0 13 * *", 2026, 3, (13,)),
        ("0 0 13 * 5", 2026, 4, (3, 10, 13, 17, 24)),  # the 13th OR Fridays
        ("0 0 13 * ?", 2026, 4, (13,)),  # `?` leaves day-of-week unrestricted: AND
        ("0 0 ? * 5", 2026, 3, (6, 13, 20, 27)),  # `?` is unrestricted
        ("0 0 */10 * 1", 2026, 6, (1, 8, 11, 15, 21, 22, 29)),  # */10 restricts: 1,11,21,31 OR Mondays
        ("0 0 */1 * 1", 2026, 6, (1, 8, 15, 22, 29)),  # */1 does not restrict: Mondays only
        ("0 0 1-31 * 1", 2026, 6, tuple(range(1, 31))),  # 1-31 restricts: every day OR Mondays
        ("0 0 31 * *", 2026, 4, ()),  # April has 30 days
        ("0 0 29 2 *", 2026, 2, ()),
        ("0 0 29 2 *", 2028, 2, (29,)),
        ("0 0 29 2 *", 2100, 2, ()),  # not a leap year
        ("0 0 29 2 *", 2000, 2, (29,)),
        ("0 0 * 3 *", 2026, 2, ()),
    ],
)
def test_days_in_month(expression: str, year: int, month: int, days: tuple[int, ...]) -> None:
    assert parse_cron(expression).days_in(year, month) == days


@pytest.mark.parametrize(
    ("expression", "fragments"),
    [
        ("0 0 1 1 * *", ["6 fields", "seconds are not supported", "'0 14 * * 2'"]),
        ("0 0 * * * 2026 x", ["7 fields", "use 5 fields"]),
        ("0 14 * *", ["4 fields", "minute hour day-of-month month day-of-week"]),
        ("", ["is empty"]),
        ("61 * * * *", ["minute '61'", "out of range 0-59", "'*/15'"]),
        ("0 24 * * *", ["hour '24'", "out of range 0-23"]),
        ("0 0 0 * *", ["day-of-month '0'", "out of range 1-31"]),
        ("0 0 * 13 *", ["month '13'", "out of range 1-12"]),
        ("0 0 * * 8", ["day-of-week '8'", "out of range 0-7", "0 and 7 are Sunday"]),
        ("0 0 * * mo", ["'mo' is not a number or name"]),
        ("0 x * * *", ["hour 'x'", "'x' is not a number;"]),
        ("0 17-9 * * *", ["runs backwards", "'17-23,0-9'"]),
        ("*/0 * * * *", ["step '0'", "at least 1"]),
        ("0 0 1,,2 * *", ["empty list item"]),
        ("0 0 L * *", ["'l' is not a number (L, W and # are not supported)"]),
        ("0 0 15W * *", ["L, W and # are not supported"]),
        ("0 0 * * 5#3", ["L, W and # are not supported"]),
        ("? * * * *", ["only allowed in day-of-month and day-of-week"]),
        ("@every 5m", ["unknown macro '@every 5m'", "@daily"]),
        ("@reboot", ["unknown macro"]),
        ("CRON_TZ=Europe/Berlin 0 14 * * 2", ["put it in timeZone"]),
    ],
)
def test_invalid_expressions_say_what_and_how(expression: str, fragments: list[str]) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_cron(expression)
    assert {p.field for p in caught.value.problems} == {"schedule"}
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_every_bad_field_is_reported() -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_cron("60 24 0 13 8")
    names = [p.message.split(" ")[0] for p in caught.value.problems]
    assert names == ["minute", "hour", "day-of-month", "month", "day-of-week"]


def _sets(spec: CronSpec) -> tuple[object, ...]:
    return (spec.minutes, spec.hours, spec.days, spec.months, spec.weekdays, spec.dom_restricted, spec.dow_restricted)


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    """Random field text; no `*` inside lists and no one-value ranges (croniter expands those oddly)."""
    value = st.integers(low, high)
    bounds = st.tuples(value, value).filter(lambda ab: ab[0] != ab[1]).map(sorted)
    item = st.one_of(
        value.map(str),
        bounds.map(lambda ab: f"{ab[0]}-{ab[1]}"),
        st.tuples(value, st.integers(1, high + 1)).map(lambda vs: f"{vs[0]}/{vs[1]}"),
        st.tuples(bounds, st.integers(1, 9)).map(lambda rs: f"{rs[0][0]}-{rs[0][1]}/{rs[1]}"),
    )
    whole = st.one_of(st.just("*"), st.integers(2, high + 1).map(lambda s: f"*/{s}"))
    return st.one_of(whole, st.lists(item, min_size=1, max_size=3).map(",".join))


@settings(max_examples=200)
@given(
    minute=_field(0, 59),
    hour=_field(0, 23),
    dom=_field(1, 31),
    month=_field(1, 12),
    dow=_field(0, 7),
)
def test_field_sets_agree_with_croniter(minute: str, hour: str, dom: str, month: str, dow: str) -> None:
    """An independent parser (croniter) expands every field to the same set of values."""
    spec = parse_cron(f"{minute} {hour} {dom} {month} {dow}")
    expanded, _ = croniter.expand(f"{minute} {hour} {dom} {month} {dow}")

    def values(field: list[int | str], low: int, high: int) -> set[int]:
        return set(range(low, high + 1)) if field == ["*"] else {int(v) % 7 if high == 6 else int(v) for v in field}

    assert set(spec.minutes) == values(expanded[0], 0, 59)
    assert set(spec.hours) == values(expanded[1], 0, 23)
    assert spec.days == values(expanded[2], 1, 31)
    assert spec.months == values(expanded[3], 1, 12)
    assert spec.weekdays == values(expanded[4], 0, 6)
