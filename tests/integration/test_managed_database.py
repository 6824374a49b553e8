"""ManagedDatabase end to end: children, upgrades in windows, refusals, restore, deletion; the real operator."""

import base64
import json
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster, SnapshotStack
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_window import run_now, status_of
from tests.integration.workloads import apply, controller_revisions_of, events_for, get, window

pytestmark = pytest.mark.integration

DB_LABELS = {"maintenance.ops.dev/window": "weekly"}
SELECT_DB = {"matchLabels": DB_LABELS}


def database(name: str, version: str = "16.4", engine: str = "postgresql", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "ManagedDatabase",
        "metadata": {"name": name, "labels": DB_LABELS},
        "spec": {"engine": engine, "version": version, "storage": {"size": "1Gi"}, **spec},
    }


def db_status(cluster: LocalCluster, namespace: str, name: str) -> dict[str, Any]:
    return get(cluster, namespace, f"mdb/{name}").get("status") or {}


def ready(cluster: LocalCluster, namespace: str, name: str, version: str) -> dict[str, Any] | None:
    status = db_status(cluster, namespace, name)
    return status if status.get("phase") == "Ready" and status.get("currentVersion") == version else None


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status.get("conditions", []) if c["type"] == type_)


def image(cluster: LocalCluster, namespace: str, name: str) -> str:
    sts = get(cluster, namespace, f"statefulset/{name}")
    value: str = sts["spec"]["template"]["spec"]["containers"][0]["image"]
    return value


@pytest.fixture
def storage(snapshot_stack: SnapshotStack) -> SnapshotStack:
    """Database volumes need the CSI driver's default StorageClass to bind."""
    return snapshot_stack


def test_database_gets_its_children_and_a_ready_status(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, storage: SnapshotStack
) -> None:
    cluster = crds
    apply(cluster, namespace, database("orders"))
    status = eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    assert status["endpoint"] == f"orders.{namespace}.svc:5432"
    assert condition(status, "Ready")["status"] == "True"
    assert image(cluster, namespace, "orders") == "docker.io/library/postgres:16.4"
    sts = get(cluster, namespace, "statefulset/orders")
    assert sts["metadata"]["ownerReferences"][0]["kind"] == "ManagedDatabase"
    assert sts["metadata"]["labels"]["maintenance.ops.dev/window"] == "weekly", "windows select it by its labels"
    assert get(cluster, namespace, "service/orders")["spec"]["ports"][0]["port"] == 5432
    assert get(cluster, namespace, "service/orders-headless")["spec"]["clusterIP"] == "None"
    claim = get(cluster, namespace, "pvc/data-orders-0")
    assert claim["status"]["phase"] == "Bound"
    table = cluster.kubectl("get", "mdb", "-n", namespace).stdout
    assert table.split()[:6] == ["NAME", "ENGINE", "VERSION", "PHASE", "ENDPOINT", "PENDING"]

    # The Secret is created once and never overwritten, even when the operator restarts.
    secret = get(cluster, namespace, "secret/orders-credentials")
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert len(password) >= 16
    changed = base64.b64encode(b"rotated-by-the-user").decode()
    cluster.kubectl(
        "patch", "secret", "orders-credentials", "-n", namespace, "-p", f'{{"data":{{"password":"{changed}"}}}}'
    )
    operator.stop()
    operator.start()
    cluster.kubectl("label", "mdb", "orders", "-n", namespace, "touched=yes")
    eventually(
        lambda: get(cluster, namespace, "statefulset/orders")["metadata"]["labels"].get("touched") == "yes",
        what="labels propagated (a pass ran)",
    )
    assert get(cluster, namespace, "secret/orders-credentials")["data"]["password"] == changed


def test_minor_upgrade_waits_for_the_window_and_happens_in_it(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, storage: SnapshotStack
) -> None:
    cluster = crds
    apply(cluster, namespace, database("orders"), window("weekly", SELECT_DB))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    revisions_before = controller_revisions_of(cluster, namespace, "orders")

    apply(cluster, namespace, database("orders", version="16.6"))

    def pending() -> dict[str, Any] | None:
        entries = db_status(cluster, namespace, "orders").get("pendingMaintenance") or []
        return next((e for e in entries if e.get("toVersion") == "16.6"), None)

    entry = eventually(pending, what="pending upgrade in status")
    assert entry["fromVersion"] == "16.4" and entry["window"] == "weekly" and entry["windowStart"]
    status = db_status(cluster, namespace, "orders")
    assert condition(status, "UpgradePending")["status"] == "True"
    assert "weekly" in status["pendingSummary"]
    assert image(cluster, namespace, "orders").endswith(":16.4"), "nothing changes outside the window"
    window_pending = eventually(lambda: status_of(cluster, namespace, "weekly").get("pending"), what="window sees it")
    assert window_pending[0]["name"] == "orders" and window_pending[0]["downtimeExpected"] is True

    run_now(cluster, namespace, "weekly")
    status = eventually(lambda: ready(cluster, namespace, "orders", "16.6"), timeout=90, what="upgraded")
    assert image(cluster, namespace, "orders") == "docker.io/library/postgres:16.6"
    assert condition(status, "UpgradePending")["status"] == "False"
    assert not status.get("pendingMaintenance")
    assert controller_revisions_of(cluster, namespace, "orders") == revisions_before + 1, "one rollout"
    upgraded = eventually(lambda: events_for(cluster, namespace, "orders", "Upgraded"), what="Upgraded event")
    assert "16.4 to 16.6" in upgraded[0]["message"]


