"""The operator installed the way users install it, running for real: `kubectl apply -k deploy/overlays/local`
puts its two replicas on the real node (as Pods from its own image, under its own ServiceAccount and deploy/'s
roles), and they serve workloads and databases on the kwok nodes.

Outcomes are read from the cluster (ReplicaSets, VolumeSnapshots, the Lease), metrics from the Pods' own
addresses and from a real Prometheus that finds them through the metrics Service as deploy/'s ServiceMonitor
describes it.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from tests.cluster import build, image, realnode
from tests.cluster.cluster import REPO_ROOT, LocalCluster, SnapshotStack
from tests.cluster.prometheus import PrometheusServer, service_monitor_scrape_config
from tests.cluster.realnode import RealNode
from tests.integration.conftest import FAILED
from tests.integration.polling import eventually
from tests.integration.test_backup_window import backed_up, backup_window, snapshots_of
from tests.integration.test_backup_window import last_run as backup_last_run
from tests.integration.test_backup_window import run_now as backup_run_now
from tests.integration.test_maintenance_rollouts import last_run, occurrence_of
from tests.integration.test_maintenance_window import SELECT, WEB, announce, run_now, status_of
from tests.integration.test_managed_database import ready
from tests.integration.workloads import apply, deployment, get, revisions, wait_rolled_out, window

pytestmark = pytest.mark.integration

NS = "maintenance-operator"
LOCAL = REPO_ROOT / "deploy" / "overlays" / "local"
SELECTOR = "app.kubernetes.io/name=maintenance-operator"
# What the overlay adds beside the namespace, roles and CRDs the session's other tests share (and keep).
OWN_KINDS = ("Deployment", "PodDisruptionBudget", "Service")
T = TypeVar("T")
LEASE_DURATION = 15.0  # the operator's default, which deploy/ keeps


def operator_pods(cluster: LocalCluster) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.kubectl_json("get", "pods", "-n", NS, "-l", SELECTOR)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def ready_pods(cluster: LocalCluster) -> list[dict[str, Any]]:
    def is_ready(pod: dict[str, Any]) -> bool:
        conditions = (pod.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    return [p for p in operator_pods(cluster) if is_ready(p)]


def exactly(count: int, items: list[T]) -> list[T] | None:
    return items if len(items) == count else None


def holder(cluster: LocalCluster, among: set[str] | None = None) -> str | None:
    """The Pod that holds the Lease (if it is one of `among`): identities are `<POD_NAME>_<random>`."""
    lease = cluster.kubectl("get", "lease", "maintenance-operator", "-n", NS, "-o", "json", check=False)
    if lease.returncode != 0:
        return None
    identity = json.loads(lease.stdout)["spec"].get("holderIdentity") or ""
    pod = identity.rsplit("_", 1)[0]
    return pod if pod and (among is None or pod in among) else None


def pod_metrics(pod: dict[str, Any]) -> str:
    with urllib.request.urlopen(f"http://{pod['status']['podIP']}:8080/metrics", timeout=5) as response:
        text: str = response.read().decode()
        return text


def assert_runs_restricted(cluster: LocalCluster, pod: str) -> None:
    """Read from the running process through the kubelet: uid 65532, no capabilities, seccomp on, read-only root."""
    status = cluster.kubectl("exec", "-n", NS, pod, "--", "cat", "/proc/1/status").stdout
    fields = dict(re.findall(r"^(\w+):\s+(.*)$", status, re.MULTILINE))
    assert fields["Uid"].split() == ["65532"] * 4
    assert int(fields["CapEff"], 16) == 0
    assert fields["Seccomp"] == "2"
    write = cluster.kubectl("exec", "-n", NS, pod, "--", "touch", "/probe", check=False)
    assert write.returncode != 0 and "Read-only file system" in write.stderr


def an_occurrence_and_a_backup_run(cluster: LocalCluster, namespace: str, real_node: RealNode) -> None:
    """What the leader does for users: a MaintenanceWindow occurrence for a Deployment on the kwok nodes, and a
    BackupWindow run for a database whose volume the CSI driver snapshots."""
    apply(cluster, namespace, deployment("web", WEB, replicas=2), window("weekly", SELECT))
    wait_rolled_out(cluster, namespace, "deployment/web")
    announce(cluster, namespace, "deployment/web")
    eventually(lambda: status_of(cluster, namespace, "weekly").get("pendingCount") == 1, timeout=60, what="pending")
    run_now(cluster, namespace, "weekly")
    done = eventually(lambda: last_run(cluster, namespace, "weekly", "Succeeded"), timeout=120, what="the occurrence")
    assert done["restarted"] == 1
    assert occurrence_of(cluster, namespace, "deployment/web") == done["occurrence"]
    assert revisions(cluster, namespace, "web") == 2, "restarted exactly once"
    web = cluster.kubectl_json("get", "pods", "-n", namespace, "-l", "app=web")["items"]
    assert web and all(p["spec"]["nodeName"] != real_node.name for p in web), "the workload runs on kwok nodes"

    apply(cluster, namespace, backed_up("orders"), backup_window())
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=120, what="orders ready")
    backup_run_now(cluster, namespace)
    run = eventually(lambda: backup_last_run(cluster, namespace, "Succeeded"), timeout=120, what="the backup run")
    assert run["snapshots"] == 1
    (snapshot,) = snapshots_of(cluster, namespace, "orders")
    assert snapshot["metadata"]["labels"]["maintenance.ops.dev/occurrence"] == run["occurrence"]


def scraped_through_the_service_monitor(
    cluster: LocalCluster, tmp_path: Path, names: set[str], leader: str, namespace: str
) -> None:
    """A real Prometheus finds both replicas through the metrics Service, as the ServiceMonitor selects them."""
    monitor = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "servicemonitor.yaml").read_text())
    scrape = service_monitor_scrape_config(monitor, cluster.kubeconfig, interval="1s")
    with PrometheusServer(
        tmp_path / "prometheus",
        targets=[],
        scrape_configs=[scrape],
        rule_files=[REPO_ROOT / "deploy" / "prometheus" / "rules.yaml"],
        executable=build.ensure_tool(build.PROMETHEUS_SD),
    ) as prometheus:
        up = eventually(lambda: exactly(2, prometheus.query("up == 1")), timeout=60, what="both replicas scraped")
        assert {s.labels["pod"] for s in up} == names
        # The job the shipped rules and dashboard select, and the metrics' own namespace label kept.
        assert {s.labels["job"] for s in up} == {"maintenance-operator"}
        # Polled: `up` says each target was scraped once, not that the newest scrape is what the query reads yet.
        eventually(
            lambda: prometheus.value('sum(maintenance_operator_leader{job="maintenance-operator"})') == 1,
            timeout=60,
            what="one leader as Prometheus sees it",
        )
        leading = prometheus.query("maintenance_operator_leader == 1")
        assert [s.labels["pod"] for s in leading] == [leader]
        assert prometheus.value(f'sum(maintenance_restarts_total{{namespace="{namespace}"}})') == 1

        def operator_alerts_quiet() -> bool:
            """MaintenanceOperatorDown and ...WithoutLeader evaluate and stay inactive: their selectors match."""
            alerts = [(r.health, r.state) for r in prometheus.rules() if r.name.startswith("MaintenanceOperator")]
            return len(alerts) == 2 and all(a == ("ok", "inactive") for a in alerts)

        eventually(operator_alerts_quiet, timeout=30, what="the operator alerts evaluated and inactive")


@pytest.fixture
def installed(
    crds: LocalCluster, real_node: RealNode, snapshot_stack: SnapshotStack, request: pytest.FixtureRequest
) -> Iterator[LocalCluster]:
    cluster = crds
    rendered = [d for d in yaml.safe_load_all(cluster.kubectl("kustomize", str(LOCAL)).stdout) if d]
    cluster.kubectl("apply", "-k", str(LOCAL))
    try:
        yield cluster
    finally:
        if request.node.stash.get(FAILED, False):
            for pod in cluster.kubectl_json("get", "pods", "-n", NS, "-l", SELECTOR)["items"]:
                name = pod["metadata"]["name"]
                logs = cluster.kubectl("logs", "-n", NS, name, "--tail=200", check=False)
                print(f"--- {name} ({pod['status'].get('phase')}) ---\n{logs.stdout}{logs.stderr}")
        own = {"apiVersion": "v1", "kind": "List", "items": [d for d in rendered if d["kind"] in OWN_KINDS]}
        cluster.kubectl("delete", "-f", "-", "--wait=true", "--ignore-not-found", input=json.dumps(own), timeout=120)
        eventually(lambda: operator_pods(cluster) == [], timeout=120, what="the operator Pods gone")


def test_two_replicas_on_the_real_node_lead_serve_and_hand_over(
    installed: LocalCluster, namespace: str, real_node: RealNode, tmp_path: Path
) -> None:
    cluster = installed
    pods = eventually(lambda: exactly(2, ready_pods(cluster)), timeout=180, what="two operator Pods Ready")
    names = {p["metadata"]["name"] for p in pods}
    for pod in pods:
        assert pod["spec"]["nodeName"] == real_node.name
        assert pod["spec"]["containers"][0]["image"] == image.reference()
        assert pod["status"]["podIP"].startswith(realnode.NODE_IP.rsplit(".", 1)[0] + ".")
    namespace_labels = cluster.kubectl_json("get", "namespace", NS)["metadata"]["labels"]
    assert namespace_labels["pod-security.kubernetes.io/enforce"] == "restricted"
    leader = eventually(lambda: holder(cluster, among=names), timeout=60, what="one of them leads")
    (standby,) = names - {leader}
    assert_runs_restricted(cluster, leader)

    an_occurrence_and_a_backup_run(cluster, namespace, real_node)

    # Metrics on each Pod's own address; the leader's logs through the kubelet.
    by_name = {p["metadata"]["name"]: p for p in pods}
    assert "maintenance_operator_leader 1.0" in pod_metrics(by_name[leader])
    assert "maintenance_operator_leader 0.0" in pod_metrics(by_name[standby])
    assert "maintenance_operator_cache_synced 1.0" in pod_metrics(by_name[standby])
    lines = cluster.kubectl("logs", "-n", NS, leader).stdout.splitlines()
    messages = [json.loads(line)["message"] for line in lines if line.startswith("{")]  # --log-format=json
    assert any(m.startswith("workload cache synced") for m in messages)
    assert not [m for m in messages if "Forbidden" in m or "forbidden" in m], "deploy/'s roles are enough"

    scraped_through_the_service_monitor(cluster, tmp_path, names, leader, namespace)

    # Deleting the leader's Pod hands over (SIGTERM releases the Lease) to another replica: the standby, or the
    # Deployment's replacement Pod when it asks first (both try; the standby every retry period, 2 s).
    # Its log until it is gone (the teardown prints only the Pods that are left): when it released the Lease.
    follow = [str(cluster.bin_dir / "kubectl"), f"--kubeconfig={cluster.kubeconfig}", "logs", "-f", "-n", NS, leader]
    last_words = tmp_path / "leader.log"
    with last_words.open("w") as out:
        following = subprocess.Popen(follow, stdout=out, stderr=subprocess.STDOUT)
    deleted = time.monotonic()
    cluster.kubectl("delete", "pod", "-n", NS, leader, "--wait=false")

    def new_holder() -> str | None:
        others = {p["metadata"]["name"] for p in operator_pods(cluster)} - {leader}
        return holder(cluster, among=others)

    try:
        successor = eventually(new_holder, timeout=45, interval=0.1, what="another replica takes over")
        waited = time.monotonic() - deleted
        with contextlib.suppress(subprocess.TimeoutExpired):
            following.wait(timeout=60)  # the Pod's log ends with it
    finally:
        following.kill()
    said = last_words.read_text()[-3000:]
    assert waited < LEASE_DURATION, f"taken over after {waited:.1f} s: released, not left to expire\n{said}"
    assert "stopping on a signal: the Lease is released first" in said, said
    third = eventually(
        lambda: {p["metadata"]["name"] for p in ready_pods(cluster)} - names, timeout=120, what="a third replica"
    )
    assert len(third) == 1 and {p["metadata"]["name"] for p in ready_pods(cluster)} == third | {standby}
    # The new leader acts: an announcement without a time gets its required-since.
    cluster.kubectl("annotate", "-n", namespace, "deployment/web", "maintenance.ops.dev/required=security")
    eventually(
        lambda: get(cluster, namespace, "deployment/web")["metadata"]["annotations"].get(
            "maintenance.ops.dev/required-since"
        ),
        timeout=60,
        what="required-since stamped by the new leader",
    )
    assert holder(cluster) == successor
    print(f"the Lease moved from {leader} to {successor} {waited:.1f} s after the Pod's deletion")
