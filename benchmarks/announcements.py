"""`--only announcements`: one Maintenance over N Deployments in M namespaces (replicas 0, so the rollouts cost
nothing): seconds from its creation until its status counts every target pending, the API writes that cost, and
the writes in the idle minute after (target 0). Pending is derived from the announcement in memory: no PATCH per
target."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.harness import WRITES, apply_in_chunks, delta, operator_requests, poll
from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.workloads import deployment

PREFIX = "bench-ann-"
NAME = "bench-announcement"


def _namespaces(count: int) -> list[str]:
    return [f"{PREFIX}{i:03d}" for i in range(count)]


def _status(cluster: LocalCluster) -> dict[str, object]:
    found = cluster.kubectl("get", "mnt", NAME, "-o", "json", check=False)
    return (json.loads(found.stdout).get("status") or {}) if found.returncode == 0 else {}


def bench_announcements(cluster: LocalCluster, work: Path, namespaces: int, per_namespace: int) -> None:
    names = _namespaces(namespaces)
    for ns in names:
        cluster.create_namespace(ns)
        cluster.kubectl("label", "namespace", ns, "bench=announcements", "--overwrite")
        apply_in_chunks(
            cluster, ns, [deployment(f"d-{i:03d}", {"tier": "web"}, replicas=0) for i in range(per_namespace)]
        )
    total = namespaces * per_namespace
    print(f"  {total} Deployments in {namespaces} namespaces created", flush=True)
    # The first name holds the Lease; the pattern makes the cache one filtered cluster-wide watch.
    with OperatorProcess(cluster, [names[0], f"{PREFIX}*"], work / "announcements-operator.log") as operator:
        poll(
            lambda: "maintenance_operator_cache_synced 1.0" in operator.metrics(), 600, "the cache synced", interval=0.5
        )
        before = operator_requests(operator)
        body = {
            "apiVersion": "maintenance.ops.dev/v1alpha1",
            "kind": "Maintenance",
            "metadata": {"name": NAME},
            "spec": {
                "reason": "security",
                "requiredSince": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "targets": {"namespaceSelector": {"matchLabels": {"bench": "announcements"}}, "kinds": ["Deployment"]},
            },
        }
        start = time.monotonic()
        cluster.kubectl("apply", "-f", "-", input=json.dumps(body))
        try:
            poll(
                lambda: _status(cluster).get("pending") == total, 600, f"{total} targets counted pending", interval=0.2
            )
            counted = time.monotonic() - start
            spent = delta(operator_requests(operator), before)
            quiet_from = operator_requests(operator)
            end = time.monotonic() + 60
            poll(lambda: time.monotonic() >= end, 70, "an idle minute", interval=1.0)
            idle = delta(operator_requests(operator), quiet_from)
        finally:
            cluster.kubectl("delete", "mnt", NAME, "--ignore-not-found")
    writes = {v: n for v, n in spent.items() if v in WRITES}
    idle_writes = sum(n for v, n in idle.items() if v in WRITES and v != "PUT")  # PUT: the Lease renewals
    print(f"  every target counted pending after {counted:.2f} s (status.pending == {total})")
    print(f"  operator writes until then: {writes} (no PATCH per target: pending is derived)")
    print(f"  operator writes in the idle minute after, Lease renewals aside: {idle_writes} (target 0)", flush=True)