def test_major_upgrade_is_refused_and_the_database_untouched(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, storage: SnapshotStack
) -> None:
    cluster = crds
    apply(cluster, namespace, database("orders"))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    apply(cluster, namespace, database("orders", version="17.2"))

    def refused() -> dict[str, Any] | None:
        accepted = condition(db_status(cluster, namespace, "orders"), "VersionAccepted")
        return accepted if accepted["status"] == "False" else None

    accepted = eventually(refused, what="refusal")
    assert accepted["reason"] == "MajorVersionChange"
    assert "data migration" in accepted["message"] or "dump" in accepted["message"]
    warning = eventually(lambda: events_for(cluster, namespace, "orders", "VersionRefused"), what="warning")
    assert warning[0]["type"] == "Warning"
    assert image(cluster, namespace, "orders").endswith(":16.4")
    assert db_status(cluster, namespace, "orders")["phase"] == "Ready"


def test_apply_immediately_upgrades_without_a_window(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, storage: SnapshotStack
) -> None:
    cluster = crds
    apply(cluster, namespace, database("cache", engine="redis", version="7.2.5"))
    eventually(lambda: ready(cluster, namespace, "cache", "7.2.5"), timeout=90, what="ready redis")
    apply(cluster, namespace, database("cache", engine="redis", version="7.2.7", applyImmediately=True))
    eventually(lambda: ready(cluster, namespace, "cache", "7.2.7"), timeout=90, what="upgraded now")
    assert image(cluster, namespace, "cache") == "docker.io/library/redis:7.2.7"


def test_announced_database_security_maintenance_is_done_in_the_window(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, storage: SnapshotStack
) -> None:
    cluster = crds
    apply(cluster, namespace, database("orders"), window("weekly", SELECT_DB))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    before = controller_revisions_of(cluster, namespace, "orders")
    cluster.kubectl("annotate", "mdb", "orders", "-n", namespace, "maintenance.ops.dev/required=database-security")
    eventually(lambda: status_of(cluster, namespace, "weekly").get("pendingCount") == 1, what="window pending")

    def pending_reasons() -> list[str] | None:
        # The database task writes its own status; it may land after the window's.
        entries = db_status(cluster, namespace, "orders").get("pendingMaintenance") or []
        return [e["reason"] for e in entries] or None

    assert eventually(pending_reasons, what="pending in database status") == ["database-security"]

    run_now(cluster, namespace, "weekly")
    eventually(
        lambda: (status_of(cluster, namespace, "weekly").get("lastRun") or {}).get("result") == "Succeeded",
        timeout=90,
        what="window done",
    )
    assert controller_revisions_of(cluster, namespace, "orders") == before + 1
    eventually(lambda: not db_status(cluster, namespace, "orders").get("pendingMaintenance"), what="cleared")


def test_restore_from_a_missing_snapshot_creates_nothing(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, storage: SnapshotStack
) -> None:
    cluster = crds
    apply(cluster, namespace, database("copy", restoreFrom={"volumeSnapshotName": "nope"}))

    def blocked() -> dict[str, Any] | None:
        status = db_status(cluster, namespace, "copy")
        ready_condition = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), None)
        return ready_condition if ready_condition and ready_condition["reason"] == "RestoreSnapshotNotReady" else None

    found = eventually(blocked, what="blocked restore")
    assert "nope" in found["message"] and "nothing was created" in found["message"]
    assert cluster.kubectl("get", "statefulset", "copy", "-n", namespace, check=False).returncode != 0
    assert cluster.kubectl("get", "pvc", "data-copy-0", "-n", namespace, check=False).returncode != 0


