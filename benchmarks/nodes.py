"""`--only nodes`: N kwok nodes and D Deployments (one pod each), one node announced by a Maintenance: seconds from
its creation until its status counts every workload with a pod there pending, the operator's requests by verb
until then (the pods come from one watch reduced to their placement, never a LIST per workload), and its RSS."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from benchmarks.harness import apply_in_chunks, current_rss_mib, delta, operator_requests, poll, wait_all_available
from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.workloads import deployment

NS = "bench-nodes"
NAME = "bench-node"
LABEL = "bench.maintenance.ops.dev/announced"


def _pods_on(cluster: LocalCluster, node: str) -> Counter[str]:
    items = cluster.kubectl_json("get", "pods", "-n", NS, "--field-selector", f"spec.nodeName={node}")["items"]
    return Counter(p["metadata"]["labels"].get("app", "") for p in items)


def bench_nodes(cluster: LocalCluster, work: Path, nodes: int, deployments: int) -> None:
    cluster.scale_nodes(nodes)
    cluster.create_namespace(NS)
    apply_in_chunks(cluster, NS, [deployment(f"d-{i:04d}", {"tier": "web"}, replicas=1) for i in range(deployments)])
    wait_all_available(cluster, NS, deployments)
    node = cluster.kubectl_json("get", "nodes")["items"][0]["metadata"]["name"]
    expected = len(_pods_on(cluster, node))
    print(f"  {deployments} Deployments on {nodes} nodes; {expected} with a pod on {node}", flush=True)
    cluster.kubectl("label", "node", node, f"{LABEL}=yes", "--overwrite")
    extra = ["--node-maintenance"]
    with OperatorProcess(cluster, [NS], work / "nodes-operator.log", extra_args=extra) as operator:
        poll(
            lambda: "maintenance_operator_cache_synced 1.0" in operator.metrics(), 600, "the cache synced", interval=0.5
        )
        before = operator_requests(operator)
        body = {
            "apiVersion": "maintenance.ops.dev/v1alpha1",
            "kind": "Maintenance",
            "metadata": {"name": NAME},
            "spec": {"reason": "hardware", "targets": {"nodes": {"matchLabels": {LABEL: "yes"}}}},
        }
        start = time.monotonic()
        cluster.kubectl("apply", "-f", "-", input=json.dumps(body))

        def counted() -> bool:
            found = cluster.kubectl("get", "mnt", NAME, "-o", "json", check=False)
            status = (json.loads(found.stdout).get("status") or {}) if found.returncode == 0 else {}
            return status.get("pending") == expected

        try:
            poll(counted, 600, f"{expected} workloads counted pending", interval=0.2)
            seconds = time.monotonic() - start
            spent = delta(operator_requests(operator), before)
            rss = current_rss_mib(operator)
        finally:
            cluster.kubectl("delete", "mnt", NAME, "--ignore-not-found", "--wait=true")
            cluster.kubectl("label", "node", node, f"{LABEL}-", check=False)
    print(f"  every affected workload counted pending after {seconds:.2f} s")
    print(f"  operator requests until then by verb: {dict(sorted(spent.items()))} (no LIST per workload)")
    print(f"  operator RSS with {deployments} pods watched: {rss:.1f} MiB", flush=True)
