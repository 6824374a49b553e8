"""BackupWindow end to end with the real CSI snapshot stack: snapshots, failures, retention, coordination."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster, SnapshotStack
from tests.cluster.prometheus import PrometheusServer
from tests.cluster.snapshots import component_stopped
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_managed_database import database, db_status, ready
from tests.integration.workloads import apply, events_for, get, starting_soon, window, with_schedule

pytestmark = pytest.mark.integration

BACKUP = {"maintenance.ops.dev/backup": "daily"}


def backup_window(name: str = "daily", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "BackupWindow",
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": BACKUP}, **with_schedule(spec)},
    }


def backed_up(name: str, **spec: Any) -> dict[str, Any]:
    db = database(name, **spec)
    db["metadata"]["labels"] = {**db["metadata"]["labels"], **BACKUP}
    return db


def bw_status(cluster: LocalCluster, namespace: str, name: str = "daily") -> dict[str, Any]:
    return get(cluster, namespace, f"bw/{name}").get("status") or {}


def last_run(cluster: LocalCluster, namespace: str, result: str, name: str = "daily") -> dict[str, Any] | None:
    run: dict[str, Any] = bw_status(cluster, namespace, name).get("lastRun") or {}
    return run if run.get("result") == result else None


def run_now(cluster: LocalCluster, namespace: str, name: str = "daily") -> str:
    """Ask for an ad-hoc occurrence; the trigger, which the opened occurrence's status (`currentOccurrence`) names."""
    stamp = datetime.now(UTC).strftime("%H%M%S.%f")
    cluster.kubectl("annotate", "--overwrite", "-n", namespace, f"bw/{name}", f"maintenance.ops.dev/run-now={stamp}")
    return stamp


def snapshots_of(cluster: LocalCluster, namespace: str, db: str) -> list[dict[str, Any]]:
    listing = cluster.kubectl_json(
        "get", "volumesnapshots", "-n", namespace, "-l", f"maintenance.ops.dev/database={db}"
    )
    items: list[dict[str, Any]] = listing["items"]
    return items