def test_restore_from_a_snapshot_and_delete_keeps_the_volume(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, storage: SnapshotStack
) -> None:
    cluster = crds
    apply(cluster, namespace, database("orders"))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    snapshot = {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": "orders-manual"},
        "spec": {
            "volumeSnapshotClassName": storage.snapshot_class,
            "source": {"persistentVolumeClaimName": "data-orders-0"},
        },
    }
    apply(cluster, namespace, snapshot)
    eventually(
        lambda: (get(cluster, namespace, "volumesnapshot/orders-manual").get("status") or {}).get("readyToUse"),
        timeout=60,
        what="snapshot ready",
    )
    apply(cluster, namespace, database("copy", restoreFrom={"volumeSnapshotName": "orders-manual"}))
    eventually(lambda: ready(cluster, namespace, "copy", "16.4"), timeout=90, what="restored database ready")
    claim = get(cluster, namespace, "pvc/data-copy-0")
    assert claim["spec"]["dataSource"]["name"] == "orders-manual"
    assert claim["status"]["phase"] == "Bound"

    cluster.kubectl("delete", "mdb", "orders", "-n", namespace)
    eventually(
        lambda: cluster.kubectl("get", "statefulset", "orders", "-n", namespace, check=False).returncode != 0,
        timeout=60,
        what="StatefulSet garbage-collected",
    )
    assert get(cluster, namespace, "pvc/data-orders-0")["status"]["phase"] == "Bound", "onDelete: Retain keeps data"
    deleted = eventually(lambda: events_for(cluster, namespace, "orders", "Deleted"), what="Deleted event")
    assert "is kept" in deleted[0]["message"]


def test_admission_refuses_ha_and_shrinking_storage(crds: LocalCluster, namespace: str) -> None:
    cluster = crds

    ha = database("ha", replicas=2)
    result = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(ha), check=False)
    assert result.returncode != 0 and "high availability is not supported yet" in result.stderr
    apply(cluster, namespace, database("small", storage={"size": "2Gi"}))
    shrink = database("small", storage={"size": "1Gi"})
    result = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(shrink), check=False)
    assert result.returncode != 0 and "storage never shrinks" in result.stderr


def test_drift_is_corrected_and_unrelated_changes_survive(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, storage: SnapshotStack
) -> None:
    cluster = crds
    apply(cluster, namespace, database("orders"))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    cluster.kubectl("annotate", "statefulset", "orders", "-n", namespace, "team.example/owner=payments")
    cluster.kubectl(
        "patch",
        "statefulset",
        "orders",
        "-n",
        namespace,
        "-p",
        '{"spec":{"template":{"spec":{"terminationGracePeriodSeconds":3}}}}',
    )

    def grace() -> int:
        value: int = get(cluster, namespace, "statefulset/orders")["spec"]["template"]["spec"][
            "terminationGracePeriodSeconds"
        ]
        return value

    eventually(lambda: grace() == 60, what="the operator's field restored")
    annotations = get(cluster, namespace, "statefulset/orders")["metadata"]["annotations"]
    assert annotations["team.example/owner"] == "payments", "a field the operator does not own survives"


def test_growing_storage_expands_the_data_volume_and_class_changes_are_refused(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, storage: SnapshotStack
) -> None:
    cluster = crds
    apply(cluster, namespace, database("orders"))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    apply(cluster, namespace, database("orders", storage={"size": "2Gi"}))
    eventually(
        lambda: get(cluster, namespace, "pvc/data-orders-0")["spec"]["resources"]["requests"]["storage"] == "2Gi",
        what="claim expanded",
    )
    moved = database("orders", storage={"size": "2Gi", "className": "other"})
    result = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(moved), check=False)
    assert result.returncode != 0 and "storage.className cannot be changed" in result.stderr


def test_unknown_version_is_reported_and_other_databases_keep_working(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, storage: SnapshotStack
) -> None:
    cluster = crds
    apply(cluster, namespace, database("odd", version="16.99"), database("fine", engine="mysql", version="8.4.2"))

    def failed() -> dict[str, Any] | None:
        status = db_status(cluster, namespace, "odd")
        return status if status.get("phase") == "Failed" else None

    status = eventually(failed, what="failed database")
    found = condition(status, "Ready")
    assert found["status"] == "False" and found["reason"] == "UnknownVersion" and "16.99" in found["message"]
    assert eventually(lambda: events_for(cluster, namespace, "odd", "UnknownVersion"), what="event")[0]["type"] == (
        "Warning"
    )
    assert cluster.kubectl("get", "statefulset", "odd", "-n", namespace, check=False).returncode != 0
    eventually(lambda: ready(cluster, namespace, "fine", "8.4.2"), timeout=90, what="the other database")
