"""The shortest gap between starts, derived from the field sets, against an enumeration of real starts."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maintenance_operator.schedule.cron import parse_cron
from maintenance_operator.schedule.gaps import min_gap


@pytest.mark.parametrize(
    ("schedule", "gap"),
    [
        ("*/10 * * * *", timedelta(minutes=10)),
        ("0,50 * * * *", timedelta(minutes=10)),  # xx:50 -> (xx+1):00
        ("0 22,2 * * *", timedelta(hours=4)),
        ("0 14 * * 2", timedelta(days=7)),
        ("0 14 * * 1,2", timedelta(days=1)),
        ("0 9-17 * * mon-fri", timedelta(hours=1)),
        ("0 0 31 * *", timedelta(days=31)),
        ("0 0 29 2 *", timedelta(days=4 * 365 + 1)),
        ("0 0 1 1 *", timedelta(days=365)),
        ("30 23 31 12 *", timedelta(days=365)),
        ("0 0 1,15 * *", timedelta(days=14)),  # 1st -> 15th, and 15 Feb -> 1 Mar in a common year
        ("0 0 13 * 5", timedelta(days=1)),  # a Friday the 12th, then Saturday the 13th
        ("0 0 30 2 *", None),
        ("0 0 31 4,6,9,11 *", None),
    ],
)
def test_min_gap(schedule: str, gap: timedelta | None) -> None:
    assert min_gap(parse_cron(schedule)) == gap


def _sparse_field(low: int, high: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("*"),
        st.lists(st.integers(low, high), min_size=1, max_size=3, unique=True).map(lambda v: ",".join(map(str, v))),
    )


@settings(max_examples=40, deadline=None)
@given(
    minute=st.lists(st.integers(0, 59), min_size=1, max_size=2, unique=True),
    hour=st.lists(st.integers(0, 23), min_size=1, max_size=2, unique=True),
    dom=_sparse_field(1, 31),
    month=_sparse_field(1, 12),
    dow=_sparse_field(0, 6),
)
def test_min_gap_matches_enumeration(minute: list[int], hour: list[int], dom: str, month: str, dow: str) -> None:
    """Enumerate every matching wall time over 2001-2029 (the horizon min_gap reasons about) and compare."""
    spec = parse_cron(f"{','.join(map(str, minute))} {','.join(map(str, hour))} {dom} {month} {dow}")
    starts = [
        datetime(year, month_, day) + timedelta(minutes=m)
        for year in range(2001, 2029)
        for month_ in range(1, 13)
        for day in spec.days_in(year, month_)
        for m in spec.times
    ]
    expected = min((b - a for a, b in pairwise(starts)), default=None)
    assert min_gap(spec) == expected
