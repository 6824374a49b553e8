"""Node (hardware) maintenance through the apps' own windows (issue 16): a Maintenance with targets.nodes cordons
the node and makes each workload with pods there pending, each moved off in its own window; once none is left the
node is marked drained; withdrawn, the node is uncordoned as it was found. Pods are counted from the cluster."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.cluster import REPO_ROOT, LocalCluster
from tests.integration.conftest import running
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_window import iso, run_now
from tests.integration.workloads import apply, deployment, events_for, wait_rolled_out, window

pytestmark = pytest.mark.integration

JANUARY_3 = "0 3 1 1 *"  # the windows open only by run-now


def spread(app: str) -> dict[str, Any]:
    """An equal share of the app's pods on every schedulable node, always: a cordoned node (tainted unschedulable
    by the node controller) is then no domain, so a restart puts the pods on the others."""
    constraint = {
        "maxSkew": 1,
        "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "DoNotSchedule",
        "nodeTaintsPolicy": "Honor",
        "labelSelector": {"matchLabels": {"app": app}},
    }
    return {"topologySpreadConstraints": [constraint]}


PDB = {
    "apiVersion": "policy/v1",
    "kind": "PodDisruptionBudget",
    "metadata": {"name": "solo"},
    "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "solo"}}},
}
COMPONENT_ROLE = REPO_ROOT / "deploy" / "components" / "node-maintenance" / "clusterrole.yaml"


@pytest.fixture
def node_operator(
    crds: LocalCluster,
    namespace: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    operator_kubeconfig: Path | None,
) -> Iterator[OperatorProcess]:
    """The operator with --node-maintenance, under the ServiceAccount with the component's node permissions."""
    crds.kubectl("apply", "-f", str(COMPONENT_ROLE))
    try:
        yield from running(crds, namespace, tmp_path, request, operator_kubeconfig, ["--node-maintenance"])
    finally:  # the suite's other operators run without node permissions, as deploy/base installs them
        crds.kubectl("delete", "-f", str(COMPONENT_ROLE), "--ignore-not-found")


def pods_by_node(cluster: LocalCluster, namespace: str, app: str) -> dict[str, int]:
    items = cluster.kubectl_json("get", "pods", "-n", namespace, "-l", f"app={app}")["items"]
    found: dict[str, int] = {}
    for pod in items:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        node = pod["spec"].get("nodeName") or ""
        found[node] = found.get(node, 0) + 1
    return found


@pytest.fixture
def announced_node(crds: LocalCluster, namespace: str) -> Iterator[dict[str, str]]:
    """The node label this test's Maintenance selects, put on the node it picks; always taken off, and the node
    uncordoned, afterwards (nodes are shared by every test)."""
    key = f"rack.test.maintenance.ops.dev/{namespace[-6:]}"
    chosen: dict[str, str] = {"key": key}
    try:
        yield chosen
    finally:
        crds.kubectl("delete", "mnt", namespace, "--ignore-not-found", "--wait=true")
        if "node" in chosen:
            crds.kubectl("label", "node", chosen["node"], f"{key}-", check=False)
            crds.kubectl("uncordon", chosen["node"], check=False)
            marks = (
                "maintenance.ops.dev/cordoned-by-",
                "maintenance.ops.dev/drained-",
                "maintenance.ops.dev/required-",
                "maintenance.ops.dev/required-since-",
            )
            crds.kubectl("annotate", "node", chosen["node"], *marks, check=False)


def node_of(cluster: LocalCluster, name: str) -> dict[str, Any]:
    node: dict[str, Any] = cluster.kubectl_json("get", "node", name)
    return node


