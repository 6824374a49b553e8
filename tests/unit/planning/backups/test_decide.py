"""One BackupWindow pass as a table: what the window's status, the schedule, the databases and the snapshots say,
and what `decide` makes of it (snapshots to create or retry, deletions, missed reports, status, next wake)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from maintenance_operator.api.windows import BackupWindowSpec
from maintenance_operator.planning.backups.decide import DOWN, PROGRESS_CHECK, RETRY_EVERY, Decision, decide
from maintenance_operator.planning.backups.inputs import BackupInputs, look
from maintenance_operator.planning.backups.retention import RetentionPolicy
from maintenance_operator.planning.backups.snapshots import SnapshotRecord, snapshot_name
from maintenance_operator.planning.windows import occurrence

WINDOW = "daily"
WS = BackupWindowSpec.model_validate({"schedule": "0 13 * * *", "duration": "1h", "selector": {}}).window_schedule()
DAY = datetime(2026, 12, 1, tzinfo=UTC)
OPEN = DAY + timedelta(hours=13, minutes=5)  # in the 13:00-14:00 occurrence
CLOSED = DAY + timedelta(hours=12)  # before it
TODAY, YESTERDAY = "20261201T1300Z", "20261130T1300Z"
CREATED = "2026-11-01T00:00:00Z"


def snap(
    db: str, occurrence_id: str, *, ready: bool = True, failed: bool = False, created: datetime = OPEN
) -> SnapshotRecord:
    return SnapshotRecord(
        name=snapshot_name(db, f"data-{db}-0", occurrence_id),
        database=db,
        created=created,
        ready=ready,
        failed=failed,
        managed=True,
        occurrence=occurrence_id,
        window=WINDOW,
        error="disk on fire" if failed else None,
    )


@dataclass
class Row:
    now: datetime
    records: Sequence[SnapshotRecord] | None = ()
    status: Mapping[str, Any] = field(default_factory=lambda: {"handledThrough": "2026-11-30T13:00:00Z"})
    databases: tuple[str, ...] = ("orders", "users")
    rolling_out: frozenset[str] = frozenset()
    retention: RetentionPolicy | None = None
    retried: Mapping[str, datetime] = field(default_factory=dict)


def run(row: Row) -> Decision:
    current = occurrence.current(WS, row.status, None, row.now)[0]
    inputs = BackupInputs(
        window=WINDOW,
        ws=WS,
        look=look(WS, row.status, CREATED, current, row.now),
        status=row.status,
        generation=1,
        databases=row.databases,
        with_volume=frozenset(row.databases),
        rolling_out=row.rolling_out,
        records=row.records,
        retention=row.retention,
        retried=row.retried,
    )
    return decide(inputs, row.now)


def names(records: Sequence[SnapshotRecord]) -> list[str]:
    return [r.name for r in records]


RUNNING = {"handledThrough": "2026-11-30T13:00:00Z", "lastRun": {"occurrence": TODAY, "result": "Running"}}
AFTER = DAY + timedelta(hours=14, minutes=5)


@pytest.mark.parametrize(
    ("row", "created", "retried", "deleted", "missed", "result", "wake"),
    [
        pytest.param(Row(CLOSED, records=None), [], [], [], [], None, DAY + timedelta(hours=13), id="closed"),
        pytest.param(
            Row(OPEN),
            ["orders", "users"],
            [],
            [],
            [],
            "Running",
            OPEN + PROGRESS_CHECK,
            id="open with volumes",
        ),
        pytest.param(
            Row(OPEN, rolling_out=frozenset({"users"})),
            ["orders"],
            [],
            [],
            [],
            "Running",
            OPEN + PROGRESS_CHECK,
            id="a database mid-rollout",
        ),
        pytest.param(
            Row(OPEN, records=[snap("orders", TODAY), snap("users", TODAY, ready=False, failed=True)]),
            [],
            ["users"],
            [],
            [],
            "Running",
            OPEN + PROGRESS_CHECK,
            id="a failed snapshot retried",
        ),
        pytest.param(
            Row(
                OPEN,
                records=[snap("orders", TODAY), snap("users", TODAY, ready=False, failed=True)],
                retried={snapshot_name("users", "data-users-0", TODAY): OPEN - timedelta(seconds=3)},
            ),
            [],
            [],
            [],
            [],
            "Running",
            OPEN + PROGRESS_CHECK,
            id="a failed snapshot held back by RETRY_EVERY",
        ),
        pytest.param(
            Row(OPEN, records=[snap("orders", TODAY), snap("users", TODAY)]),
            [],
            [],
            [],
            [],
            "Succeeded",
            DAY + timedelta(hours=14),
            id="open and complete",
        ),
        pytest.param(
            Row(AFTER, records=[snap("orders", TODAY)], status=RUNNING),
            [],
            [],
            [],
            [(TODAY, "no ready snapshot of users")],
            "PartiallyFailed",
            DAY + timedelta(days=1, hours=13),
            id="finishing run",
        ),
        pytest.param(
            Row(AFTER, records=[], status={"handledThrough": "2026-11-29T13:00:00Z"}),
            [],
            [],
            [],
            [(YESTERDAY, DOWN), (TODAY, DOWN)],
            "Missed",
            DAY + timedelta(days=1, hours=13),
            id="missed while down",
        ),
        pytest.param(
            Row(
                AFTER,
                records=[snap("orders", YESTERDAY, created=OPEN - timedelta(days=1)), snap("orders", TODAY)],
                status={"handledThrough": "2026-12-01T13:00:00Z"},
                retention=RetentionPolicy(keep_last=1),
            ),
            [],
            [],
            ["orders-data-orders-0-20261130t1300z"],
            [],
            None,
            DAY + timedelta(days=1, hours=13),
            id="retention due",
        ),
    ],
)
def test_a_pass(
    row: Row,
    created: list[str],
    retried: list[str],
    deleted: list[str],
    missed: list[tuple[str, str]],
    result: str | None,
    wake: datetime,
) -> None:
    decision = run(row)
    assert [r.database for r in decision.create] == created
    assert [r.name.split("-")[0] for r in decision.retry] == retried
    assert [d.name for d in decision.deletions] == deleted
    assert [(m.occurrence, m.why) for m in decision.missed] == missed
    assert (decision.status.get("lastRun") or {}).get("result") == result
    assert decision.wake_at == wake
    today = DAY + timedelta(hours=13)
    assert decision.next_start == (today if row.now < today else today + timedelta(days=1))


def test_a_finishing_run_abandons_unfinished_attempts_and_advances_handled_through() -> None:
    records = [snap("orders", TODAY, ready=False), snap("users", TODAY, ready=False, failed=True)]
    decision = run(Row(AFTER, records=records, status=RUNNING))
    assert list(decision.abandon) == names(records)
    assert decision.status["lastRun"]["result"] == "Failed"
    assert decision.status["handledThrough"] == "2026-12-01T13:00:00Z"


def test_the_open_occurrence_names_the_databases_being_snapshotted() -> None:
    decision = run(Row(OPEN, records=[snap("orders", TODAY, ready=False)], databases=("orders", "users")))
    assert decision.snapshotting == {"orders", "users"}, "one in progress, one to create"
    assert not decision.saw_ready


def test_retries_are_timed_and_the_clock_forgets_old_ones() -> None:
    failed = snap("users", TODAY, ready=False, failed=True)
    old = {"gone": OPEN - RETRY_EVERY}
    decision = run(Row(OPEN, records=[failed], databases=("users",), retried=old))
    assert decision.retried == {failed.name: OPEN}
    assert decision.retry[0].error == "disk on fire"


def test_each_database_s_newest_ready_snapshot_is_counted_once() -> None:
    older = snap("orders", YESTERDAY, created=OPEN - timedelta(days=1))
    newest = snap("orders", TODAY)
    first = run(Row(CLOSED, records=[older, newest], databases=("orders",)))
    assert first.newly_ready == (newest.name,)
    inputs_again = Row(CLOSED, records=[older, newest], databases=("orders",))
    again = decide(
        BackupInputs(
            window=WINDOW,
            ws=WS,
            look=look(WS, inputs_again.status, CREATED, None, CLOSED),
            status=inputs_again.status,
            generation=1,
            databases=("orders",),
            records=[older, newest],
            recorded=first.recorded,
        ),
        CLOSED,
    )
    assert again.newly_ready == ()


def test_nothing_listed_forgets_nothing() -> None:
    assert run(Row(CLOSED, records=None)).forget is None
    forget = run(Row(OPEN, records=[])).forget
    assert forget is not None
    assert snapshot_name("orders", "data-orders-0", TODAY) in forget.snapshots
    assert forget.reportable(TODAY) and not forget.reportable("20261101T1300Z")
