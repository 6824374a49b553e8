"""`make bench`: MaintenanceWindow figures on a local cluster. Prints numbers; asserts nothing about time.

- restarts: N Deployments (1 replica each), all pending, one window with concurrency C, opened by run-now:
  time to all rollouts complete, API requests by verb, operator peak RSS; then the same restarts with
  `kubectl rollout restart` + `kubectl rollout status`, C in parallel, and the ratio.
- boundary: W windows opening at the same minute boundary, each with one pending Deployment: latency from
  the scheduled start to the restart arriving at a watcher (p50, p99).
- idle: I windows, nothing pending: API writes per minute by the operator (target 0).
- backups: D ManagedDatabases selected by one BackupWindow opening at a minute boundary: latency from the
  window start to each VolumeSnapshot seen by a watcher (p50, p99) and to all ready, API requests, RSS.
- memory: 5,000 Deployments and 1,000 StatefulSets (a tenth of each with a pod and pending maintenance) under one
  window: operator RSS when idle, after watching them being created, and after a restart that lists them (with
  the time from the restarted process's start until it counts every pending target, and its API requests by verb
  until then).
- scale: the same with 20,000 Deployments.
- series: 100 windows over 600, then 6,000 workloads (a tenth pending): /metrics scrape duration (median, p99)
  right after the view is complete and once the operator is idle, bytes and samples in all and per family at
  both sizes (cardinality follows windows, not workloads), and a Prometheus's scrape_duration_seconds and
  scrape_samples_scraped when it is installed.
- failover: two replicas; seconds from the leader's SIGKILL, and from its SIGTERM, to the standby taking the Lease
  and to its first write of work.
- announcements: one Maintenance over 5,000 Deployments in 100 namespaces: seconds until its status counts every
  target pending, the operator's writes until then (no PATCH per target) and in the idle minute after (target 0).
- nodes: 100 kwok nodes and 2,000 Deployments, one node announced: seconds until every workload with a pod there
  is counted pending, the operator's requests until then, its RSS.
- soak: O run-now occurrences over T Deployments, in rounds over W windows (`policy: Always`, each window T/W of
  them): operator RSS at the start, every few occurrences and at the end (memory kept per occurrence would grow).
"""

from __future__ import annotations

import argparse
import math
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import announcements, cache_cost, nodes, series, soak
from benchmarks.harness import (
    WRITES,
    announce_all,
    apiserver_requests,
    apply_in_chunks,
    by_verb,
    create_deployments,
    current_rss_mib,
    delta,
    operator_requests,
    peak_rss_mib,
    percentile,
    poll,
    wait_all_available,
)
from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.workloads import deployment, statefulset, window

ROOT = Path(__file__).resolve().parents[1]


CHOICES = (
    "restarts",
    "boundary",
    "idle",
    "backups",
    "memory",
    "scale",
    "series",
    "failover",
    "soak",
    "announcements",
    "nodes",
)


def window_status(cluster: LocalCluster, namespace: str, name: str) -> dict[str, Any]:
    status: dict[str, Any] = cluster.kubectl_json("get", "mw", name, "-n", namespace).get("status") or {}
    return status


