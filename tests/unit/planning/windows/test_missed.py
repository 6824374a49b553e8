"""Missed MaintenanceWindow occurrences: reported only when they left work undone, the open one caught up, an
upgrade from a status without `handledThrough` reporting nothing old."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.windows.missed import decide, handled_since
from maintenance_operator.planning.windows.restarts import Policy
from maintenance_operator.schedule import WindowSchedule, id_start
from tests.unit.planning.factories import pending_workload, workload

DAILY = WindowSchedule.parse("0 14 * * *", "1h")
SINCE = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # the last occurrence the operator saw open
IF_PENDING, ALWAYS = Policy(), Policy(always=True)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def ids(day_numbers: tuple[int, ...]) -> list[str]:
    return [f"202612{n:02}T1400Z" for n in day_numbers]


PENDING_LONG = pending_workload("old", since=at(1, 9))
PENDING_SINCE_3RD = pending_workload("new", since=at(3, 16))


@pytest.mark.parametrize(
    ("targets", "policy", "now", "missed", "catch_up"),
    [
        # Down from the 1st until after the 4th closed: three occurrences with that target pending were missed.
        ([PENDING_LONG], IF_PENDING, at(4, 16), (2, 3, 4), None),
        # Back inside the 4th: it is caught up, not missed.
        ([PENDING_LONG], IF_PENDING, at(4, 14, 30), (2, 3), "20261204T1400Z"),
        # Announced on the 3rd after that day's window: only the 4th would have handled it.
        ([PENDING_SINCE_3RD], IF_PENDING, at(4, 16), (4,), None),
        # Nothing pending: nothing undone, nothing missed (the catch-up still opens: the task finds no work).
        ([workload("idle")], IF_PENDING, at(4, 16), (), None),
        ([], IF_PENDING, at(4, 14, 30), (), "20261204T1400Z"),
        # policy: Always has work in every occurrence with any target.
        ([workload("idle")], ALWAYS, at(3, 16), (2, 3), None),
        ([], ALWAYS, at(3, 16), (), None),
    ],
)
def test_missed_only_when_work_was_left_undone(
    targets: list[Workload], policy: Policy, now: datetime, missed: tuple[int, ...], catch_up: str | None
) -> None:
    decision = decide(DAILY, SINCE, targets, policy, set(), now, now)
    assert [o.id for o in decision.missed] == ids(missed)
    assert (decision.catch_up.id if decision.catch_up else None) == catch_up
    assert decision.handled_through == now.replace(hour=14, minute=0), "each occurrence is decided once"


def test_an_occurrence_a_target_was_restarted_in_was_run_not_missed() -> None:
    decision = decide(DAILY, SINCE, [PENDING_LONG], IF_PENDING, {"20261203T1400Z"}, at(4, 16), at(4, 16))
    assert [o.id for o in decision.missed] == ids((2, 4))


def test_deciding_again_after_handled_through_moved_reports_nothing_twice() -> None:
    first = decide(DAILY, SINCE, [PENDING_LONG], IF_PENDING, set(), at(4, 14, 30), at(4, 14, 30))
    again = decide(DAILY, first.handled_through, [PENDING_LONG], IF_PENDING, set(), at(4, 16), at(4, 14, 30))
    assert (again.missed, again.catch_up) == ((), None)


def test_a_window_created_after_an_occurrence_misses_nothing_before_its_creation() -> None:
    assert decide(DAILY, at(2, 15), [PENDING_LONG], IF_PENDING, set(), at(3, 16), at(3, 16)).missed[0].id == (
        "20261203T1400Z"
    )


def test_suspended_windows_miss_nothing() -> None:
    decision = decide(replace(DAILY, suspend=True), SINCE, [PENDING_LONG], IF_PENDING, set(), at(4, 16), at(4, 16))
    assert (decision.missed, decision.catch_up, decision.handled_through) == ((), None, at(4, 14))


def test_an_occurrence_that_opened_while_the_operator_ran_is_no_catch_up() -> None:
    """The operator was running when the 4th opened: its ordinary run, not a late one."""
    running = decide(DAILY, SINCE, [PENDING_LONG], IF_PENDING, set(), at(4, 14, 1), at(1, 20))
    assert running.catch_up is None and [o.id for o in running.missed] == ids((2, 3))


@pytest.mark.parametrize(
    ("through", "last_run", "created", "expected"),
    [
        (at(3, 14), "20261201T1400Z", at(1, 9), at(3, 14)),
        # Upgrade: no handledThrough yet; the last run stands in (scheduled or run-now id), else the creation.
        (None, "20261202T1400Z", at(1, 9), at(2, 14)),
        (None, "20261202T163005Z", at(1, 9), datetime(2026, 12, 2, 16, 30, 5, tzinfo=UTC)),
        (None, None, at(1, 9), at(1, 9)),
        (None, "garbage", None, None),
    ],
)
def test_handled_since(
    through: datetime | None, last_run: str | None, created: datetime | None, expected: datetime | None
) -> None:
    assert handled_since(through, last_run, created) == expected


def test_occurrence_start_reads_both_id_forms() -> None:
    assert id_start("20261201T1400Z") == at(1, 14)
    assert id_start("20261201T140005Z") == at(1, 14) + timedelta(seconds=5)
    assert id_start(None) is None
