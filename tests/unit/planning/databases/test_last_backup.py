"""A database's lastBackup: its newest snapshot one can restore from, else what its status said."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from maintenance_operator.api.database import BackupRef
from maintenance_operator.planning.backups.snapshots import SnapshotRecord, label_value
from maintenance_operator.planning.databases.backups import last_backup

T = datetime(2026, 11, 30, 3, tzinfo=UTC)
LONG = "a-database-name-longer-than-any-label-value-may-be-" + "x" * 40
PREVIOUS = {"time": "2026-11-20T03:00:00Z", "snapshot": "orders-data-old"}
KEPT = BackupRef(time=datetime(2026, 11, 20, 3, tzinfo=UTC), snapshot="orders-data-old")


def snap(name: str, *, database: str | None = "orders", hours: int = 0, **changes: Any) -> SnapshotRecord:
    fields: dict[str, Any] = {
        "name": name,
        "database": label_value(database) if database is not None else None,
        "created": T + timedelta(hours=hours),
        "ready": True,
        "failed": False,
        "managed": True,
    }
    return SnapshotRecord(**(fields | changes))


CASES: dict[str, tuple[str, list[SnapshotRecord], dict[str, Any] | None, BackupRef | None]] = {
    "nothing, ever": ("orders", [], None, None),
    "the newest of two ready": (
        "orders",
        [snap("a", hours=0), snap("b", hours=24)],
        PREVIOUS,
        BackupRef(time=T + timedelta(hours=24), snapshot="b"),
    ),
    "a newer failed one does not count": (
        "orders",
        [snap("a"), snap("b", hours=24, failed=True)],
        None,
        BackupRef(time=T, snapshot="a"),
    ),
    "ready and failed both: failed": ("orders", [snap("a", failed=True)], None, None),
    "still being taken": ("orders", [snap("a", ready=False)], PREVIOUS, KEPT),
    "being deleted": ("orders", [snap("a", deleting=True)], PREVIOUS, KEPT),
    "no creation time": ("orders", [snap("a", created=None)], None, None),
    "another database's": ("orders", [snap("a", database="catalog")], PREVIOUS, KEPT),
    "unlabelled": ("orders", [snap("a", database=None)], None, None),
    "a long name matches its label value": (LONG, [snap("a", database=LONG)], None, BackupRef(time=T, snapshot="a")),
    "a same-time tie: the last name": ("orders", [snap("b"), snap("a")], None, BackupRef(time=T, snapshot="b")),
    "a malformed previous value is dropped": ("orders", [], {"time": "yesterday", "snapshot": "s"}, None),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_last_backup(case: str) -> None:
    database, records, previous, expected = CASES[case]
    assert last_backup(database, records, previous) == expected