def bench_restarts(cluster: LocalCluster, work: Path, count: int, concurrency: int) -> None:
    ns = "bench-restarts"
    cluster.create_namespace(ns)
    names = [f"app-{i:04d}" for i in range(count)]
    started = time.monotonic()
    create_deployments(cluster, ns, names, {"tier": "bench"})
    wait_all_available(cluster, ns, count)
    print(f"  setup: {count} Deployments available in {time.monotonic() - started:.0f} s", flush=True)
    announce_all(cluster, ns)
    with OperatorProcess(cluster, [ns], work / "restarts-operator.log") as operator:
        apply_in_chunks(cluster, ns, [window("bench", {"matchLabels": {"tier": "bench"}}, concurrency=concurrency)])
        poll(lambda: window_status(cluster, ns, "bench").get("pendingCount") == count, 300, "all pending")
        api_before, own_before = apiserver_requests(cluster), operator_requests(operator)
        opened = time.monotonic()
        cluster.kubectl("annotate", "mw", "bench", "-n", ns, f"maintenance.ops.dev/run-now={time.time():.0f}")

        def finished() -> bool:
            last = window_status(cluster, ns, "bench").get("lastRun") or {}
            return last.get("result") == "Succeeded" and last.get("restarted") == count

        poll(finished, 3600, "all restarts complete", interval=1.0)
        operator_seconds = time.monotonic() - opened
        api = delta(apiserver_requests(cluster), api_before)
        own = delta(operator_requests(operator), own_before)
        rss = peak_rss_mib(operator)
    print(f"  operator: {count} restarts, concurrency {concurrency}: {operator_seconds:.1f} s to all complete")
    print(f"  operator's own API requests during the occurrence: {dict(sorted(own.items()))}")
    print(f"  kube-apiserver requests during the occurrence (all clients) by verb: {by_verb(api)}")
    top = ", ".join(f"{v} {r}: {n}" for (v, r), n in api.most_common(8))
    print(f"    largest: {top}")
    print(f"  operator peak RSS: {rss:.0f} MiB", flush=True)

    def by_kubectl(name: str) -> None:
        cluster.kubectl("rollout", "restart", "-n", ns, f"deployment/{name}")
        cluster.kubectl("rollout", "status", "-n", ns, f"deployment/{name}", "--timeout=600s", timeout=900)

    opened = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(by_kubectl, names))
    kubectl_seconds = time.monotonic() - opened
    print(f"  kubectl rollout restart + status, {concurrency} in parallel: {kubectl_seconds:.1f} s")
    print(f"  ratio kubectl / operator: {kubectl_seconds / operator_seconds:.2f}", flush=True)


def _watch_restarts(cluster: LocalCluster, ns: str, expected: int, deadline: float) -> dict[str, float]:
    """Wall-clock arrival of the first watch event showing each Deployment's occurrence annotation."""
    template = '{.metadata.name} {.spec.template.metadata.annotations.maintenance\\.ops\\.dev/occurrence}{"\\n"}'
    command = [str(cluster.bin_dir / "kubectl"), f"--kubeconfig={cluster.kubeconfig}"]
    command += ["get", "deployments", "-n", ns, "--watch", "-o", f"jsonpath={template}"]
    arrived: dict[str, float] = {}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as watch:
        assert watch.stdout is not None
        try:
            for line in watch.stdout:
                name, _, occurrence = line.strip().partition(" ")
                if occurrence and name not in arrived:
                    arrived[name] = time.time()
                if len(arrived) >= expected or time.time() > deadline:
                    break
        finally:
            watch.kill()
    return arrived


def bench_boundary(cluster: LocalCluster, work: Path, count: int) -> None:
    ns = "bench-boundary"
    cluster.create_namespace(ns)
    names = [f"svc-{i:03d}" for i in range(count)]
    apply_in_chunks(cluster, ns, [deployment(n, {"bench-window": n}) for n in names])
    wait_all_available(cluster, ns, count)
    announce_all(cluster, ns)
    with OperatorProcess(cluster, [ns], work / "boundary-operator.log"):
        now = datetime.now(UTC)
        boundary = (now + timedelta(seconds=120 if now.second >= 30 else 90)).replace(second=0, microsecond=0)
        cron = f"{boundary.minute} {boundary.hour} * * *"
        windows = [window(n, {"matchLabels": {"bench-window": n}}, schedule=cron, duration="5m") for n in names]
        apply_in_chunks(cluster, ns, windows)
        print(f"  {count} windows open at {boundary:%H:%M:%S} UTC", flush=True)
        arrived = _watch_restarts(cluster, ns, count, boundary.timestamp() + 120)
    latencies = [t - boundary.timestamp() for t in arrived.values()]
    print(f"  restarts seen: {len(latencies)}/{count}")
    print(
        f"  latency from scheduled start to the restart at a watcher: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.0f} ms, max {max(latencies, default=math.nan) * 1000:.0f} ms",
        flush=True,
    )


