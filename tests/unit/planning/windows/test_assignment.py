"""Which window handles a target: the selecting, usable window whose next (or open) occurrence comes first."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.planning.targets import selectors
from maintenance_operator.planning.windows.assignment import (
    Assignment,
    Candidate,
    Ignored,
    assign,
    handling_occurrence,
    rank,
    window_candidate,
)
from maintenance_operator.schedule import Occurrence, WindowSchedule

# Monday 2026-11-30 10:00 UTC.
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
WEB = {"tier": "web"}
TUESDAY_14 = WindowSchedule.parse("0 14 * * 2", "1h")  # next: Tue 2026-12-01 14:00
DAILY_22 = WindowSchedule.parse("0 22 * * *", "1h")  # next: Mon 2026-11-30 22:00
HOURLY_9_40 = WindowSchedule.parse("40 * * * *", "30m")  # open now: 09:40-10:10
BERLIN_15 = WindowSchedule.parse("0 15 * * 2", "1h", "Europe/Berlin")  # Tue 15:00 CET = 14:00 UTC, as TUESDAY_14
EXCLUDED_TUESDAY = WindowSchedule.parse(
    "0 14 * * 2", "1h", exclusions=[("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", "freeze")]
)
RUN_NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
AD_HOC = Occurrence(RUN_NOW, RUN_NOW + timedelta(hours=1), "20261130T093000Z")  # open at NOW
ENDED_AD_HOC = Occurrence(RUN_NOW - timedelta(hours=2), RUN_NOW - timedelta(hours=1), "20261130T073000Z")
FROZEN_NOW = WindowSchedule.parse(  # open since 09:40, but a freeze started at 09:50
    "40 * * * *", "30m", exclusions=[("2026-11-30T09:50:00Z", "2026-11-30T12:00:00Z", "incident")]
)


def window(
    name: str, schedule: WindowSchedule | str, selector: dict[str, object] | None = None, **kw: Any
) -> Candidate:
    return Candidate(name, {"matchLabels": WEB} if selector is None else selector, schedule, **kw)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant around NOW: the 30th is 30 November, any other day is in December."""
    return datetime(2026, 11 if day >= 30 else 12, day, hour, minute, tzinfo=UTC)  # 30 Nov, else December


@pytest.mark.parametrize(
    ("windows", "labels", "expected_window", "expected_start", "open_now"),
    [
        pytest.param([], WEB, None, None, False, id="no-windows"),
        pytest.param([window("weekly", TUESDAY_14)], WEB, "weekly", at(1, 14), False, id="one-selecting"),
        pytest.param([window("weekly", TUESDAY_14)], {"tier": "db"}, None, None, False, id="not-selected"),
        pytest.param([window("weekly", TUESDAY_14, {})], {}, "weekly", at(1, 14), False, id="empty-selector-all"),
        pytest.param(
            [window("weekly", TUESDAY_14), window("nightly", DAILY_22)],
            WEB,
            "nightly",
            at(30, 22),
            False,
            id="earliest-next-wins",
        ),
        pytest.param(
            [window("nightly", DAILY_22), window("hourly", HOURLY_9_40)],
            WEB,
            "hourly",
            at(30, 9, 40),
            True,
            id="open-now-wins",
        ),
        pytest.param(
            [window("weekly", TUESDAY_14), window("nightly", DAILY_22, {"matchLabels": {"tier": "db"}})],
            WEB,
            "weekly",
            at(1, 14),
            False,
            id="earlier-window-does-not-select",
        ),
        pytest.param(
            [window("b-berlin", BERLIN_15), window("a-utc", TUESDAY_14)],
            WEB,
            "a-utc",
            at(1, 14),
            False,
            id="tie-goes-to-first-name",
        ),
        pytest.param(
            [window("nightly", DAILY_22, suspend=True), window("weekly", TUESDAY_14)],
            WEB,
            "nightly",
            at(30, 22),
            False,
            id="suspended-keeps-its-targets",
        ),
        pytest.param(
            [window("hourly", HOURLY_9_40, suspend=True), window("nightly", DAILY_22)],
            WEB,
            "hourly",
            at(30, 9, 40),
            False,
            id="suspended-open-is-not-open-for-work",
        ),
        pytest.param(
            [window("nightly", DAILY_22, cluster=True), window("weekly", TUESDAY_14)],
            WEB,
            "weekly",
            at(1, 14),
            False,
            id="namespaced-before-cluster",
        ),
        pytest.param(
            [window("a-default", DAILY_22, cluster=True), window("b-default", HOURLY_9_40, cluster=True)],
            WEB,
            "b-default",
            at(30, 9, 40),
            True,
            id="among-cluster-windows-earliest",
        ),
        pytest.param(
            [window("nightly", DAILY_22), window("weekly", TUESDAY_14, ad_hoc=AD_HOC)],
            WEB,
            "weekly",
            at(30, 9, 30),
            True,
            id="open-run-now-occurrence-counts",
        ),
        pytest.param(
            [window("nightly", DAILY_22), window("weekly", TUESDAY_14, ad_hoc=ENDED_AD_HOC)],
            WEB,
            "nightly",
            at(30, 22),
            False,
            id="ended-run-now-occurrence-does-not",
        ),
        pytest.param(
            [window("weekly", EXCLUDED_TUESDAY)], WEB, "weekly", at(8, 14), False, id="excluded-occurrence-skipped"
        ),
        pytest.param(
            [window("hourly", FROZEN_NOW)], WEB, "hourly", at(30, 12, 40), False, id="open-but-frozen-uses-next"
        ),
        pytest.param(
            [window("broken", "schedule: bad"), window("weekly", TUESDAY_14)],
            WEB,
            "weekly",
            at(1, 14),
            False,
            id="invalid-schedule-ignored",
        ),
        pytest.param(
            [window("in", DAILY_22, {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]})],
            WEB,
            "in",
            at(30, 22),
            False,
            id="match-expressions",
        ),
    ],
)
def test_assign(
    windows: list[Candidate],
    labels: dict[str, str],
    expected_window: str | None,
    expected_start: datetime | None,
    open_now: bool,
) -> None:
    got = assign(windows, labels, NOW)
    assert got.window == expected_window
    assert (got.occurrence.start if got.occurrence else None) == expected_start
    assert got.open_now is open_now


