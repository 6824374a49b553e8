"""MaintenanceWindow occurrences: crashes, failed rollouts, paused targets, policy Always, cron boundaries."""

from datetime import datetime
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_window import SELECT, WEB, announce, run_now, status_of
from tests.integration.workloads import (
    apply,
    deployment,
    events_for,
    get,
    revisions,
    starting_soon,
    wait_rolled_out,
    window,
)

pytestmark = pytest.mark.integration


def last_run(cluster: LocalCluster, namespace: str, name: str, result: str) -> dict[str, Any] | None:
    last: dict[str, Any] = status_of(cluster, namespace, name).get("lastRun") or {}
    return last if last.get("result") == result else None


def occurrence_of(cluster: LocalCluster, namespace: str, ref: str) -> str | None:
    template = get(cluster, namespace, ref)["spec"]["template"]["metadata"].get("annotations") or {}
    value: str | None = template.get("maintenance.ops.dev/occurrence")
    return value


def test_sigkill_mid_occurrence_restarts_every_target_exactly_once(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    names = [f"app-{i}" for i in range(5)]
    apply(cluster, namespace, *(deployment(n, WEB, replicas=2) for n in names))
    wait_rolled_out(cluster, namespace, *(f"deployment/{n}" for n in names))
    for n in names:
        announce(cluster, namespace, f"deployment/{n}")
    apply(cluster, namespace, window("weekly", SELECT, concurrency=1))
    eventually(lambda: status_of(cluster, namespace, "weekly").get("pendingCount") == 5, what="5 pending")

    run_now(cluster, namespace, "weekly")
    eventually(lambda: occurrence_of(cluster, namespace, "deployment/app-1"), timeout=60, what="second restart sent")
    operator.kill()
    done_before = [n for n in names if occurrence_of(cluster, namespace, f"deployment/{n}")]
    assert len(done_before) < len(names), "the kill must land in the middle of the occurrence"
    operator.start()

    last = eventually(lambda: last_run(cluster, namespace, "weekly", "Succeeded"), timeout=120, what="finished")
    assert last["restarted"] == 5
    occurrences = {occurrence_of(cluster, namespace, f"deployment/{n}") for n in names}
    assert occurrences == {last["occurrence"]}
    assert [revisions(cluster, namespace, n) for n in names] == [2] * 5, "each restarted exactly once"


def stuck_then_fine(cluster: LocalCluster, namespace: str, node_label: str, **spec: Any) -> None:
    """Two pending Deployments, the first of which can never roll out again; then a window runs now."""
    pinned = {"nodeSelector": {node_label: "yes"}}
    apply(
        cluster,
        namespace,
        deployment("a-stuck", WEB, replicas=1, pod_spec=pinned),
        deployment("b-fine", WEB, replicas=1),
    )
    wait_rolled_out(cluster, namespace, "deployment/a-stuck", "deployment/b-fine")
    announce(cluster, namespace, "deployment/a-stuck")
    announce(cluster, namespace, "deployment/b-fine")
    cluster.kubectl("label", "nodes", "--all", f"{node_label}-")  # a restart's new pod fits no node now
    apply(cluster, namespace, window("weekly", SELECT, concurrency=1, rolloutTimeout="15s", **spec))
    eventually(lambda: status_of(cluster, namespace, "weekly").get("pendingCount") == 2, what="2 pending")
    run_now(cluster, namespace, "weekly")


def test_failed_rollout_stops_the_occurrence_and_stays_pending(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, node_label: str
) -> None:
    cluster = crds
    stuck_then_fine(cluster, namespace, node_label, onFailure="Stop")
    last = eventually(lambda: last_run(cluster, namespace, "weekly", "Failed"), timeout=90, what="failed run")
    assert last["failed"] == 1 and last["restarted"] == 0
    pending = {p["name"]: p for p in status_of(cluster, namespace, "weekly")["pending"]}
    assert pending["b-fine"]["waiting"] == "stopped-after-failure"
    assert "a-stuck" in pending, "a failed restart leaves the maintenance pending"
    assert revisions(cluster, namespace, "b-fine") == 1, "nothing new starts after a failure with onFailure: Stop"
    failed = eventually(lambda: events_for(cluster, namespace, "a-stuck", "MaintenanceFailed"), what="event")
    assert failed[0]["type"] == "Warning"
    expected = f'maintenance_restarts_total{{namespace="{namespace}",result="failed",window="weekly"}} 1.0'
    restarts = [line for line in operator.metrics().splitlines() if line.startswith("maintenance_restarts")]
    assert expected in restarts, restarts


def test_on_failure_continue_goes_on_after_a_failed_rollout(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, node_label: str
) -> None:
    cluster = crds
    stuck_then_fine(cluster, namespace, node_label, onFailure="Continue")
    last = eventually(lambda: last_run(cluster, namespace, "weekly", "Failed"), timeout=90, what="run with a failure")
    assert last["failed"] == 1 and last["restarted"] == 1
    assert revisions(cluster, namespace, "b-fine") == 2


def test_paused_deployment_is_skipped_with_a_reason(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, deployment("held", WEB, replicas=1), deployment("free", WEB, replicas=1))
    wait_rolled_out(cluster, namespace, "deployment/held", "deployment/free")
    cluster.kubectl("rollout", "pause", "-n", namespace, "deployment/held")
    announce(cluster, namespace, "deployment/held")
    announce(cluster, namespace, "deployment/free")
    apply(cluster, namespace, window("weekly", SELECT, concurrency=2))
    eventually(lambda: status_of(cluster, namespace, "weekly").get("pendingCount") == 2, what="2 pending")

    run_now(cluster, namespace, "weekly")
    last = eventually(lambda: last_run(cluster, namespace, "weekly", "Incomplete"), timeout=60, what="run done")
    assert last["restarted"] == 1 and last["skipped"] == 1
    pending = {p["name"]: p for p in status_of(cluster, namespace, "weekly")["pending"]}
    assert pending["held"]["waiting"] == "paused"
    assert occurrence_of(cluster, namespace, "deployment/held") is None
    assert revisions(cluster, namespace, "free") == 2


def test_policy_always_restarts_every_selected_target(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, deployment("quiet", WEB, replicas=1), deployment("outside", {"tier": "x"}))
    wait_rolled_out(cluster, namespace, "deployment/quiet", "deployment/outside")
    apply(cluster, namespace, window("nightly", SELECT, policy="Always"))

    run_now(cluster, namespace, "nightly")
    last = eventually(lambda: last_run(cluster, namespace, "nightly", "Succeeded"), timeout=60, what="run done")
    assert last["restarted"] == 1
    assert revisions(cluster, namespace, "quiet") == 2, "restarted without any pending maintenance"
    assert revisions(cluster, namespace, "outside") == 1


def test_scheduled_occurrence_opens_at_the_minute_boundary(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, deployment("web", WEB, replicas=1))
    wait_rolled_out(cluster, namespace, "deployment/web")
    announce(cluster, namespace, "deployment/web")
    start, soon = starting_soon()
    apply(cluster, namespace, window("soon", SELECT, **soon))
    expected_id = start.strftime("%Y%m%dT%H%MZ")
    first = eventually(lambda: status_of(cluster, namespace, "soon").get("nextOccurrences"), what="status")
    assert first[0]["id"] == expected_id

    last = eventually(lambda: last_run(cluster, namespace, "soon", "Succeeded"), timeout=150, what="scheduled run")
    assert last["occurrence"] == expected_id and last["restarted"] == 1
    template = get(cluster, namespace, "deployment/web")["spec"]["template"]["metadata"]["annotations"]
    restarted_at = datetime.fromisoformat(template["kubectl.kubernetes.io/restartedAt"].replace("Z", "+00:00"))
    assert restarted_at >= start, "nothing restarts before the window opens"
    assert template["maintenance.ops.dev/occurrence"] == expected_id
    completed = eventually(lambda: events_for(cluster, namespace, "web", "MaintenanceCompleted"), what="event")
    assert expected_id in completed[0]["message"]
    metrics = operator.metrics()
    assert f'maintenance_window_open{{namespace="{namespace}",window="soon"}} 1.0' in metrics
    assert "maintenance_restart_duration_seconds_count" in metrics
