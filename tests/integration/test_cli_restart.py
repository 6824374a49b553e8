"""`kubectl maintenance restart`: kubectl's restart, a completed rollout, and the maintenance no longer pending."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from maintenance_operator.api import names
from maintenance_operator.planning.times import parse_time
from tests.cluster.cluster import LocalCluster
from tests.integration.test_cli_support import apply, deployment, install_crds, plugin, plugin_json, required

pytestmark = pytest.mark.integration

SINCE = "2026-01-05T08:00:00Z"


def pod_uids(cluster: LocalCluster, namespace: str, app: str) -> set[str]:
    pods = cluster.kubectl_json("get", "pods", "-n", namespace, "-l", f"app={app}")["items"]
    return {p["metadata"]["uid"] for p in pods if "deletionTimestamp" not in p["metadata"]}


@pytest.mark.parametrize(("kind", "kind_name"), [("deployment", "Deployment"), ("statefulset", "StatefulSet")])
def test_restart_completes_pending_maintenance(
    cluster: LocalCluster, namespace: str, kind: str, kind_name: str
) -> None:
    install_crds(cluster)
    workload = deployment("web", annotations=required("security", SINCE), kind=kind_name)
    apply(cluster, namespace, workload)
    cluster.kubectl("rollout", "status", "-n", namespace, f"{kind}/web", "--timeout=60s")
    before_pods = pod_uids(cluster, namespace, "web")
    assert [row["name"] for row in plugin_json(cluster, "apps", "-n", namespace)["items"]] == ["web"]

    before = datetime.now(UTC).replace(microsecond=0)
    result = plugin(cluster, "restart", f"{kind}/web", "-n", namespace)
    assert f"{kind}/web restarted" in result.stdout
    assert "as done once the rollout completes" in result.stdout

    obj = cluster.kubectl_json("get", kind, "web", "-n", namespace)
    restarted_at = parse_time(obj["spec"]["template"]["metadata"]["annotations"][names.ANNOTATION_RESTARTED_AT])
    assert restarted_at is not None and before <= restarted_at <= datetime.now(UTC)
    cluster.kubectl("rollout", "status", "-n", namespace, f"{kind}/web", "--timeout=60s")
    assert not before_pods & pod_uids(cluster, namespace, "web"), "every pod must be replaced"

    # Restarted after the announcement and rolled out: nothing is pending any more, operator or not.
    assert plugin_json(cluster, "apps", "-n", namespace)["items"] == []


def test_restart_errors(cluster: LocalCluster, namespace: str) -> None:
    paused = deployment("web")
    paused["spec"]["paused"] = True
    apply(cluster, namespace, paused)
    refused = plugin(cluster, "restart", "deploy/web", "-n", namespace, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: deployment/web is paused")
    missing = plugin(cluster, "restart", "sts/nope", "-n", namespace, check=False)
    assert missing.returncode == 1
    assert missing.stderr == f'error: not found: StatefulSet "nope" in namespace "{namespace}"\n'