def bench_idle(cluster: LocalCluster, work: Path, count: int, seconds: float) -> None:
    ns = "bench-idle"
    cluster.create_namespace(ns)
    create_deployments(cluster, ns, [f"calm-{i}" for i in range(10)], {"tier": "calm"})
    with OperatorProcess(cluster, [ns], work / "idle-operator.log") as operator:
        windows = [window(f"idle-{i:03d}", {"matchLabels": {"tier": "calm"}}) for i in range(count)]
        apply_in_chunks(cluster, ns, windows)

        def settled() -> bool:
            items = cluster.kubectl_json("get", "mw", "-n", ns)["items"]
            return sum(1 for mw in items if (mw.get("status") or {}).get("nextOccurrences")) == count

        poll(settled, 300, "every window's status written", interval=1.0)
        own_before, api_before = operator_requests(operator), apiserver_requests(cluster)
        end = time.monotonic() + seconds
        poll(lambda: time.monotonic() >= end, seconds + 10, "the measurement period", interval=1.0)
        own = delta(operator_requests(operator), own_before)
        api = delta(apiserver_requests(cluster), api_before)
    per_minute = 60 / seconds
    # The operator's only PUT is its Lease renewal (every retry period), the price of a warm standby.
    own_writes = sum(n for verb, n in own.items() if verb in WRITES and verb != "PUT") * per_minute
    watched = {"maintenancewindows", "maintenancewindows/status", "deployments", "events"}
    api_writes = sum(n for (verb, res), n in api.items() if verb in WRITES and res in watched) * per_minute
    renewals = own.get("PUT", 0) * per_minute
    print(f"  {count} idle windows over {seconds:.0f} s: operator writes/min {own_writes:.1f} (target 0)")
    print(f"  Lease renewals/min (leader election): {renewals:.1f}")
    print(f"  kube-apiserver writes/min to windows, deployments and events (all clients): {api_writes:.1f}")
    print(f"  operator requests/min by verb: { {v: n * per_minute for v, n in sorted(own.items())} }", flush=True)


def _watch_snapshots(cluster: LocalCluster, ns: str, expected: int, deadline: float) -> tuple[list[float], float]:
    """Arrival time of each new VolumeSnapshot at a watcher, and when the last one became ready."""
    from kubernetes import client, config, watch  # noqa: PLC0415 - only this benchmark needs the official client

    api = client.CustomObjectsApi(config.new_client_from_config(str(cluster.kubeconfig)))  # type: ignore[no-untyped-call]
    seen: dict[str, float] = {}
    ready: dict[str, float] = {}
    stream = watch.Watch()  # type: ignore[no-untyped-call]
    for event in stream.stream(  # type: ignore[no-untyped-call]
        api.list_namespaced_custom_object,
        "snapshot.storage.k8s.io",
        "v1",
        ns,
        "volumesnapshots",
        timeout_seconds=max(1, int(deadline - time.time())),
    ):
        obj = event["object"]
        name = obj["metadata"]["name"]
        seen.setdefault(name, time.time())
        if (obj.get("status") or {}).get("readyToUse"):
            ready.setdefault(name, time.time())
        if len(ready) >= expected or time.time() > deadline:
            stream.stop()  # type: ignore[no-untyped-call]
    return list(seen.values()), max(ready.values(), default=math.nan)


