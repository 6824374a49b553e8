"""`/healthz` and `/readyz` of the real operator: not ready until its workload cache is complete; a standby is ready."""

from pathlib import Path
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster
from tests.integration.conftest import FAILED
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_cli_support import grant, rule, service_account_kubeconfig, wait_until_allowed

pytestmark = pytest.mark.integration

ALL = ("*",)


def operator_rules(*apps: str) -> list[dict[str, Any]]:
    """What the operator uses in its namespace; `apps` names the apps/v1 resources it may read."""
    return [
        rule("apps", *apps, verbs=ALL),
        rule("", "events", "pods", "secrets", "services", "persistentvolumeclaims", verbs=ALL),
        rule("events.k8s.io", "events", verbs=ALL),
        rule("coordination.k8s.io", "leases", verbs=ALL),
        rule("maintenance.ops.dev", "*", verbs=ALL),
        rule("snapshot.storage.k8s.io", "volumesnapshots", verbs=ALL),
    ]


def refused(plural: str, log: str) -> bool:
    return any(f"/{plural}: list/watch failed" in line and " 403 " in line for line in log.splitlines())


def test_not_ready_until_the_workload_cache_is_synced(
    crds: LocalCluster, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The operator's account may not list StatefulSets at first: its cache cannot complete, so it stays live but
    not ready; once RBAC allows it, the informer's retry completes the LIST and the replica becomes ready."""
    cluster = crds
    kubeconfig = service_account_kubeconfig(cluster, namespace, "operator", tmp_path / "operator.kubeconfig")
    without = ("deployments", "replicasets", "controllerrevisions")
    grant(cluster, "operator", namespace, operator_rules(*without), namespace)
    wait_until_allowed(cluster, kubeconfig, "list", "deployments", "-n", namespace)
    proc = OperatorProcess(cluster, [namespace], tmp_path / "op.log", extra_args=["--kubeconfig", str(kubeconfig)])
    with proc:
        try:
            assert proc.probe("/healthz") == (200, "ok\n")
            eventually(lambda: refused("statefulsets", proc.log_text()), what="the StatefulSet LIST refused")
            status, why = proc.probe("/readyz")
            assert (status, why) == (503, "workload cache not synced yet (first LIST incomplete)\n")
            assert not proc.cache_synced()

            grant(cluster, "operator", namespace, operator_rules(*without, "statefulsets"), namespace)
            wait_until_allowed(cluster, kubeconfig, "list", "statefulsets", "-n", namespace)
            eventually(lambda: proc.probe("/readyz")[0] == 200, timeout=60, what="ready after the RBAC fix")
            assert proc.cache_synced()
            assert proc.probe("/healthz") == (200, "ok\n")
        finally:
            if request.node.stash.get(FAILED, False):
                print(f"--- operator log ---\n{proc.log_text()[-15000:]}")


def test_leader_and_warm_standby_are_both_ready(
    crds: LocalCluster, namespace: str, tmp_path: Path, operator_kubeconfig: Path | None
) -> None:
    creds = operator_kubeconfig
    a = OperatorProcess(crds, [namespace], tmp_path / "a.log", identity=f"{namespace}-a", kubeconfig=creds)
    b = OperatorProcess(crds, [namespace], tmp_path / "b.log", identity=f"{namespace}-b", kubeconfig=creds)
    with a:
        eventually(a.is_leader, timeout=30, what="a leads")
        with b:
            eventually(lambda: b.probe("/readyz")[0] == 200, timeout=30, what="the standby ready")
            assert b.probe("/readyz") == (200, "cache synced; standby\n")
            assert not b.is_leader()
            assert a.probe("/readyz") == (200, "cache synced; leading\n")
            assert b.probe("/healthz") == (200, "ok\n")
