"""The operator's own workload cache: nothing acts on a partial view, and a start costs no request per workload."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_window import SELECT, WEB, announce, iso, status_of
from tests.integration.workloads import apply, deployment, get, wait_rolled_out, window

pytestmark = pytest.mark.integration

COUNT = 300
PAGE = 5  # 60 pages of Deployments (and of ReplicaSets): a window that did not wait would see a part


def requests_by_verb(operator: OperatorProcess) -> dict[str, float]:
    found = re.findall(r'maintenance_operator_api_requests_total\{verb="(\w+)"\} ([0-9.e+]+)', operator.metrics())
    return {verb: float(value) for verb, value in found}


def test_no_window_counts_or_acts_before_the_cache_is_complete(
    crds: LocalCluster, namespace: str, tmp_path: Path, operator_kubeconfig: Path | None
) -> None:
    cluster = crds
    since = {"maintenance.ops.dev/required": "security", "maintenance.ops.dev/required-since": iso(datetime.now(UTC))}
    apply(cluster, namespace, *(deployment(f"d-{i:03d}", WEB, replicas=0, annotations=since) for i in range(COUNT)))
    apply(cluster, namespace, window("yearly", SELECT, schedule="0 3 1 1 *"))
    operator = OperatorProcess(
        cluster, [namespace], tmp_path / "operator.log", extra_args=["--cache-page-size", str(PAGE)]
    )
    seen: set[object] = set()
    with operator:

        def complete() -> bool:
            value = status_of(cluster, namespace, "yearly").get("pendingCount")
            seen.add(value)
            return value == COUNT

        eventually(complete, timeout=120, interval=0.05, what=f"{COUNT} pending")
        assert seen <= {None, COUNT}, f"a window reported a partial view: {sorted(map(str, seen))}"
        log = operator.log_text()
        assert f"workload cache synced: {COUNT} workloads" in log
        verbs = requests_by_verb(operator)
        assert verbs.get("LIST", 0) >= 2 * COUNT / PAGE, "the LISTs are chunked"
        # A leader renews its Lease with PUTs; a pod LIST per pending workload would be hundreds of GETs.
        assert verbs.get("GET", 0) < 30, f"requests per workload at startup: {verbs}"


def test_self_service_by_redeploy_is_credited_from_the_replicaset_alone(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    """A new image (no restartedAt) completes maintenance: the new ReplicaSet is younger than the announcement."""
    cluster = crds
    apply(cluster, namespace, deployment("web", WEB, replicas=2), window("yearly", SELECT, schedule="0 3 1 1 *"))
    wait_rolled_out(cluster, namespace, "deployment/web")
    announce(cluster, namespace, "deployment/web")
    gets_before = requests_by_verb(operator).get("GET", 0)
    cluster.kubectl("set", "image", "-n", namespace, "deployment/web", "app=registry.invalid/app:2")
    wait_rolled_out(cluster, namespace, "deployment/web")
    annotations = eventually(
        lambda: (
            (a := get(cluster, namespace, "deployment/web")["metadata"]["annotations"]).get(
                "maintenance.ops.dev/completed-by"
            )
            and a
        ),
        what="self-service recorded",
    )
    assert annotations["maintenance.ops.dev/completed-by"] == "self-service"
    assert requests_by_verb(operator).get("GET", 0) - gets_before < 3, "no pod LIST"
