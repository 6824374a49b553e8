"""The database's StatefulSet annotations and status: upgrades wait for a window, refusals touch nothing."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from maintenance_operator.api import names
from maintenance_operator.api.database import BackupRef
from maintenance_operator.planning.databases.quantities import parse_quantity
from maintenance_operator.planning.databases.status import (
    WindowSlot,
    announced_done,
    database_status,
    image_version,
    maintenance_annotations,
    phase,
)
from maintenance_operator.planning.databases.versions import (
    Refusal,
    Refused,
    Unchanged,
    UpgradePending,
    VersionDecision,
)
from maintenance_operator.planning.targets.pending import done_by_restart, pending
from maintenance_operator.planning.targets.workloads import Rollout, Workload
from tests.unit.planning.factories import workload

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
UPGRADE = UpgradePending("16.4", "16.6")
PG = "docker.io/library/postgres"


def sts(**changes: Any) -> Workload:
    return workload("orders", kind="StatefulSet", replicas=1, image=f"{PG}:16.4", container="postgresql", **changes)


@pytest.mark.parametrize(
    ("image", "version"),
    [
        (f"{PG}:16.4", "16.4"),
        ("registry.local:5000/postgres:16.6", "16.6"),
        ("redis:7.2.5@sha256:abc", "7.2.5"),
        ("registry.local:5000/postgres", None),
        (None, None),
    ],
)
def test_image_version(image: str | None, version: str | None) -> None:
    assert image_version(image) == version


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1Gi", Decimal(2**30)),
        ("1.5Ti", Decimal("1.5") * 2**40),
        ("500M", Decimal(500 * 10**6)),
        ("10", 10),
        ("x", None),
    ],
)
def test_parse_quantity(text: str, value: Decimal | None) -> None:
    assert parse_quantity(text) == value


def test_pending_upgrade_is_announced_with_its_target_image() -> None:
    out = maintenance_annotations(UPGRADE, False, None, None, None, "postgresql", NOW)
    assert out == {
        names.ANNOTATION_TARGET_IMAGE: f"{PG}:16.6",
        names.ANNOTATION_REQUIRED: "version update 16.4 -> 16.6",
        names.ANNOTATION_REQUIRED_SINCE: "2026-11-25T12:00:00Z",
    }


@pytest.mark.parametrize("decision", [Unchanged("16.4"), Refused(Refusal.MAJOR_VERSION_CHANGE, "no"), UPGRADE], ids=str)
def test_nothing_announced_without_a_waiting_upgrade_or_announcement(decision: VersionDecision) -> None:
    apply_now = isinstance(decision, UpgradePending)  # applyImmediately: no window involved
    assert maintenance_annotations(decision, apply_now, None, None, None, "postgresql", NOW) == {}


def test_since_is_kept_while_the_reason_is_unchanged() -> None:
    earlier = NOW - timedelta(days=2)
    live = sts(required="version update 16.4 -> 16.6", required_since=earlier)
    out = maintenance_annotations(UPGRADE, False, None, None, live, "postgresql", NOW)
    assert out[names.ANNOTATION_REQUIRED_SINCE] == "2026-11-24T12:00:00Z"[:0] + "2026-11-23T12:00:00Z"


def test_announcement_on_the_database_is_copied_with_its_since() -> None:
    since = NOW - timedelta(hours=3)
    out = maintenance_annotations(Unchanged("16.4"), False, "database-security", since, None, "postgresql", NOW)
    assert out == {
        names.ANNOTATION_REQUIRED: "database-security",
        names.ANNOTATION_REQUIRED_SINCE: "2026-11-25T09:00:00Z",
    }
    both = maintenance_annotations(UPGRADE, False, "database-security", since, None, "postgresql", NOW)
    assert both[names.ANNOTATION_REQUIRED] == "version update 16.4 -> 16.6; database-security"


def test_a_restart_alone_never_completes_an_upgrade() -> None:
    since = NOW - timedelta(hours=1)
    waiting = sts(
        required="version update 16.4 -> 16.6",
        required_since=since,
        restarted_at=NOW,
        target_image=f"{PG}:16.6",
    )
    assert not done_by_restart(waiting)
    assert pending(waiting) is not None
    installed = replace(waiting, image=f"{PG}:16.6")
    assert pending(installed) is None


@pytest.mark.parametrize(
    ("live", "current", "blocked", "expected"),
    [
        (None, None, False, "Provisioning"),
        (None, None, True, "Failed"),
        ("progressing", None, False, "Provisioning"),
        ("progressing", "16.4", False, "Upgrading"),
        ("complete", "16.4", False, "Ready"),
    ],
)
def test_phase(live: str | None, current: str | None, blocked: bool, expected: str) -> None:
    rollout = {"progressing": Rollout.PROGRESSING, "complete": Rollout.COMPLETE}
    w = sts(rollout=rollout[live]) if live else None
    assert phase(w, current, blocked) == expected


def test_status_lists_the_upgrade_with_its_window() -> None:
    live = sts(required="version update 16.4 -> 16.6", required_since=NOW, target_image=f"{PG}:16.6")
    slot = WindowSlot("weekly", datetime(2026, 12, 1, 14, tzinfo=UTC))
    out = database_status(
        previous={},
        generation=2,
        title="PostgreSQL",
        live=live,
        decision=UPGRADE,
        apply_immediately=False,
        slot=slot,
        endpoint="orders.shop.svc:5432",
        problem=None,
        now=NOW,
    )
    assert out["phase"] == "Ready" and out["currentVersion"] == "16.4"
    assert out["pendingMaintenance"] == [
        {
            "reason": "version update 16.4 -> 16.6",
            "fromVersion": "16.4",
            "toVersion": "16.6",
            "window": "weekly",
            "windowStart": "2026-12-01T14:00:00Z",
        }
    ]
    assert out["pendingSummary"] == "version update 16.4 -> 16.6: in window weekly at 2026-12-01T14:00:00Z"
    kinds = {c["type"]: (c["status"], c["reason"]) for c in out["conditions"]}
    assert kinds == {
        "Ready": ("True", "Running"),
        "UpgradePending": ("True", "WaitingForWindow"),
        "VersionAccepted": ("True", "Accepted"),
    }


def test_refused_version_keeps_the_database_ready_and_says_why() -> None:
    out = database_status(
        previous={},
        generation=3,
        title="PostgreSQL",
        live=sts(),
        decision=Refused(Refusal.MAJOR_VERSION_CHANGE, "needs a dump"),
        apply_immediately=False,
        slot=None,
        endpoint="e",
        problem=None,
        now=NOW,
        last_backup=BackupRef(time=NOW - timedelta(hours=9), snapshot="s"),
    )
    accepted = next(c for c in out["conditions"] if c["type"] == "VersionAccepted")
    assert (accepted["status"], accepted["reason"], accepted["message"]) == (
        "False",
        "MajorVersionChange",
        "needs a dump",
    )
    assert out["phase"] == "Ready" and out["lastBackup"] == {"time": "2026-11-25T03:00:00Z", "snapshot": "s"}


def test_announced_done_needs_the_same_or_a_later_announcement_done() -> None:
    since = NOW - timedelta(hours=2)
    done = sts(required="database-security", required_since=since, restarted_at=NOW)
    assert announced_done(done, since)
    assert not announced_done(done, NOW)
    assert not announced_done(sts(required="database-security", required_since=since), since)
    assert not announced_done(None, since)


def test_a_suspended_window_keeps_the_database_and_says_so() -> None:
    live = sts(required="database-security", required_since=NOW)
    slot = WindowSlot("frozen", datetime(2026, 12, 1, 14, tzinfo=UTC), suspended=True)
    out = database_status(
        previous={},
        generation=2,
        title="PostgreSQL",
        live=live,
        decision=Unchanged("16.4"),
        apply_immediately=False,
        slot=slot,
        endpoint="orders.shop.svc:5432",
        problem=None,
        now=NOW,
    )
    assert [e["window"] for e in out["pendingMaintenance"]] == ["frozen"]
    assert out["pendingSummary"] == (
        "database-security: in window frozen at 2026-12-01T14:00:00Z (frozen is suspended: nothing starts until it "
        "is resumed)"
    )
