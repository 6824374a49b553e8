"""Advance notices: one per lead time, target and occurrence, only for due targets, recorded so none repeats."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.windows.notices import (
    NoticeRecord,
    format_record,
    merge,
    parse_record,
    plan_notices,
)
from maintenance_operator.planning.windows.restarts import Policy, is_due
from tests.unit.planning.factories import (
    ANNOUNCED,
    OCCURRENCE,
    PREVIOUS_OCCURRENCE,
    WINDOW_START,
    pending_workload,
    workload,
)

NOTICE = timedelta(hours=72)
IF_PENDING = Policy()
ALWAYS = Policy(always=True)
OPENS_NOTICE = WINDOW_START - NOTICE
WEEK, DAY, HOUR = timedelta(days=7), timedelta(days=1), timedelta(hours=1)
LEADS = [WEEK, DAY, HOUR]


def due_names(targets: list[Workload], now: datetime, policy: Policy = IF_PENDING) -> list[str]:
    return [w.name for w in plan_notices(targets, OCCURRENCE, WINDOW_START, [NOTICE], policy, now, webhook=False).tell]


def test_the_next_notice_is_due_at_each_lead_time_ahead_of_the_start() -> None:
    def next_due(now: datetime) -> datetime | None:
        return plan_notices([], OCCURRENCE, WINDOW_START, LEADS, IF_PENDING, now, webhook=False).next_due

    assert next_due(WINDOW_START - timedelta(days=30)) == WINDOW_START - WEEK
    assert next_due(WINDOW_START - WEEK) == WINDOW_START - DAY
    assert next_due(WINDOW_START - timedelta(hours=5)) == WINDOW_START - HOUR
    assert next_due(WINDOW_START - HOUR) is None


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(OPENS_NOTICE - timedelta(days=30), [], id="a-month-ahead"),
        pytest.param(OPENS_NOTICE - timedelta(seconds=1), [], id="just-before-notice-period"),
        pytest.param(OPENS_NOTICE, ["web"], id="notice-period-opens"),
        pytest.param(OPENS_NOTICE + timedelta(days=1), ["web"], id="within-notice-period"),
        pytest.param(WINDOW_START, ["web"], id="window-start"),  # a late notice is better than none
    ],
)
def test_nothing_is_announced_before_the_notice_period(now: datetime, expected: list[str]) -> None:
    assert due_names([pending_workload("web")], now) == expected


@pytest.mark.parametrize(
    ("w", "expected"),
    [
        pytest.param(pending_workload("web"), ["web"], id="pending"),
        pytest.param(pending_workload("web", notice_sent=OCCURRENCE), [], id="already-told"),
        pytest.param(pending_workload("web", notice_sent=PREVIOUS_OCCURRENCE), ["web"], id="told-about-last-week"),
        pytest.param(workload("web"), [], id="nothing-pending"),
        pytest.param(workload("web", required="security"), [], id="announced-not-yet-stamped"),
        pytest.param(
            pending_workload("web", completed_at=WINDOW_START - timedelta(days=1)), [], id="self-served-already"
        ),
        pytest.param(pending_workload("web", paused=True), [], id="paused"),
    ],
)
def test_only_due_targets_not_yet_told(w: Workload, expected: list[str]) -> None:
    assert due_names([w], OPENS_NOTICE + timedelta(hours=1)) == expected


@pytest.mark.parametrize(
    ("w", "expected"),
    [
        pytest.param(workload("web"), ["web"], id="nothing-pending-still-restarted"),
        pytest.param(workload("web", notice_sent=OCCURRENCE), [], id="already-told"),
        pytest.param(workload("web", paused=True), [], id="paused"),
    ],
)
def test_policy_always_tells_every_target(w: Workload, expected: list[str]) -> None:
    assert due_names([w], OPENS_NOTICE + timedelta(hours=1), ALWAYS) == expected


def test_notices_keep_the_non_ha_flag_for_the_message() -> None:
    single = pending_workload("single", replicas=1)
    recreate = pending_workload("recreate", recreate=True)
    ha = pending_workload("ha")
    plan = plan_notices(
        [single, recreate, ha], OCCURRENCE, WINDOW_START, [NOTICE], IF_PENDING, OPENS_NOTICE, webhook=False
    )
    assert {w.name: w.downtime_expected for w in plan.tell} == {"single": True, "recreate": True, "ha": False}


targets = st.lists(
    st.builds(
        workload,
        st.sampled_from("abcdef"),
        required=st.sampled_from([None, "security"]),
        required_since=st.just(ANNOUNCED),
        notice_sent=st.sampled_from([None, OCCURRENCE, PREVIOUS_OCCURRENCE]),
        paused=st.booleans(),
        completed_at=st.sampled_from([None, WINDOW_START - timedelta(days=1)]),
    ),
    max_size=6,
    unique_by=lambda w: w.name,
)


@given(targets, st.booleans(), st.integers(-200, 100).map(lambda h: OPENS_NOTICE + timedelta(hours=h)))
def test_notices_due_properties(ws: list[Workload], always: bool, now: datetime) -> None:
    policy = Policy(always=always)
    told = plan_notices(ws, OCCURRENCE, WINDOW_START, [NOTICE], policy, now, webhook=False).tell
    if now < OPENS_NOTICE:
        assert told == []
        return
    assert {w.key for w in told} == {
        w.key for w in ws if is_due(w, policy) and not w.paused and w.notice_sent != OCCURRENCE
    }
    # Once recorded, the same occurrence is never announced again.
    recorded = [replace(w, notice_sent=f"{OCCURRENCE} 3d=e") if w in told else w for w in ws]
    assert plan_notices(recorded, OCCURRENCE, WINDOW_START, [NOTICE], policy, now, webhook=False).tell == []


# -- lead times --------------------------------------------------------------------------------------------------
def plan_at(w: Workload, now: datetime, *, webhook: bool = False, leads: list[timedelta] = LEADS) -> tuple[str, ...]:
    plan = plan_notices([w], OCCURRENCE, WINDOW_START, leads, IF_PENDING, now, webhook=webhook)
    lead = "-" if plan.lead is None else str(plan.lead)
    return lead, "tell" if plan.tell else "", "deliver" if plan.deliver else ""


@pytest.mark.parametrize(
    ("sent", "now", "expected"),
    [
        pytest.param(None, WINDOW_START - timedelta(days=8), ("-", "", ""), id="before-the-first-lead-time"),
        pytest.param(None, WINDOW_START - WEEK, (str(WEEK), "tell", "deliver"), id="first-lead-time"),
        pytest.param(f"{OCCURRENCE} 7d=ew", WINDOW_START - timedelta(days=2), (str(WEEK), "", ""), id="told-7d"),
        pytest.param(f"{OCCURRENCE} 7d=ew", WINDOW_START - DAY, (str(DAY), "tell", "deliver"), id="then-24h"),
        pytest.param(
            f"{OCCURRENCE} 7d=e", WINDOW_START - timedelta(days=2), (str(WEEK), "", "deliver"), id="7d-undelivered"
        ),
        pytest.param(f"{OCCURRENCE} 7d=ew 1d=ew", WINDOW_START - HOUR, (str(HOUR), "tell", "deliver"), id="then-1h"),
        pytest.param(f"{OCCURRENCE} 1h=ew", WINDOW_START - HOUR, (str(HOUR), "", ""), id="all-done"),
        # Lead times that passed together make one notice, for the latest of them.
        pytest.param(None, WINDOW_START - timedelta(hours=2), (str(DAY), "tell", "deliver"), id="created-late"),
        pytest.param(
            f"{PREVIOUS_OCCURRENCE} 1h=ew", WINDOW_START - WEEK, (str(WEEK), "tell", "deliver"), id="last-week"
        ),
        # Before lead times, the annotation held the occurrence alone: that is the longest lead time, done.
        pytest.param(OCCURRENCE, WINDOW_START - timedelta(days=2), (str(WEEK), "", ""), id="legacy-record"),
        pytest.param(OCCURRENCE, WINDOW_START - DAY, (str(DAY), "tell", "deliver"), id="legacy-then-24h"),
        # Retries stop when the next lead time supersedes the batch, or at the start; Events still go out late.
        pytest.param(f"{OCCURRENCE} 1h=e", WINDOW_START, (str(HOUR), "", ""), id="no-delivery-at-the-start"),
    ],
)
def test_one_notice_per_lead_time(sent: str | None, now: datetime, expected: tuple[str, ...]) -> None:
    assert plan_at(pending_workload("web", notice_sent=sent), now, webhook=True) == expected


def test_batch_retries_end_at_the_next_lead_time_or_the_start() -> None:
    w = pending_workload("web")
    week = plan_notices([w], OCCURRENCE, WINDOW_START, LEADS, IF_PENDING, WINDOW_START - WEEK, webhook=True)
    hour = plan_notices([w], OCCURRENCE, WINDOW_START, LEADS, IF_PENDING, WINDOW_START - HOUR, webhook=True)
    assert (week.deliver_until, hour.deliver_until) == (WINDOW_START - DAY, WINDOW_START)


def test_a_batch_being_delivered_is_not_planned_again() -> None:
    w = pending_workload("web", notice_sent=f"{OCCURRENCE} 7d=e")
    plan = plan_notices(
        [w],
        OCCURRENCE,
        WINDOW_START,
        LEADS,
        IF_PENDING,
        WINDOW_START - WEEK,
        webhook=True,
        delivering=frozenset({w.key}),
    )
    assert (plan.tell, plan.deliver) == ([], [])


def test_own_writes_count_before_the_cache_shows_them() -> None:
    w = pending_workload("web")
    written = {w.key: NoticeRecord(OCCURRENCE, frozenset({WEEK}), frozenset({WEEK}))}
    plan = plan_notices(
        [w], OCCURRENCE, WINDOW_START, LEADS, IF_PENDING, WINDOW_START - WEEK, webhook=True, written=written
    )
    assert (plan.tell, plan.deliver) == ([], [])


@pytest.mark.parametrize(
    ("value", "record"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="blank"),
        pytest.param(OCCURRENCE, NoticeRecord(OCCURRENCE, legacy=True), id="legacy"),
        pytest.param(
            f"{OCCURRENCE} 7d=ew 1d=e", NoticeRecord(OCCURRENCE, frozenset({WEEK, DAY}), frozenset({WEEK})), id="two"
        ),
        pytest.param(
            f"{OCCURRENCE} 1h=w", NoticeRecord(OCCURRENCE, frozenset(), frozenset({HOUR})), id="delivered-only"
        ),
        pytest.param(f"{OCCURRENCE} bogus=e", NoticeRecord(OCCURRENCE), id="unreadable-entry-ignored"),
    ],
)
def test_parse_record(value: str | None, record: NoticeRecord | None) -> None:
    assert parse_record(value) == record


def test_format_record_keeps_only_the_spec_lead_times() -> None:
    record = NoticeRecord(OCCURRENCE, frozenset({WEEK, DAY, timedelta(hours=5)}), frozenset({WEEK}))
    assert format_record(record, LEADS) == f"{OCCURRENCE} 7d=ew 1d=e"
    assert format_record(NoticeRecord(OCCURRENCE, legacy=True), LEADS) == OCCURRENCE


def test_merge_ignores_other_occurrences() -> None:
    mine = NoticeRecord(OCCURRENCE, frozenset({WEEK}))
    other = NoticeRecord(PREVIOUS_OCCURRENCE, frozenset({HOUR}), frozenset({HOUR}))
    assert merge(OCCURRENCE, mine, other, None) == mine
    assert merge(OCCURRENCE, other) == NoticeRecord(OCCURRENCE)


lead_lists = st.lists(st.sampled_from([WEEK, timedelta(days=3), DAY, timedelta(hours=5), HOUR]), min_size=1, max_size=5)
pass_times = st.lists(st.integers(0, 8 * 24 * 60), min_size=1, max_size=12).map(
    lambda minutes: sorted(WINDOW_START - timedelta(minutes=m) for m in minutes)
)


@given(lead_lists, pass_times, st.sets(st.integers(0, 11)))
def test_passes_over_time_tell_each_lead_time_at_most_once(
    leads: list[timedelta], times: list[datetime], failing: set[int]
) -> None:
    """Passes at increasing times, with the record read back from the annotation only (as after a restart) and
    some webhook attempts failing: no lead time is told twice, none is delivered twice, the record stays bounded,
    lead times are told longest first, and a pass repeated at the last instant has nothing left to tell."""
    w = pending_workload("web")
    told: list[timedelta] = []
    delivered: list[timedelta] = []
    for i, now in enumerate(times):
        plan = plan_notices([w], OCCURRENCE, WINDOW_START, leads, IF_PENDING, now, webhook=True)
        if plan.lead is None:
            assert plan.tell == plan.deliver == []
            continue
        record = plan.records[w.key]
        if plan.tell:
            told.append(plan.lead)
            record = record.with_told(plan.lead)
        if plan.deliver and i not in failing:
            delivered.append(plan.lead)
            record = record.with_delivered(plan.lead)
        value = format_record(record, leads)
        assert len(value.split()) <= 1 + len(set(leads))
        w = replace(w, notice_sent=value)
    assert len(told) == len(set(told)) and len(delivered) == len(set(delivered))
    assert told == sorted(told, reverse=True)
    assert plan_notices([w], OCCURRENCE, WINDOW_START, leads, IF_PENDING, times[-1], webhook=True).tell == []
