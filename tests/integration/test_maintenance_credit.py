"""Who gets the credit, and who lists a target: defects found by trying the operator as a new user would."""

import pytest

from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_rollouts import last_run
from tests.integration.test_maintenance_window import SELECT, WEB, announce, run_now, status_of
from tests.integration.workloads import apply, deployment, events_for, get, wait_rolled_out, window

pytestmark = pytest.mark.integration

FAR = "0 3 1 1 *"  # 1 January, 03:00: no boundary during a test


def annotations(cluster: LocalCluster, namespace: str, ref: str) -> dict[str, str]:
    found: dict[str, str] = get(cluster, namespace, ref)["metadata"].get("annotations") or {}
    return found


def user_restart(cluster: LocalCluster, namespace: str, ref: str) -> None:
    """`kubectl rollout restart`, which refuses a second restart within one second of the last one."""
    eventually(
        lambda: cluster.kubectl("rollout", "restart", "-n", namespace, ref, check=False).returncode == 0,
        what=f"kubectl rollout restart {ref}",
    )
    wait_rolled_out(cluster, namespace, ref)


def test_a_restart_after_the_window_did_the_maintenance_is_not_self_service(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    # `canary` is pending too but no window selects it: its self-service credit shows when the operator has
    # taken in the user's restarts, which come after web's.
    apply(cluster, namespace, deployment("web", WEB), deployment("canary", {"tier": "none"}), window("weekly", SELECT))
    wait_rolled_out(cluster, namespace, "deployment/web", "deployment/canary")
    announce(cluster, namespace, "deployment/web")
    announce(cluster, namespace, "deployment/canary")
    eventually(lambda: status_of(cluster, namespace, "weekly").get("pendingCount") == 1, what="web pending")
    run_now(cluster, namespace, "weekly")
    eventually(lambda: last_run(cluster, namespace, "weekly", "Succeeded"), timeout=90, what="the window's restart")
    eventually(lambda: events_for(cluster, namespace, "web", "MaintenanceCompleted"), what="the window's Event")

    user_restart(cluster, namespace, "deployment/web")
    user_restart(cluster, namespace, "deployment/canary")
    eventually(lambda: events_for(cluster, namespace, "canary", "MaintenanceCompleted"), what="canary credited")

    assert annotations(cluster, namespace, "deployment/canary").get("maintenance.ops.dev/completed-by") == (
        "self-service"
    )
    assert "maintenance.ops.dev/completed-by" not in annotations(cluster, namespace, "deployment/web")
    assert len(events_for(cluster, namespace, "web", "MaintenanceCompleted")) == 1, "the window's, and no other"
    metrics = operator.metrics()
    assert f'maintenance_self_service_total{{kind="Deployment",namespace="{namespace}"}} 1.0' in metrics


def test_a_target_relabelled_out_of_its_window_leaves_its_pending_list_at_once(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, deployment("a", WEB), deployment("b", WEB), window("yearly", SELECT, schedule=FAR))
    wait_rolled_out(cluster, namespace, "deployment/a", "deployment/b")
    announce(cluster, namespace, "deployment/a")
    announce(cluster, namespace, "deployment/b")
    eventually(lambda: status_of(cluster, namespace, "yearly").get("pendingCount") == 2, what="both pending")
    cluster.kubectl("label", "--overwrite", "-n", namespace, "deployment/b", "tier=batch")
    status = eventually(
        lambda: (s := status_of(cluster, namespace, "yearly")).get("pendingCount") == 1 and s,
        timeout=30,
        what="b gone from the window's pending list",
    )
    assert [p["name"] for p in status["pending"]] == ["a"]