def test_open_occurrence_is_the_one_open_now() -> None:
    got = assign([window("hourly", HOURLY_9_40)], WEB, NOW)
    assert got.occurrence is not None
    assert got.occurrence.end == at(30, 10, 10)
    assert got.occurrence.id == "20261130T0940Z"


def test_invalid_windows_are_reported_and_a_suspended_one_keeps_the_target() -> None:
    windows = [
        window("broken", "duration: must be at least 5m"),
        window("paused", TUESDAY_14, suspend=True),
        window("bad-selector", TUESDAY_14, {"matchExpressions": [{"key": "tier", "operator": "In", "values": []}]}),
        window("other", "schedule: bad", {"matchLabels": {"tier": "db"}}),  # selects nothing here: not reported
        window("later", WindowSchedule.parse("0 23 * * 3", "1h")),
    ]
    got = assign(windows, WEB, NOW)
    assert got == Assignment(
        window="paused",
        occurrence=Occurrence(at(1, 14), at(1, 15), "20261201T1400Z"),
        open_now=False,
        suspended=True,
        others=("later",),
        ignored=(
            Ignored("bad-selector", "selector.matchExpressions[0]: operator In needs at least one value"),
            Ignored("broken", "duration: must be at least 5m"),
        ),
    )


def test_suspended_in_the_schedule_counts_as_suspended() -> None:
    suspended = WindowSchedule.parse("0 14 * * 2", "1h", suspend=True)
    got = assign([window("weekly", suspended)], WEB, NOW)
    assert (got.window, got.suspended) == ("weekly", True)


def test_window_that_never_opens_again_is_ignored() -> None:
    past_only = WindowSchedule.parse(
        "0 14 * * 2", "1h", exclusions=[("2026-01-01T00:00:00Z", "9999-12-31T00:00:00Z", "retired")]
    )
    got = assign([window("retired", past_only)], WEB, NOW)
    assert got.window is None
    assert [i.name for i in got.ignored] == ["retired"]


def test_handling_occurrence_just_before_a_start_and_at_its_end() -> None:
    start = at(1, 14)
    before = handling_occurrence(TUESDAY_14, start - timedelta(seconds=1))
    at_start = handling_occurrence(TUESDAY_14, start)
    at_end = handling_occurrence(TUESDAY_14, start + timedelta(hours=1))
    assert before is not None and before[0].start == start and before[1] is False
    assert at_start is not None and at_start[0].start == start and at_start[1] is True
    assert at_end is not None and at_end[0].start == start + timedelta(days=7) and at_end[1] is False