def bench_backups(cluster: LocalCluster, work: Path, count: int) -> None:
    ns = "bench-backups"
    cluster.create_namespace(ns)
    cluster.start_snapshot_stack()
    labels = {"bench": "backup"}
    dbs = [
        {
            "apiVersion": "maintenance.ops.dev/v1alpha1",
            "kind": "ManagedDatabase",
            "metadata": {"name": f"db-{i:03d}", "labels": labels},
            "spec": {"engine": "postgresql", "version": "16.4", "storage": {"size": "1Gi"}},
        }
        for i in range(count)
    ]
    with OperatorProcess(cluster, [ns], work / "backups-operator.log") as operator:
        started = time.monotonic()
        apply_in_chunks(cluster, ns, dbs)

        def all_ready() -> bool:
            items = cluster.kubectl_json("get", "mdb", "-n", ns)["items"]
            return sum(1 for i in items if (i.get("status") or {}).get("phase") == "Ready") >= count

        poll(all_ready, 1800, f"{count} databases ready", interval=2.0)
        print(f"  setup: {count} databases ready in {time.monotonic() - started:.0f} s", flush=True)
        now = datetime.now(UTC)
        boundary = (now + timedelta(seconds=120 if now.second >= 30 else 90)).replace(second=0, microsecond=0)
        window = {
            "apiVersion": "maintenance.ops.dev/v1alpha1",
            "kind": "BackupWindow",
            "metadata": {"name": "bench"},
            "spec": {"schedule": f"{boundary.minute} {boundary.hour} * * *", "selector": {"matchLabels": labels}},
        }
        apply_in_chunks(cluster, ns, [window])
        poll(lambda: datetime.now(UTC) >= boundary - timedelta(seconds=5), 300, "the boundary", interval=0.5)
        api_before, own_before = apiserver_requests(cluster), operator_requests(operator)
        seen, last_ready = _watch_snapshots(cluster, ns, count, boundary.timestamp() + 900)
        api = delta(apiserver_requests(cluster), api_before)
        own = delta(operator_requests(operator), own_before)
        rss = peak_rss_mib(operator)
    latencies = [t - boundary.timestamp() for t in seen]
    print(f"  snapshots seen: {len(latencies)}/{count}")
    print(
        f"  window start to each VolumeSnapshot at a watcher: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.0f} ms; to all ready: {last_ready - boundary.timestamp():.1f} s"
    )
    print(f"  operator's own API requests: {dict(sorted(own.items()))}")
    print(f"  kube-apiserver requests (all clients) by verb: {by_verb(api)}")
    print(f"  operator peak RSS: {rss:.0f} MiB", flush=True)


def _pending_seen(operator: OperatorProcess, ns: str, window_name: str) -> int:
    """Targets the operator counts as pending for the window, summed over why they wait (from its /metrics)."""
    series = re.findall(
        rf'^maintenance_pending_targets\{{namespace="{ns}",reason="[^"]*",window="{window_name}"\}} ([0-9.e+]+)$',
        operator.metrics(),
        re.MULTILINE,
    )
    return sum(int(float(v)) for v in series)


def bench_memory(cluster: LocalCluster, work: Path, deployments: int, statefulsets: int, label: str) -> None:
    """RSS and the time to a complete view, watching many workloads (a tenth with a pod and pending maintenance)."""
    ns = f"bench-{label}"
    cluster.create_namespace(ns)
    labels = {"tier": label}
    busy_d, busy_s = deployments // 10, statefulsets // 10
    pending = busy_d + busy_s
    objects = [
        deployment(f"d-{i:05d}", {**labels, "busy": str(i < busy_d).lower()}, replicas=int(i < busy_d))
        for i in range(deployments)
    ]
    objects += [
        statefulset(f"s-{i:04d}", {**labels, "busy": str(i < busy_s).lower()}, replicas=int(i < busy_s))
        for i in range(statefulsets)
    ]

    def settle(operator: OperatorProcess, what: str, since: float) -> tuple[float, Counter[str]]:
        """Seconds from `since` until the operator counts every pending target, and its requests by then."""
        poll(lambda: _pending_seen(operator, ns, label) == pending, 900, what, interval=0.25)
        counted, requests = time.monotonic() - since, operator_requests(operator)
        end = time.monotonic() + 30  # then 30 s for the watch backlog to drain
        poll(lambda: time.monotonic() >= end, 40, "30 s of quiet", interval=1.0)
        return counted, requests

    with OperatorProcess(cluster, [ns], work / f"{label}-operator.log") as operator:
        apply_in_chunks(cluster, ns, [window(label, {"matchLabels": labels})])
        poll(lambda: window_status(cluster, ns, label).get("nextOccurrences"), 60, "window status")
        idle = current_rss_mib(operator)
        started = time.monotonic()
        apply_in_chunks(cluster, ns, objects)
        print(
            f"  setup: {deployments} Deployments, {statefulsets} StatefulSets applied in "
            f"{time.monotonic() - started:.0f} s",
            flush=True,
        )
        wait_all_available(cluster, ns, busy_d, selector="busy=true")

        def sts_ready() -> bool:
            items = cluster.kubectl_json("get", "statefulsets", "-n", ns, "-l", "busy=true")["items"]
            return sum(1 for i in items if (i.get("status") or {}).get("readyReplicas") == 1) >= busy_s

        poll(sts_ready, 900, f"{busy_s} StatefulSets ready", interval=2.0)
        announce_all(
            cluster, ns, kinds="deployments,statefulsets" if statefulsets else "deployments", selector="busy=true"
        )
        settle(operator, f"{pending} pending targets in the operator", time.monotonic())
        watched, watched_peak = current_rss_mib(operator), peak_rss_mib(operator)
        cache_cost.report(cluster, ns)
    restarted = time.monotonic()
    with OperatorProcess(cluster, [ns], work / f"{label}-restart-operator.log") as operator:
        counted, requests = settle(operator, f"{pending} pending targets after a restart", restarted)
        listed, listed_peak = current_rss_mib(operator), peak_rss_mib(operator)
    print(f"  operator RSS idle: {idle:.0f} MiB")
    print(f"  after watching them being created: {watched:.0f} MiB (peak {watched_peak:.0f} MiB)")
    print(f"  after a restart: {counted:.1f} s from the process start until every pending target is counted")
    print(f"  startup API requests by verb until then: {dict(sorted(requests.items()))}")
    print(f"  after a restart that lists them: {listed:.0f} MiB (peak {listed_peak:.0f} MiB)", flush=True)


