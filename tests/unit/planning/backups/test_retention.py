"""Retention: tables for each rule, and properties over random histories (failed snapshots, clock skew, foreign and
deleting snapshots, several databases) proving that no rule is ever broken."""

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from maintenance_operator.api.windows import Retention
from maintenance_operator.planning.backups.retention import Deletion, Reason, RetentionPolicy, plan_retention
from maintenance_operator.planning.backups.snapshots import SnapshotRecord

NOW = datetime(2026, 12, 10, 13, 30, tzinfo=UTC)
DAY = timedelta(days=1)


def snap(
    name: str, age: timedelta | None, *, ready: bool = True, database: str = "orders", **changes: Any
) -> SnapshotRecord:
    """A managed snapshot ``age`` old (negative: created in the future); ready unless told otherwise."""
    fields: dict[str, Any] = {
        "name": name,
        "database": database,
        "created": None if age is None else NOW - age,
        "ready": ready,
        "failed": False,
        "managed": True,
    }
    return SnapshotRecord(**(fields | changes))


def daily(count: int, database: str = "orders") -> list[SnapshotRecord]:
    """``count`` ready daily backups, ``d0`` the newest."""
    return [snap(f"{database}-d{i}", i * DAY + timedelta(minutes=30), database=database) for i in range(count)]


def deleted(history: list[SnapshotRecord], policy: RetentionPolicy, now: datetime = NOW) -> list[str]:
    return [d.name for d in plan_retention(history, policy, now)]


KEEP_3 = RetentionPolicy(keep_last=3)


@pytest.mark.parametrize(
    ("history", "policy", "expected"),
    [
        (daily(5), KEEP_3, ["orders-d4", "orders-d3"]),
        (daily(3), KEEP_3, []),
        (daily(5), RetentionPolicy(keep_last=7), []),
        (daily(5), RetentionPolicy(max_age=2 * DAY), ["orders-d4", "orders-d3", "orders-d2"]),
        # Everything expired: the newest stays anyway, and minReady more.
        (daily(5), RetentionPolicy(max_age=timedelta(hours=1)), ["orders-d4", "orders-d3", "orders-d2", "orders-d1"]),
        (daily(5), RetentionPolicy(max_age=timedelta(hours=1), min_ready=3), ["orders-d4", "orders-d3"]),
        (daily(5), RetentionPolicy(keep_last=1, min_ready=2), ["orders-d4", "orders-d3", "orders-d2"]),
        # keepLast and maxAge each keep: the newest one by count, two more by age.
        (daily(5), RetentionPolicy(keep_last=1, max_age=3 * DAY), ["orders-d4", "orders-d3"]),
        (
            daily(5),
            RetentionPolicy(keep_last=0, max_age=DAY + timedelta(hours=1)),
            ["orders-d4", "orders-d3", "orders-d2"],
        ),
        # Exactly maxAge old is still within it.
        (daily(3), RetentionPolicy(max_age=DAY + timedelta(minutes=30)), ["orders-d2"]),
        # minReady below 1 (the API rejects it) still keeps the newest.
        (daily(3), RetentionPolicy(max_age=timedelta(minutes=10), min_ready=0), ["orders-d2", "orders-d1"]),
        # No rule at all (the API rejects it): nothing is deleted.
        (daily(5), RetentionPolicy(), []),
        (daily(5), RetentionPolicy(keep_last=0), []),
        ([], KEEP_3, []),
    ],
)
def test_keep_rules(history: list[SnapshotRecord], policy: RetentionPolicy, expected: list[str]) -> None:
    assert deleted(history, policy) == expected