def test_a_node_is_emptied_in_each_apps_own_window_then_marked_drained_and_left_as_found(
    crds: LocalCluster, namespace: str, announced_node: dict[str, str], node_operator: OperatorProcess
) -> None:
    cluster = crds
    # A year's notice: each target is told at once, the notice saying whether it means downtime.
    notice = {"schedule": JANUARY_3, "noticeBefore": "8760h"}
    apply(
        cluster,
        namespace,
        window("team-a", {"matchLabels": {"tier": "a"}}, **notice),
        window("team-b", {"matchLabels": {"tier": "b"}}, **notice),
        deployment("alpha", {"tier": "a"}, replicas=6, pod_spec=spread("alpha")),
        deployment("beta", {"tier": "b"}, replicas=6, pod_spec=spread("beta")),
        deployment("solo", {"tier": "b"}, replicas=1),  # one replica, a PodDisruptionBudget that allows no eviction
        PDB,
    )
    wait_rolled_out(cluster, namespace, "deployment/alpha", "deployment/beta", "deployment/solo")
    [node] = pods_by_node(cluster, namespace, "solo")
    alpha, beta = pods_by_node(cluster, namespace, "alpha"), pods_by_node(cluster, namespace, "beta")
    assert node in alpha and node in beta, f"an equal share of each on every node: {alpha}, {beta}"
    announced_node["node"] = node
    cluster.kubectl("label", "node", node, f"{announced_node['key']}=7")

    since = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    eventually(lambda: datetime.now(UTC) >= since + timedelta(seconds=1), what="requiredSince to pass")
    body = {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "Maintenance",
        "metadata": {"name": namespace},
        "spec": {
            "reason": "hardware",
            "description": "the machine is replaced",
            "requiredSince": iso(since),
            "targets": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "nodes": {"matchLabels": {announced_node["key"]: "7"}},
            },
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(body))

    eventually(lambda: node_of(cluster, node)["spec"].get("unschedulable") is True, what="the node cordoned")
    annotations = node_of(cluster, node)["metadata"].get("annotations") or {}
    assert annotations.get("maintenance.ops.dev/cordoned-by") == f"Maintenance/{namespace}"

    def status() -> dict[str, Any]:
        found: dict[str, Any] = cluster.kubectl_json("get", "mnt", namespace).get("status") or {}
        return found

    eventually(lambda: (status().get("total"), status().get("pending")) == (3, 3), what="alpha, beta, solo pending")
    told = eventually(lambda: events_for(cluster, namespace, "solo", "MaintenanceScheduled"), what="solo's notice")
    assert "Downtime expected" in told[0]["message"] and f"Maintenance {namespace}" in told[0]["message"]

    # solo's owners restart it themselves (a rollout, which its PDB does not stop): done by self-service.
    cluster.kubectl("rollout", "restart", "-n", namespace, "deployment/solo")
    wait_rolled_out(cluster, namespace, "deployment/solo")
    eventually(lambda: status().get("doneBySelfService") == 1, what="solo done by its owners")
    assert node not in pods_by_node(cluster, namespace, "solo"), "its new pod started elsewhere: the node is cordoned"

    run_now(cluster, namespace, "team-a")
    eventually(lambda: node not in pods_by_node(cluster, namespace, "alpha"), timeout=120, what="alpha moved off")
    wait_rolled_out(cluster, namespace, "deployment/alpha")
    assert pods_by_node(cluster, namespace, "beta").get(node), "beta waits for its own window"
    assert "maintenance.ops.dev/drained" not in (node_of(cluster, node)["metadata"].get("annotations") or {})

    run_now(cluster, namespace, "team-b")
    eventually(lambda: node not in pods_by_node(cluster, namespace, "beta"), timeout=120, what="beta moved off")
    eventually(
        lambda: "maintenance.ops.dev/drained" in (node_of(cluster, node)["metadata"].get("annotations") or {}),
        what="the node marked drained",
    )
    done = eventually(lambda: (s := status()).get("pending") == 0 and s, what="the announcement complete")
    assert (done["total"], done["doneByWindow"], done["doneBySelfService"]) == (3, 2, 1), done
    [shown] = done["nodes"]
    assert (shown["name"], shown["podsLeft"], shown["cordoned"]) == (node, 0, True), shown

    cluster.kubectl("delete", "mnt", namespace, "--wait=true")
    eventually(lambda: not node_of(cluster, node)["spec"].get("unschedulable"), what="uncordoned, as found")


def test_a_node_annotated_required_is_an_announcement_of_its_own(
    crds: LocalCluster, namespace: str, announced_node: dict[str, str], node_operator: OperatorProcess
) -> None:
    cluster = crds
    apply(
        cluster,
        namespace,
        window("team", {}, schedule=JANUARY_3),
        deployment("gamma", {"tier": "c"}, replicas=6, pod_spec=spread("gamma")),
    )
    wait_rolled_out(cluster, namespace, "deployment/gamma")
    node = announced_node["node"] = sorted(pods_by_node(cluster, namespace, "gamma"))[0]
    cluster.kubectl("annotate", "node", node, "maintenance.ops.dev/required=")  # empty: hardware

    eventually(lambda: node_of(cluster, node)["spec"].get("unschedulable") is True, what="the node cordoned")
    marks = node_of(cluster, node)["metadata"]["annotations"]
    assert marks.get("maintenance.ops.dev/cordoned-by") == f"Node/{node}"
    assert marks.get("maintenance.ops.dev/required-since"), "stamped once, so every replica sees one time"

    def pending() -> list[dict[str, Any]]:
        status = cluster.kubectl_json("get", "mw", "team", "-n", namespace).get("status") or {}
        return [p for p in status.get("pending") or [] if p["name"] == "gamma"]

    [gamma] = eventually(pending, what="gamma pending for the node")
    assert (gamma["reason"], gamma.get("announcements")) == ("hardware", [f"Node/{node}"]), gamma
    run_now(cluster, namespace, "team")
    eventually(lambda: node not in pods_by_node(cluster, namespace, "gamma"), timeout=120, what="gamma moved off")
    eventually(
        lambda: "maintenance.ops.dev/drained" in (node_of(cluster, node)["metadata"].get("annotations") or {}),
        what="the node marked drained",
    )
    cluster.kubectl("annotate", "node", node, "maintenance.ops.dev/required-", "maintenance.ops.dev/required-since-")
    eventually(lambda: not node_of(cluster, node)["spec"].get("unschedulable"), what="uncordoned, as found")
