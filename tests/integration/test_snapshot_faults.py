"""CreateSnapshot failing in the CSI driver for a whole BackupWindow occurrence (issue 13, design.md's reliability
targets): the miss is reported, and retention never leaves fewer than `minReady` ready snapshots. What is kept is
counted from the cluster's VolumeSnapshots, never from the operator's word.

Run-now occurrences last the window's `duration`, so the window has the shortest the schema allows (5m): the
failing occurrence is a whole one, and the test's cost is about those 5 minutes.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster, SnapshotStack
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_backup_window import backed_up, backup_window, bw_status, run_now, snapshots_of
from tests.integration.test_managed_database import ready
from tests.integration.workloads import apply, events_for

pytestmark = [pytest.mark.integration, pytest.mark.faults]

MIN_READY = 2
RETENTION = {"keepLast": 1, "minReady": MIN_READY}
OCCURRENCE = "maintenance.ops.dev/occurrence"


class MinReadyBroken(Exception):
    """A ready snapshot that had to be kept is gone. Not an AssertionError, so that `eventually` stops at once
    instead of polling on."""


def orders_snapshots(cluster: LocalCluster, namespace: str) -> dict[str, dict[str, Any]]:
    return {s["metadata"]["name"]: s for s in snapshots_of(cluster, namespace, "orders")}


def restorable(snapshots: dict[str, dict[str, Any]]) -> set[str]:
    """The snapshots one can restore from: readyToUse, and not being deleted."""
    return {
        name
        for name, s in snapshots.items()
        if (s.get("status") or {}).get("readyToUse") is True and not s["metadata"].get("deletionTimestamp")
    }


def of_occurrence(snapshots: dict[str, dict[str, Any]], occurrence: str) -> set[str]:
    return {name for name, s in snapshots.items() if s["metadata"]["labels"].get(OCCURRENCE) == occurrence}


def still_ready(snapshots: dict[str, dict[str, Any]], kept: set[str]) -> None:
    """Checked at every poll: each of `kept` is still ready."""
    ready = restorable(snapshots)
    if not kept <= ready:
        raise MinReadyBroken(f"{sorted(kept - ready)} deleted or not ready; ready now: {sorted(ready)}")


def running(operator: OperatorProcess) -> None:
    """Ends a long wait at once if the operator exited (e.g. it lost its Lease to a stalled etcd, by design)."""
    assert operator.proc is not None
    if operator.proc.poll() is not None:
        raise RuntimeError(f"the operator exited with {operator.proc.returncode}; nothing will close the occurrence")


def opened_occurrence(cluster: LocalCluster, namespace: str) -> dict[str, Any]:
    """A run-now occurrence in a second of its own (ad-hoc ids have second precision: two requests in one second
    are one occurrence), as the window's status shows it once open."""
    since = datetime.now(UTC).replace(microsecond=0)
    eventually(lambda: datetime.now(UTC) >= since + timedelta(seconds=1), what="the next second")
    trigger = run_now(cluster, namespace)

    def opened() -> dict[str, Any] | None:
        current: dict[str, Any] = bw_status(cluster, namespace).get("currentOccurrence") or {}
        return current if current.get("trigger") == trigger else None

    return eventually(opened, what="the run-now occurrence to open")


def run_of(cluster: LocalCluster, namespace: str, occurrence: str, *results: str) -> dict[str, Any] | None:
    """The window's lastRun once it is this occurrence's, with one of `results` (any but Running if none given).
    Just after a run-now it still names the previous occurrence, maybe as Running with 0 snapshots."""
    run: dict[str, Any] = bw_status(cluster, namespace).get("lastRun") or {}
    if run.get("occurrence") != occurrence:
        return None
    return run if (run.get("result") in results if results else run.get("result") != "Running") else None