@pytest.mark.parametrize(
    ("extra", "policy", "expected"),
    [
        # Foreign snapshots are neither deleted nor counted.
        (snap("velero-old", 9 * DAY, managed=False), KEEP_3, ["orders-d4", "orders-d3"]),
        (snap("velero-new", timedelta(0), managed=False), KEEP_3, ["orders-d4", "orders-d3"]),
        # Failed snapshots never count as backups, and go once a newer ready one exists.
        (snap("failed-old", 9 * DAY, ready=False, failed=True), KEEP_3, ["failed-old", "orders-d4", "orders-d3"]),
        (snap("failed-mid", 1 * DAY, ready=False, failed=True), KEEP_3, ["orders-d4", "orders-d3", "failed-mid"]),
        (snap("failed-new", timedelta(minutes=1), ready=False, failed=True), KEEP_3, ["orders-d4", "orders-d3"]),
        (snap("failed-ready", timedelta(minutes=1), ready=True, failed=True), KEEP_3, ["orders-d4", "orders-d3"]),
        # A failed snapshot already being deleted is not deleted again.
        (snap("failed-going", 9 * DAY, failed=True, deleting=True), KEEP_3, ["orders-d4", "orders-d3"]),
        # In-progress snapshots are never deleted, however old.
        (snap("stuck", 30 * DAY, ready=False), KEEP_3, ["orders-d4", "orders-d3"]),
        # Clock skew: a snapshot from the future does not push the real newest ones out of keepLast.
        (snap("future", -timedelta(hours=2)), KEEP_3, ["orders-d4", "orders-d3"]),
        (snap("undated", None), KEEP_3, ["orders-d4", "orders-d3"]),
        # A snapshot being deleted is no backup: d0..d2 stay, the fourth newest goes as before.
        (snap("going", timedelta(minutes=1), deleting=True), KEEP_3, ["orders-d4", "orders-d3"]),
        # Another database's snapshots do not count for this one.
        (snap("users-d0", timedelta(0), database="users"), KEEP_3, ["orders-d4", "orders-d3"]),
    ],
)
def test_what_does_not_count(extra: SnapshotRecord, policy: RetentionPolicy, expected: list[str]) -> None:
    assert deleted([*daily(5), extra], policy) == expected


@pytest.mark.parametrize(
    "history",
    [
        [snap("failed", 2 * DAY, failed=True)],
        [snap("failed", 2 * DAY, failed=True), snap("future", -DAY)],  # only a future-dated ready one: keep
        [snap("failed", 2 * DAY, failed=True), snap("other", DAY, database="users")],
        [snap("failed", 2 * DAY, failed=True), snap("foreign", DAY, managed=False)],
        [snap("failed", 2 * DAY, failed=True), snap("same-time", 2 * DAY)],
    ],
)
def test_failed_snapshots_stay_until_a_newer_ready_backup_exists(history: list[SnapshotRecord]) -> None:
    assert deleted(history, RetentionPolicy(keep_last=1)) == []


def test_skewed_snapshots_are_never_deleted_even_when_expired_by_policy() -> None:
    skewed = [snap("future-failed", -DAY, failed=True), snap("future-ready", -DAY)]
    assert deleted([*daily(3), *skewed], RetentionPolicy(max_age=timedelta(hours=1))) == ["orders-d2", "orders-d1"]


def test_deletions_say_why() -> None:
    history = [*daily(2), snap("failed", 3 * DAY, failed=True)]
    assert plan_retention(history, RetentionPolicy(keep_last=1, max_age=DAY), NOW) == [
        Deletion(
            "failed",
            "orders",
            Reason.FAILED,
            "failed snapshot superseded by ready snapshot orders-d0 (2026-12-10T13:00:00Z)",
        ),
        Deletion(
            "orders-d1",
            "orders",
            Reason.RETENTION,
            "outside retention: not among the newest 1 and older than 1d (1d30m)",
        ),
    ]


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_retention(daily(2), KEEP_3, NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("spec", "policy"),
    [
        (Retention(keep_last=7), RetentionPolicy(keep_last=7)),
        (Retention(max_age="30d", min_ready=2), RetentionPolicy(max_age=30 * DAY, min_ready=2)),
        (Retention(keep_last=0, max_age="36h"), RetentionPolicy(keep_last=0, max_age=timedelta(hours=36))),
    ],
)
def test_policy_from_spec(spec: Retention, policy: RetentionPolicy) -> None:
    assert RetentionPolicy.from_spec(spec) == policy


# -- properties over random histories ----------------------------------------------------------------------------

DATABASES = ("orders", "users")


def often(draw: st.DrawFn, tenths: int) -> bool:
    """True in about ``tenths``/10 of draws, so interesting histories (several ready backups) are common."""
    return draw(st.integers(0, 9)) < tenths


@st.composite
def records(draw: st.DrawFn) -> list[SnapshotRecord]:
    """Histories with ties, failures, stuck snapshots, deletions in flight, foreign, undated and future snapshots."""
    found = []
    for i in range(draw(st.integers(0, 14))):
        kind = draw(st.integers(0, 9))
        if kind < 7:
            age: timedelta | None = timedelta(hours=draw(st.integers(0, 40 * 24)))  # whole hours: ties happen
        elif kind < 9:
            age = -timedelta(seconds=draw(st.integers(1, 48 * 3600)))  # clock skew: created in the future
        else:
            age = None
        found.append(
            snap(
                f"s{i:02}",
                age,
                database=draw(st.sampled_from(DATABASES)),
                ready=often(draw, 8),
                failed=often(draw, 2),
                managed=often(draw, 8),
                deleting=often(draw, 1),
            )
        )
    return found


