"""Pods reduced to where they run and whose they are; which workloads an announced node affects; a node's progress."""

from typing import Any

import pytest

from maintenance_operator.planning.nodes.placement import Placement, Unmanaged, placement
from maintenance_operator.planning.nodes.progress import affected, node_progress, selected_nodes


def pod(
    name: str = "web-7d9f8c6b5-abcde",
    node: str | None = "n1",
    owner: tuple[str, str] | None = ("ReplicaSet", "web-7d9f8c6b5"),
    phase: str = "Running",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "shop",
        "labels": {"pod-template-hash": "7d9f8c6b5"} if labels is None else labels,
        "annotations": annotations or {},
    }
    if owner is not None:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True, "uid": "u"}]
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}, "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("obj", "workload", "unmanaged"),
    [
        pytest.param(pod(), ("Deployment", "web"), None, id="deployment-by-its-replicaset-name"),
        pytest.param(pod(owner=("StatefulSet", "db")), ("StatefulSet", "db"), None, id="statefulset"),
        pytest.param(pod(owner=("DaemonSet", "agent")), None, Unmanaged.DAEMON_SET, id="daemonset"),
        pytest.param(pod(owner=("Node", "n1")), None, Unmanaged.STATIC, id="mirror-pod-owned-by-the-node"),
        pytest.param(
            pod(annotations={"kubernetes.io/config.mirror": "x"}), None, Unmanaged.STATIC, id="mirror-annotation"
        ),
        pytest.param(pod(owner=None), None, Unmanaged.NO_WORKLOAD, id="bare-pod"),
        pytest.param(pod(owner=("ReplicaSet", "standalone")), None, Unmanaged.NO_WORKLOAD, id="replicaset-alone"),
        pytest.param(pod(owner=("Job", "batch")), None, Unmanaged.NO_WORKLOAD, id="job"),
    ],
)
def test_whose_pod_it_is(obj: dict[str, Any], workload: tuple[str, str] | None, unmanaged: Unmanaged | None) -> None:
    found = placement(obj)
    assert found is not None and (found.workload, found.unmanaged, found.node) == (workload, unmanaged, "n1")


@pytest.mark.parametrize("obj", [pod(node=None), pod(phase="Succeeded"), pod(phase="Failed")])
def test_a_pod_holding_nothing_on_a_node_is_not_placed(obj: dict[str, Any]) -> None:
    assert placement(obj) is None


def test_affected_workloads_and_a_nodes_progress() -> None:
    placed = [
        Placement("shop", "web-1", "n1", ("Deployment", "web")),
        Placement("shop", "web-2", "n2", ("Deployment", "web")),
        Placement("shop", "db-0", "n1", ("StatefulSet", "db")),
        Placement("shop", "api-1", "n2", ("Deployment", "api")),
        Placement("kube-system", "agent-x", "n1", None, Unmanaged.DAEMON_SET),
    ]
    assert affected(placed, ["n1"]) == {("Deployment", "shop", "web"), ("StatefulSet", "shop", "db")}
    p = node_progress("n1", placed)
    assert p.left == {("Deployment", "shop", "web"): 1, ("StatefulSet", "shop", "db"): 1} and not p.drained
    assert (p.unmanaged, p.unmanaged_listed) == (1, ["kube-system/agent-x"])
    assert node_progress("n1", [x for x in placed if x.node != "n1" or x.key is None]).drained
    only_web = node_progress("n1", placed, {("Deployment", "shop", "web")})
    assert only_web.left == {("Deployment", "shop", "web"): 1} and only_web.unmanaged == 2, "db is not maintained here"


def test_a_node_selector_selects_only_what_it_names() -> None:
    nodes = {"n1": {"rack": "a"}, "n2": {"rack": "b"}}
    assert selected_nodes({"matchLabels": {"rack": "a"}}, nodes) == ["n1"]
    assert selected_nodes({}, nodes) == [], "{} would cordon every node: it selects none"