def bench_failover(cluster: LocalCluster, work: Path) -> None:
    """Seconds from the leader's SIGKILL or SIGTERM to the standby's Lease and its first write of work."""
    ns = "bench-failover"
    cluster.create_namespace(ns)
    apply_in_chunks(cluster, ns, [deployment("web", {"tier": "failover"}, replicas=0)])
    for how in ("SIGKILL", "SIGTERM"):
        _failover_once(cluster, work, ns, how)
        done = ("maintenance.ops.dev/required-", "maintenance.ops.dev/required-since-")
        cluster.kubectl("annotate", "-n", ns, "deployment/web", *done)


def _failover_once(cluster: LocalCluster, work: Path, ns: str, how: str) -> None:
    a = OperatorProcess(cluster, [ns], work / f"failover-{how}-a.log", identity=f"{ns}-{how.lower()}-a")
    b = OperatorProcess(cluster, [ns], work / f"failover-{how}-b.log", identity=f"{ns}-{how.lower()}-b")
    with a, b:
        poll(a.is_leader, 60, "a leads")
        poll(b.cache_synced, 60, "b's cache")
        at = datetime.now(UTC)
        if how == "SIGKILL":
            a.kill()
        else:
            a.signal(signal.SIGTERM)
            a.exit_code(timeout=30)
        # Work for the next leader: an announcement without a time, which it stamps.
        cluster.kubectl("annotate", "-n", ns, "deployment/web", f"maintenance.ops.dev/required={how}")

        def first(resource: str) -> datetime | None:
            times = [
                datetime.fromisoformat(e["requestReceivedTimestamp"].replace("Z", "+00:00"))
                for e in cluster.audit_writes(b.user_agent)
                if e["objectRef"].get("resource") == resource
            ]
            return min(times) if times else None

        poll(lambda: first("deployments") is not None, 60, "the standby's first write")
        lease, work_write = first("leases"), first("deployments")
        assert lease is not None and work_write is not None
        target = "17" if how == "SIGKILL" else "2"
        print(
            f"  {how}: standby took the Lease after {(lease - at).total_seconds():.2f} s, "
            f"first write of work after {(work_write - at).total_seconds():.2f} s (target < {target} s)",
            flush=True,
        )