policies = st.builds(
    RetentionPolicy,
    keep_last=st.one_of(st.none(), st.integers(0, 6)),
    max_age=st.one_of(st.none(), st.integers(1, 30 * 24).map(lambda h: timedelta(hours=h))),
    min_ready=st.integers(1, 4),
)


def trusted(history: list[SnapshotRecord], database: str) -> list[SnapshotRecord]:
    """What retention may act on for one database: managed, dated, not in the future."""
    return [s for s in history if s.managed and s.database == database and s.created is not None and s.created <= NOW]


def newest_first(history: list[SnapshotRecord]) -> list[SnapshotRecord]:
    return sorted((s for s in history if s.usable), key=lambda s: (s.created, s.name), reverse=True)


@settings(max_examples=400)
@given(records(), policies)
def test_retention_rules_hold_for_any_history(history: list[SnapshotRecord], policy: RetentionPolicy) -> None:
    plan = plan_retention(history, policy, NOW)
    gone = {d.name for d in plan}
    assert len(gone) == len(plan), "a snapshot is deleted at most once"
    by_name = {s.name: s for s in history}
    event(f"deletions: {min(len(plan), 3)}{'+' if len(plan) >= 3 else ''}")
    event(f"failed deleted: {any(d.reason is Reason.FAILED for d in plan)}")
    for d in plan:
        s = by_name[d.name]
        assert s.managed, "only snapshots the operator created"
        assert s.created is not None and s.created <= NOW, "never a snapshot whose time is unknown or in the future"
        assert not s.deleting
        assert d.database == s.database
        assert (d.reason is Reason.FAILED) == s.failed
        assert s.usable or s.failed, "in-progress snapshots are never deleted"
    for database in DATABASES:
        mine = trusted(history, database)
        ready = newest_first(mine)
        kept = [s for s in ready if s.name not in gone]
        if ready:
            assert ready[0].name not in gone, "never the newest ready snapshot"
        assert len(kept) >= min(policy.min_ready, len(ready)), "never fewer than minReady ready snapshots"
        for rank, s in enumerate(ready):
            assert s.created is not None
            within = (
                rank < max(policy.keep_last or 0, policy.min_ready)
                or (policy.max_age is not None and NOW - s.created <= policy.max_age)
                or (not policy.keep_last and policy.max_age is None)
            )
            assert (s.name not in gone) == within, "kept exactly when a rule keeps it"
        if kept:
            oldest_kept = min(s.created for s in kept if s.created is not None)
            assert all(s.created is not None and s.created <= oldest_kept for s in ready if s.name in gone), (
                "newer data is never deleted while older data is kept"
            )
        for s in mine:
            if s.failed and s.name in gone:
                assert s.created is not None
                assert any(r.created is not None and r.created > s.created for r in kept), (
                    "a failed snapshot goes only once a newer ready one exists (and stays)"
                )


@given(records(), policies)
def test_applying_the_plan_leaves_nothing_more_to_delete(
    history: list[SnapshotRecord], policy: RetentionPolicy
) -> None:
    gone = set(deleted(history, policy))
    assert deleted([s for s in history if s.name not in gone], policy) == []


@given(records(), policies, st.randoms(use_true_random=False))
def test_order_of_the_listing_does_not_matter(
    history: list[SnapshotRecord], policy: RetentionPolicy, rnd: random.Random
) -> None:
    shuffled = list(history)
    rnd.shuffle(shuffled)
    assert plan_retention(shuffled, policy, NOW) == plan_retention(history, policy, NOW)


@given(records(), records(), policies)
def test_skewed_undated_and_foreign_snapshots_change_nothing_else(
    history: list[SnapshotRecord], others: list[SnapshotRecord], policy: RetentionPolicy
) -> None:
    """Adding snapshots retention must not trust leaves every decision about the others as it was."""
    untrusted = [replace(s, name=f"f{s.name}", managed=False) for s in others]
    untrusted += [replace(s, name=f"u{s.name}", created=None) for s in others]
    untrusted += [
        replace(s, name=f"k{s.name}", created=NOW + abs(NOW - s.created) + timedelta(seconds=1))
        for s in others
        if s.created is not None
    ]
    event(f"untrusted: {min(len(untrusted), 5)}")
    assert plan_retention([*history, *untrusted], policy, NOW) == plan_retention(history, policy, NOW)


@given(records(), policies)
def test_databases_are_decided_independently(history: list[SnapshotRecord], policy: RetentionPolicy) -> None:
    together = plan_retention(history, policy, NOW)
    apart = [d for db in DATABASES for d in plan_retention([s for s in history if s.database == db], policy, NOW)]
    assert together == apart
