"""The ManagedDatabase statuses `database_status` writes fit the CRD's `status` schema (see `crd_status`)."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from maintenance_operator.api import names
from maintenance_operator.api.database import BackupRef, PendingMaintenance
from maintenance_operator.planning.databases.status import WindowSlot, database_status
from maintenance_operator.planning.databases.versions import Refusal, Refused, Unchanged, UpgradePending
from maintenance_operator.planning.targets.workloads import Rollout
from maintenance_operator.planning.windows.status import not_ready
from tests.unit.planning.crd_status import NOW, Status, check
from tests.unit.planning.factories import WINDOW_START, pending_workload, workload

PG = "docker.io/library/postgres"
SLOT = WindowSlot("weekly", WINDOW_START, suspended=True)


def database(**changes: Any) -> Status:
    sts = workload("orders", kind="StatefulSet", replicas=1, image=f"{PG}:16.4", container="postgresql")
    args: dict[str, Any] = {
        "previous": {},
        "generation": 3,
        "title": "PostgreSQL",
        "live": sts,
        "decision": Unchanged("16.4"),
        "apply_immediately": False,
        "slot": SLOT,
        "endpoint": "orders.shop.svc:5432",
        "problem": None,
        "now": NOW,
    }
    return database_status(**(args | changes))


def _waiting_upgrade() -> Status:
    live = pending_workload(
        "orders", kind="StatefulSet", reason="version update 16.4 -> 16.6; kernel patch", image=f"{PG}:16.4"
    )
    return database(live=live, decision=UpgradePending("16.4", "16.6"))


def _restored() -> Status:
    """Restored from a snapshot, then backed up: its newest snapshot and its next backup window."""
    return database(
        previous={"currentVersion": "16.4"},
        last_backup=BackupRef(time=datetime(2026, 11, 30, 3, 0, 12, tzinfo=UTC), snapshot="orders-data-20261130"),
        next_backup_window=datetime(2026, 12, 1, 3, tzinfo=UTC),
    )


DATABASE_CASES: dict[str, Callable[[], Status]] = {
    "provisioning": lambda: database(live=None, slot=None),
    "ready": database,
    "upgrade waiting for a window": _waiting_upgrade,
    "upgrading now": lambda: database(
        live=workload("orders", kind="StatefulSet", replicas=1, rollout=Rollout.PROGRESSING),
        decision=UpgradePending("16.4", "16.6"),
        apply_immediately=True,
        previous=database(),
    ),
    "restored": _restored,
    "refused version": lambda: database(decision=Refused(Refusal.MAJOR_VERSION_CHANGE, "16 -> 17 needs a dump")),
    "restore snapshot not ready": lambda: database(live=None, problem=("RestoreSnapshotNotReady", "not ready yet")),
    "422 stopped the pass": lambda: not_ready(database(), "Refused", "the API server refused it", NOW, 3),
}


@pytest.mark.parametrize("case", DATABASE_CASES, ids=str)
def test_managed_database_status_fits_the_crd(case: str) -> None:
    check(names.MANAGED_DATABASE, DATABASE_CASES[case]())


TODAY = datetime(2026, 12, 1).isoformat()  # no offset: not RFC 3339
WRONG: dict[str, Callable[[Status], None]] = {
    "an undeclared enum value": lambda s: s.update(phase="Restoring"),
    "a malformed time": lambda s: s["lastBackup"].update(time=TODAY),
    "an undeclared nested field": lambda s: s["lastBackup"].update(size="10Gi"),
}


@pytest.mark.parametrize("case", WRONG, ids=str)
def test_the_check_refuses_what_the_crd_would_prune_or_reject(case: str) -> None:
    status = _restored()
    check(names.MANAGED_DATABASE, status)
    WRONG[case](status)
    with pytest.raises(jsonschema.ValidationError):
        check(names.MANAGED_DATABASE, status)


def test_a_builder_naming_an_undeclared_field_fails_where_the_model_would_drop_it() -> None:
    """`extra="ignore"` tolerates what a newer operator wrote; what this one builds must be declared."""
    with pytest.raises(TypeError, match="PendingMaintenance has no field to_versoin"):
        PendingMaintenance.of(reason="version update", to_versoin="16.6")
    assert PendingMaintenance.of(reason="r", window=None).written() == {"reason": "r"}, "None: not written"