def run(cluster: LocalCluster, work: Path, args: argparse.Namespace, chosen: list[str]) -> None:
    """The chosen benchmarks, in the order of CHOICES."""
    if "restarts" in chosen:
        print(f"[restarts] {args.deployments} Deployments, concurrency {args.concurrency}", flush=True)
        bench_restarts(cluster, work, args.deployments, args.concurrency)
    if "boundary" in chosen:
        print(f"[boundary] {args.windows} windows at one minute boundary", flush=True)
        bench_boundary(cluster, work, args.windows)
    if "idle" in chosen:
        print(f"[idle] {args.idle_windows} windows, nothing pending", flush=True)
        bench_idle(cluster, work, args.idle_windows, args.idle_seconds)
    if "backups" in chosen:
        print(f"[backups] {args.databases} databases, one BackupWindow", flush=True)
        bench_backups(cluster, work, args.databases)
    if "memory" in chosen:
        print(f"[memory] {args.watched_deployments} Deployments, {args.watched_statefulsets} StatefulSets", flush=True)
        bench_memory(cluster, work, args.watched_deployments, args.watched_statefulsets, "memory")
    if "scale" in chosen:
        print(f"[scale] {args.scale_deployments} Deployments", flush=True)
        bench_memory(cluster, work, args.scale_deployments, 0, "scale")
    if "series" in chosen:
        small, large = args.series_workloads
        print(f"[series] {args.series_windows} windows, {small} then {large} workloads", flush=True)
        series.bench_series(cluster, work, args.series_windows, small, large, args.scrapes)
    if "failover" in chosen:
        print("[failover] two replicas, the leader killed or terminated", flush=True)
        bench_failover(cluster, work)
    if "soak" in chosen:
        print(
            f"[soak] {args.soak_occurrences} run-now occurrences over {args.soak_targets} Deployments, "
            f"{args.soak_windows} windows",
            flush=True,
        )
        soak.bench_soak(
            cluster, work, args.soak_occurrences, args.soak_targets, args.soak_windows, args.soak_report_every
        )
    if "announcements" in chosen:
        n, per = args.announcement_namespaces, args.announcement_deployments
        print(f"[announcements] one Maintenance over {n * per} Deployments in {n} namespaces", flush=True)
        announcements.bench_announcements(cluster, work, n, per)
    if "nodes" in chosen:
        print(f"[nodes] {args.node_count} nodes, {args.node_deployments} Deployments, one node announced", flush=True)
        nodes.bench_nodes(cluster, work, args.node_count, args.node_deployments)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", choices=CHOICES, action="append")
    parser.add_argument("--databases", type=int, default=200)
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--windows", type=int, default=50)
    parser.add_argument("--idle-windows", type=int, default=100)
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--watched-deployments", type=int, default=5000)
    parser.add_argument("--watched-statefulsets", type=int, default=1000)
    parser.add_argument("--scale-deployments", type=int, default=20000)
    parser.add_argument("--series-windows", type=int, default=100)
    parser.add_argument("--series-workloads", type=int, nargs=2, default=[600, 6000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--soak-occurrences", type=int, default=500)
    parser.add_argument("--soak-targets", type=int, default=100)
    parser.add_argument("--soak-windows", type=int, default=10)
    parser.add_argument("--announcement-namespaces", type=int, default=100)
    parser.add_argument("--announcement-deployments", type=int, default=50, metavar="PER_NAMESPACE")
    parser.add_argument("--node-count", type=int, default=100)
    parser.add_argument("--node-deployments", type=int, default=2000)
    parser.add_argument("--soak-report-every", type=int, default=50, metavar="OCCURRENCES")
    args = parser.parse_args(argv)
    chosen = args.only or list(CHOICES)
    pods = (args.deployments if "restarts" in chosen else 0) + args.windows + args.concurrency + 20
    pods += args.databases if "backups" in chosen else 0
    pods += (args.watched_deployments + args.watched_statefulsets) // 10 if "memory" in chosen else 0
    pods += args.scale_deployments // 10 if "scale" in chosen else 0
    pods += args.soak_targets if "soak" in chosen else 0
    nodes = max(3, math.ceil(pods / 100))
    with tempfile.TemporaryDirectory(prefix="mo-bench-") as tmp, LocalCluster(nodes=nodes) as cluster:
        work = Path(tmp)
        print(f"cluster {cluster.name}: {nodes} fake nodes, started in {cluster.start_seconds:.1f} s", flush=True)
        cluster.install_crds()
        run(cluster, work, args, chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