SCHEDULES: list[WindowSchedule | str] = [
    TUESDAY_14,
    DAILY_22,
    HOURLY_9_40,
    BERLIN_15,
    EXCLUDED_TUESDAY,
    FROZEN_NOW,
    "schedule: bad",
]
SELECTORS = [{}, {"matchLabels": WEB}, {"matchLabels": {"tier": "db"}}, {"matchExpressions": [{"key": "tier"}]}]


@st.composite
def candidates(draw: st.DrawFn) -> list[Candidate]:
    names = draw(st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=6))
    return [
        Candidate(
            name,
            draw(st.sampled_from(SELECTORS)),
            draw(st.sampled_from(SCHEDULES)),
            suspend=draw(st.booleans()),
            cluster=draw(st.booleans()),
            ad_hoc=draw(st.sampled_from([None, AD_HOC, ENDED_AD_HOC])),
        )
        for name in names
    ]


@given(candidates(), st.randoms(use_true_random=False), st.sampled_from([WEB, {"tier": "db"}, {}]))
def test_one_window_or_none_whatever_the_order(
    windows: list[Candidate], rnd: random.Random, labels: dict[str, str]
) -> None:
    got = assign(windows, labels, NOW)
    shuffled = list(windows)
    rnd.shuffle(shuffled)
    assert assign(shuffled, labels, NOW) == got, "independent of the order of the windows"
    assert assign(windows, labels, NOW) == got, "deterministic"
    usable = rank(windows, NOW).slots
    selecting = [s for s in usable if selectors.matches(s.candidate.selector, labels)]
    if not selecting:
        assert got.window is None and got.occurrence is None and got.others == ()
        return
    best = min(selecting, key=lambda s: s.rank)
    assert got.window == best.candidate.name and got.occurrence == best.occurrence
    assert sorted([got.window, *got.others]) == sorted(s.candidate.name for s in selecting), "each other one once"
    assert not (best.candidate.cluster and any(not s.candidate.cluster for s in selecting)), "namespaced first"


@given(candidates(), st.sampled_from([WEB, {"tier": "db"}, {}]))
def test_suspending_never_moves_a_target(windows: list[Candidate], labels: dict[str, str]) -> None:
    flipped = [replace(w, suspend=not w.suspend) for w in windows]
    assert assign(flipped, labels, NOW).window == assign(windows, labels, NOW).window


CLUSTER = "ClusterMaintenanceWindow/platform-default"


@pytest.mark.parametrize(
    ("labels", "namespaced", "expected"),
    [
        pytest.param(WEB, "0 14 * * 2", "team", id="a-namespaced-window-wins-even-when-later"),
        pytest.param({"tier": "db"}, "0 14 * * 2", CLUSTER, id="the-cluster-window-takes-the-rest"),
        pytest.param({**WEB, "maintenance.ops.dev/window": "none"}, None, None, id="opted-out-of-cluster-windows"),
        pytest.param({**WEB, "maintenance.ops.dev/window": "none"}, "0 14 * * 2", "team", id="opt-out-is-cluster-only"),
    ],
)
def test_cluster_window_handles_only_what_no_namespaced_window_selects(
    labels: dict[str, str], namespaced: str | None, expected: str | None
) -> None:
    """The cluster window opens earlier (22:00 today) than the namespaced one (Tuesday 14:00): scope ranks first."""
    candidates = [window_candidate(CLUSTER, {"schedule": "0 22 * * *", "selector": {}}, None, cluster=True)]
    if namespaced is not None:
        candidates.append(window_candidate("team", {"schedule": namespaced, "selector": {"matchLabels": WEB}}, None))
    assert assign(candidates, labels, NOW).window == expected


def test_a_cluster_spec_is_ranked_by_its_schedule_alone() -> None:
    spec = {"schedule": "0 22 * * *", "selector": {}, "namespaceSelector": {"matchLabels": {"team": "a"}}}
    made = window_candidate(CLUSTER, spec, None, cluster=True)
    assert made.schedule == DAILY_22 and made.cluster