def test_run_now_snapshots_each_selected_database_once(
    crds: LocalCluster, snapshot_stack: SnapshotStack, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    # `defaults` selects nothing: its default schedule is checked without its occurrence taking part.
    defaults = backup_window("defaults", schedule=None, selector={"matchLabels": {"nothing": "here"}})
    apply(cluster, namespace, backed_up("orders"), backed_up("users"), database("other"), backup_window(), defaults)
    for name in ("orders", "users", "other"):
        eventually(lambda n=name: ready(cluster, namespace, n, "16.4"), timeout=90, what=f"{name} ready")  # type: ignore[misc]
    default = eventually(lambda: bw_status(cluster, namespace, "defaults").get("nextOccurrences"), what="status")
    assert default[0]["start"].endswith("T13:00:00Z"), "default schedule: daily 13:00 UTC"
    status = eventually(lambda: bw_status(cluster, namespace).get("nextOccurrences"), what="bw status")
    table = cluster.kubectl("get", "bw", "-n", namespace).stdout
    assert table.split()[:6] == ["NAME", "SCHEDULE", "ZONE", "NEXT", "OPEN", "LAST"]

    run_now(cluster, namespace)
    run = eventually(
        lambda: last_run(cluster, namespace, "Running") or last_run(cluster, namespace, "Succeeded"), what="run"
    )
    occurrence = run["occurrence"]
    for db in ("orders", "users"):
        snaps = eventually(lambda d=db: snapshots_of(cluster, namespace, d), what=f"snapshot of {db}")  # type: ignore[misc]
        assert len(snaps) == 1
        snap = snaps[0]
        assert snap["metadata"]["name"] == f"{db}-data-{db}-0-{occurrence.lower()}"
        labels = snap["metadata"]["labels"]
        assert labels["maintenance.ops.dev/backup-window"] == "daily"
        assert labels["maintenance.ops.dev/occurrence"] == occurrence
        assert snap["spec"]["source"]["persistentVolumeClaimName"] == f"data-{db}-0"
    assert snapshots_of(cluster, namespace, "other") == [], "not selected"
    done = eventually(lambda: last_run(cluster, namespace, "Succeeded"), timeout=60, what="all ready")
    assert done["snapshots"] == 2 and done["failed"] == 0
    backup = eventually(lambda: db_status(cluster, namespace, "orders").get("lastBackup"), what="lastBackup")
    assert backup["snapshot"] == f"orders-data-orders-0-{occurrence.lower()}"
    assert db_status(cluster, namespace, "orders")["nextBackupWindow"] == status[0]["start"]
    assert 'maintenance_backup_last_success_timestamp_seconds{database="orders"' in operator.metrics()

    operator.stop()
    operator.start()
    # The first pass after a start lists the snapshots (and exports the newest): then nothing may be new.
    eventually(lambda: "maintenance_backup_last_success_timestamp_seconds{" in operator.metrics(), what="a pass")
    assert len(snapshots_of(cluster, namespace, "orders")) == 1, "a restart never duplicates a snapshot"


def test_failed_snapshots_are_retried_in_the_window_and_never_count(
    crds: LocalCluster, snapshot_stack: SnapshotStack, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, backed_up("orders"), backup_window())
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    with snapshot_stack.failing_snapshots():
        run_now(cluster, namespace)
        failed = eventually(
            lambda: events_for(cluster, namespace, "daily", "SnapshotFailed"), timeout=90, what="failure"
        )
        assert failed[0]["type"] == "Warning" and "injected failure" in failed[0]["message"]
        assert not db_status(cluster, namespace, "orders").get("lastBackup"), "a failed snapshot is no backup"
        assert eventually(lambda: last_run(cluster, namespace, "Running"), what="still running")
    done = eventually(lambda: last_run(cluster, namespace, "Succeeded"), timeout=120, what="retried successfully")
    assert done["snapshots"] == 1
    snaps = snapshots_of(cluster, namespace, "orders")
    assert len(snaps) == 1 and snaps[0]["status"]["readyToUse"] is True
    assert eventually(lambda: db_status(cluster, namespace, "orders").get("lastBackup"), what="lastBackup")


def test_retention_keeps_the_newest_and_never_touches_foreign_snapshots(
    crds: LocalCluster, snapshot_stack: SnapshotStack, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, backed_up("orders"), backup_window(retention={"keepLast": 2}))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    foreign = {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": "by-hand", "labels": {"maintenance.ops.dev/database": "orders"}},
        "spec": {"source": {"persistentVolumeClaimName": "data-orders-0"}},
    }
    apply(cluster, namespace, foreign)
    made: list[str] = []
    for _ in range(3):
        before = {s["metadata"]["name"] for s in snapshots_of(cluster, namespace, "orders")}
        # Ad-hoc occurrence ids have second precision: two run-now requests in one second are one occurrence.
        opened = datetime.now(UTC).replace(microsecond=0)
        eventually(lambda since=opened: datetime.now(UTC) >= since + timedelta(seconds=1), what="the next second")  # type: ignore[misc]
        run_now(cluster, namespace)

        def new_ready(seen: set[str] = before) -> str | None:
            run = last_run(cluster, namespace, "Succeeded")
            fresh = [s for s in snapshots_of(cluster, namespace, "orders") if s["metadata"]["name"] not in seen]
            ok = [s for s in fresh if (s.get("status") or {}).get("readyToUse")]
            return ok[0]["metadata"]["name"] if run and ok else None

        made.append(eventually(new_ready, timeout=60, what="a new ready snapshot"))

    def kept() -> set[str] | None:
        names = {s["metadata"]["name"] for s in snapshots_of(cluster, namespace, "orders")}
        return names if made[0] not in names else None

    names = eventually(kept, what="the oldest deleted by retention")
    assert names == {made[1], made[2], "by-hand"}
    deleted = eventually(lambda: events_for(cluster, namespace, "daily", "SnapshotDeleted"), what="event")
    assert made[0] in deleted[0]["message"]


def test_no_restart_during_a_snapshot_and_no_snapshot_during_a_rollout(
    crds: LocalCluster, snapshot_stack: SnapshotStack, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, backed_up("orders"), backup_window())
    apply(cluster, namespace, window("weekly", {"matchLabels": BACKUP}))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    cluster.kubectl("annotate", "mdb", "orders", "-n", namespace, "maintenance.ops.dev/required=database-security")

    # A snapshot in progress (the snapshotter is down) holds the maintenance restart back.
    with component_stopped(cluster, "csi-snapshotter"):
        run_now(cluster, namespace)
        eventually(lambda: snapshots_of(cluster, namespace, "orders"), what="snapshot created")
        cluster.kubectl(
            "annotate", "-n", namespace, "mw/weekly", f"maintenance.ops.dev/run-now={datetime.now(UTC):%H%M%S}"
        )

        def blocked() -> bool:
            pending = get(cluster, namespace, "mw/weekly").get("status", {}).get("pending") or []
            return any(p.get("waiting") == "blocked" for p in pending)

        eventually(blocked, what="restart waits for the snapshot")
        template = get(cluster, namespace, "statefulset/orders")["spec"]["template"]["metadata"]
        assert "maintenance.ops.dev/occurrence" not in (template.get("annotations") or {})
    eventually(
        lambda: (
            (get(cluster, namespace, "mw/weekly").get("status", {}).get("lastRun") or {}).get("result") == "Succeeded"
        ),
        timeout=120,
        what="restart after the snapshot",
    )
    eventually(lambda: last_run(cluster, namespace, "Succeeded"), timeout=60, what="backup done")


def test_missed_backup_is_reported_when_the_window_closes(
    crds: LocalCluster, snapshot_stack: SnapshotStack, namespace: str, prometheus: PrometheusServer
) -> None:
    """A real scheduled occurrence (next minute boundary, 5 minutes) whose snapshots fail the whole time; the miss
    counted through PromQL, and the shipped BackupMissed alert fires on it."""
    cluster = crds
    apply(cluster, namespace, backed_up("orders"))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    start, soon = starting_soon()
    with snapshot_stack.failing_snapshots():
        apply(cluster, namespace, backup_window(**soon))
        missed = eventually(
            lambda: last_run(cluster, namespace, "Missed") or last_run(cluster, namespace, "Failed"),
            timeout=480,
            interval=2,
            what="the occurrence to close",
        )
        assert not db_status(cluster, namespace, "orders").get("lastBackup"), "a failed snapshot is no backup"
        # The failed attempt is deleted, so the CSI sidecars cannot complete it outside the window.
        eventually(lambda: snapshots_of(cluster, namespace, "orders") == [], what="the failed attempt deleted")
    assert missed["occurrence"] == start.strftime("%Y%m%dT%H%MZ")
    status = bw_status(cluster, namespace)
    condition = next(c for c in status["conditions"] if c["type"] == "BackupMissed")
    assert condition["status"] == "True"
    warning = eventually(lambda: events_for(cluster, namespace, "daily", "BackupMissed"), what="warning")
    assert warning[0]["type"] == "Warning" and "orders" in warning[0]["message"]
    missed_total = f'maintenance_backup_missed_total{{namespace="{namespace}",window="daily"}}'
    eventually(lambda: prometheus.value(missed_total) == 1, what="the miss scraped")
    eventually(
        lambda: prometheus.firing("BackupMissed"),
        timeout=30,
        what="the BackupMissed alert firing",
    )
    assert not db_status(cluster, namespace, "orders").get("lastBackup")


def test_an_occurrence_that_passed_while_the_operator_was_down_is_reported_missed(
    crds: LocalCluster, snapshot_stack: SnapshotStack, namespace: str, operator: OperatorProcess
) -> None:
    """A real scheduled occurrence (next minute boundary, 5 minutes) that opens and closes with the operator stopped."""
    cluster = crds
    apply(cluster, namespace, backed_up("orders"))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    start, soon = starting_soon()
    expected_id = start.strftime("%Y%m%dT%H%MZ")
    apply(cluster, namespace, backup_window(**soon))
    first = eventually(lambda: bw_status(cluster, namespace).get("nextOccurrences"), what="status")
    assert first[0]["id"] == expected_id
    operator.stop()
    end = start + timedelta(minutes=5)
    eventually(lambda: datetime.now(UTC) > end, timeout=480, interval=2, what="the occurrence to close")
    operator.start()

    run = eventually(lambda: last_run(cluster, namespace, "Missed"), what="the missed occurrence reported")
    assert run["occurrence"] == expected_id and run["snapshots"] == 0 and run["failed"] == 1
    status = bw_status(cluster, namespace)
    assert status["missedOccurrences"] == [expected_id]
    assert status["handledThrough"] == start.strftime("%Y-%m-%dT%H:%M:%SZ"), "never reported twice"
    condition = next(c for c in status["conditions"] if c["type"] == "BackupMissed")
    assert condition["status"] == "True" and expected_id in condition["message"]
    warning = eventually(lambda: events_for(cluster, namespace, "daily", "BackupMissed"), what="warning")
    assert "operator was not running" in warning[0]["message"]
    assert f'maintenance_backup_missed_total{{namespace="{namespace}",window="daily"}} 1.0' in operator.metrics()
    assert snapshots_of(cluster, namespace, "orders") == [], "no backup taken late, outside the window"


def test_invalid_backup_windows_are_reported(
    crds: LocalCluster, snapshot_stack: SnapshotStack, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    bad = backup_window("zero", retention={"keepLast": 0})
    result = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(bad), check=False)
    assert result.returncode != 0 and "keepLast" in result.stderr
    apply(cluster, namespace, backup_window("nowhere", volumeSnapshotClassName="no-such-class"), backup_window("good"))

    def reason(name: str) -> dict[str, Any] | None:
        conditions = bw_status(cluster, namespace, name).get("conditions") or []
        return next((c for c in conditions if c["type"] == "Ready"), None)

    found = eventually(lambda: reason("nowhere"), what="condition")
    assert found["status"] == "False" and "no-such-class" in found["message"]
    assert eventually(lambda: reason("good"), what="good window")["status"] == "True"
    assert eventually(lambda: events_for(cluster, namespace, "nowhere", "InvalidSpec"), what="event")


def test_a_cluster_without_the_snapshot_api_gets_a_clear_condition(tmp_path: Path) -> None:
    """Its own small cluster: the session's has the snapshot CRDs installed."""
    with LocalCluster(nodes=1) as bare:
        bare.install_crds()
        bare.create_namespace("plain")
        with OperatorProcess(bare, ["plain"], tmp_path / "operator.log"):
            apply(bare, "plain", backup_window())

            def not_ready() -> dict[str, Any] | None:
                conditions = bw_status(bare, "plain").get("conditions") or []
                found = next((c for c in conditions if c["type"] == "Ready"), None)
                return found if found and found["status"] == "False" else None

            found = eventually(not_ready, timeout=60, what="Ready=False")
            assert "snapshot CRDs" in found["message"] and "volumesnapshots" in found["message"]


def test_no_snapshot_while_the_database_rolls_out(
    crds: LocalCluster, snapshot_stack: SnapshotStack, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, backed_up("orders"), backup_window())
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    # A change the operator does not own: the new pod fits no node until the nodes get the label.
    key = f"test.maintenance.ops.dev/{namespace}"
    stuck = json.dumps({"spec": {"template": {"spec": {"nodeSelector": {key: "yes"}}}}})
    cluster.kubectl("patch", "statefulset", "orders", "-n", namespace, "-p", stuck)
    eventually(lambda: db_status(cluster, namespace, "orders").get("phase") == "Upgrading", what="rolling out")

    run_now(cluster, namespace)
    run = eventually(lambda: last_run(cluster, namespace, "Running"), what="the occurrence is open")
    assert snapshots_of(cluster, namespace, "orders") == [], "no snapshot of a database mid-rollout"

    try:
        cluster.kubectl("label", "nodes", "--all", f"{key}=yes")  # the pending pod schedules, the rollout ends
        done = eventually(lambda: last_run(cluster, namespace, "Succeeded"), timeout=90, what="snapshot after rollout")
        assert done["occurrence"] == run["occurrence"] and done["snapshots"] == 1
    finally:
        cluster.kubectl("label", "nodes", "--all", f"{key}-", check=False)