def backup_taken(cluster: LocalCluster, namespace: str) -> str:
    """A run-now occurrence that succeeds; the name of its ready snapshot."""
    occurrence = opened_occurrence(cluster, namespace)["id"]
    run = eventually(lambda: run_of(cluster, namespace, occurrence, "Succeeded"), timeout=60, what=occurrence)
    assert run["snapshots"] == 1, run
    snapshots = orders_snapshots(cluster, namespace)
    (name,) = of_occurrence(snapshots, occurrence)
    assert name in restorable(snapshots)
    return name


def test_create_snapshot_failing_a_whole_occurrence_is_a_reported_miss_and_keeps_min_ready(
    crds: LocalCluster, snapshot_stack: SnapshotStack, namespace: str, operator: OperatorProcess
) -> None:
    """keepLast 1 with minReady 2: two ready backups; a 5-minute occurrence whose every CreateSnapshot fails; then,
    with the driver healed, a new backup, and only then retention prunes to the newest two."""
    cluster = crds
    apply(cluster, namespace, backed_up("orders"), backup_window(retention=RETENTION, duration="5m"))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    older = backup_taken(cluster, namespace)
    newer = backup_taken(cluster, namespace)
    kept = {older, newer}
    assert restorable(orders_snapshots(cluster, namespace)) == kept, "keepLast 1, but minReady 2 keeps both"

    with snapshot_stack.failing_snapshots():
        failing = opened_occurrence(cluster, namespace)
        closes = datetime.fromisoformat(failing["end"])

        def closed() -> dict[str, Any] | None:
            still_ready(orders_snapshots(cluster, namespace), kept)
            running(operator)
            return run_of(cluster, namespace, failing["id"])

        left = (closes - datetime.now(UTC)).total_seconds()
        missed = eventually(closed, timeout=left + 90, interval=1, what=f"{failing['id']} to close")
        assert datetime.now(UTC) >= closes, f"finished before the window closed: {missed}"
        assert missed["result"] in ("Missed", "Failed") and missed["snapshots"] == 0, missed
        # The driver did refuse the operator's attempt (retried every 10 s; one Event per snapshot name).
        refused = events_for(cluster, namespace, "daily", "SnapshotFailed")
        assert any(failing["id"].lower() in e["message"] and "injected failure" in e["message"] for e in refused)

        def attempt_deleted() -> bool:
            snapshots = orders_snapshots(cluster, namespace)
            still_ready(snapshots, kept)
            return not of_occurrence(snapshots, failing["id"])

        # Deleted at the close, so the CSI sidecars cannot complete it outside the window.
        eventually(attempt_deleted, what="the failed attempt deleted")
    assert restorable(orders_snapshots(cluster, namespace)) == kept, "both ready snapshots kept"

    def reported() -> list[dict[str, Any]]:
        return [e for e in events_for(cluster, namespace, "daily", "BackupMissed") if failing["id"] in e["message"]]

    (warning,) = eventually(reported, what="the BackupMissed Event")
    assert warning["type"] == "Warning" and "orders" in warning["message"], warning
    missed_total = f'maintenance_backup_missed_total{{namespace="{namespace}",window="daily"}} 1.0'
    assert missed_total in operator.metrics()

    # Healed: the next occurrence backs up, and only once its snapshot is ready may retention delete the oldest.
    healthy = opened_occurrence(cluster, namespace)["id"]

    def pruned() -> set[str] | None:
        snapshots = orders_snapshots(cluster, namespace)
        fresh = of_occurrence(snapshots, healthy) & restorable(snapshots)
        newest = {newer, *fresh}  # the newest 2 ready ones, once the fresh one is ready
        still_ready(snapshots, newest if fresh else kept)
        return set(snapshots) if fresh and set(snapshots) == newest else None

    after = eventually(pruned, timeout=60, what="a ready backup, then the oldest deleted by retention")
    assert older not in after and len(after) == MIN_READY, after
    run = eventually(lambda: run_of(cluster, namespace, healthy, "Succeeded"), what="the healthy occurrence")
    assert run["snapshots"] == 1, run
