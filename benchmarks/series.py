"""What a scrape of /metrics costs, and that the series it exports grow with windows, not with workloads.

W windows each select an equal share of the workloads (Deployments and StatefulSets, no pods), a tenth of them
announced, so every window has pending targets. Once the operator counts every pending target, /metrics is
fetched N times, at once (its watch backlog still draining) and again once the operator is idle: duration
(median, p99), bytes, and the sample lines, in all and per metric family; then more workloads are added under the
same windows and the same is measured again, side by side. A Prometheus scraping the operator reports its own
view (scrape_duration_seconds, scrape_samples_scraped) when it is installed.
"""

from __future__ import annotations

import os
import statistics
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from benchmarks.harness import announce_all, apply_in_chunks, percentile, poll
from tests.cluster.cluster import LocalCluster
from tests.cluster.prometheus import PrometheusError, PrometheusServer
from tests.integration.operator_process import OperatorProcess
from tests.integration.workloads import deployment, statefulset, window

NS = "bench-series"
LABEL = "series-window"


@dataclass(frozen=True)
class Scrapes:
    """N fetches of /metrics with the operator's view complete, and what the last one held."""

    workloads: int
    when: str  # "busy": right after the view became complete, with the watch backlog still draining; or "quiet"
    seconds: list[float]
    size: int
    families: Counter[str]  # sample lines per metric family

    @property
    def samples(self) -> int:
        return sum(self.families.values())


def scrape(operator: OperatorProcess, times: int) -> Scrapes:
    url = f"http://127.0.0.1:{operator.metrics_port}/metrics"
    seconds, body = [], b""
    for _ in range(times):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as response:
            body = response.read()
        seconds.append(time.perf_counter() - started)
    families: Counter[str] = Counter()
    for family in text_string_to_metric_families(body.decode()):
        families[family.name] += len(family.samples)
    return Scrapes(0, "", seconds, len(body), families)


def _busy(i: int, windows: int) -> bool:
    """A tenth of each window's workloads, so every window has pending targets at every size."""
    return (i // windows) % 10 == 0


def _objects(first: int, last: int, windows: int) -> list[dict[str, Any]]:
    """Workloads `first`..`last-1`: every sixth a StatefulSet, each in window i % windows."""
    objects = []
    for i in range(first, last):
        labels = {LABEL: f"w-{i % windows:03d}", "busy": str(_busy(i, windows)).lower()}
        make = statefulset if i % 6 == 5 else deployment
        objects.append(make(f"{'s' if i % 6 == 5 else 'd'}-{i:05d}", labels, replicas=0))
    return objects


def _pending_seen(operator: OperatorProcess) -> int:
    total = 0.0
    for family in text_string_to_metric_families(operator.metrics()):
        if family.name == "maintenance_pending_targets":
            total += sum(s.value for s in family.samples if s.labels.get("namespace") == NS)
    return int(total)


def _grow(cluster: LocalCluster, operator: OperatorProcess, first: int, last: int, windows: int) -> None:
    """Add workloads first..last-1, announce the busy ones, and wait until the operator counts them pending."""
    started = time.monotonic()
    apply_in_chunks(cluster, NS, _objects(first, last, windows))
    announce_all(cluster, NS, kinds="deployments,statefulsets", selector="busy=true")
    pending = sum(1 for i in range(last) if _busy(i, windows))
    poll(lambda: _pending_seen(operator) == pending, 900, f"{pending} pending targets counted", interval=1.0)
    print(f"  {last} workloads ({pending} pending): complete view {time.monotonic() - started:.0f} s after applying")


def _cpu_seconds(operator: OperatorProcess) -> float:
    """User and system CPU time of the operator process so far (/proc/<pid>/stat fields 14 and 15)."""
    assert operator.proc is not None
    fields = Path(f"/proc/{operator.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_quiet(operator: OperatorProcess, seconds: float = 2.0, share: float = 0.1) -> float:
    """Wait until the operator used under `share` of a core over `seconds` (its watch backlog drained); how long."""
    started = time.monotonic()
    last = [_cpu_seconds(operator)]

    def quiet() -> bool:
        end = time.monotonic() + seconds
        poll(lambda: time.monotonic() >= end, seconds + 5, "a measurement interval", interval=0.25)
        now = _cpu_seconds(operator)
        used, last[0] = now - last[0], now
        return used < share * seconds

    poll(quiet, 600, "the operator to be idle", interval=0)
    return time.monotonic() - started


def _report(results: list[Scrapes]) -> None:
    for s in results:
        ms = [t * 1000 for t in s.seconds]
        print(
            f"  {s.workloads:>6} workloads, {s.when}: {len(ms)} scrapes, median {statistics.median(ms):.1f} ms, "
            f"p99 {percentile(ms, 99):.1f} ms, {s.size:,} bytes, {s.samples} samples"
        )
    small, large = (s for s in results if s.when == "quiet")
    names = sorted(set(small.families) | set(large.families))
    own = [n for n in names if n.startswith("maintenance_")]
    print(f"  samples per family ({small.workloads} -> {large.workloads} workloads):")
    for name in own:
        print(f"    {name}: {small.families[name]} -> {large.families[name]}")
    rest = [n for n in names if not n.startswith("maintenance_")]
    print(
        f"    other families ({len(rest)}: process_, python_, ...): {sum(small.families[n] for n in rest)} -> "
        f"{sum(large.families[n] for n in rest)}"
    )
    grown = {n: large.families[n] - small.families[n] for n in own if large.families[n] != small.families[n]}
    print(f"  maintenance_* families whose sample count changed with the workloads: {grown or 'none'}", flush=True)


def _prometheus_view(prometheus: PrometheusServer | None, when: str) -> None:
    """Its last scrape, once it has scraped twice more (1 s interval) since the caller's own scrapes."""
    if prometheus is None:
        return
    end = time.monotonic() + 2.5
    poll(lambda: time.monotonic() >= end, 10, "two Prometheus scrapes", interval=0.5)
    seen = prometheus.query("scrape_duration_seconds"), prometheus.query("scrape_samples_scraped")
    if all(seen):
        duration, samples = seen[0][0].value, seen[1][0].value
        print(f"  Prometheus, {when}: scrape_duration_seconds {duration * 1000:.1f} ms, ", end="")
        print(f"scrape_samples_scraped {samples:.0f}", flush=True)


def bench_series(cluster: LocalCluster, work: Path, windows: int, small: int, large: int, times: int) -> None:
    cluster.create_namespace(NS)
    with OperatorProcess(cluster, [NS], work / "series-operator.log") as operator:
        selectors = [window(f"w-{i:03d}", {"matchLabels": {LABEL: f"w-{i:03d}"}}) for i in range(windows)]
        apply_in_chunks(cluster, NS, selectors)
        target = [f"127.0.0.1:{operator.metrics_port}"]
        try:
            prometheus: PrometheusServer | None = PrometheusServer(work / "prometheus", target).start()
        except PrometheusError as err:
            print(f"  no Prometheus ({err}); its view is left out", flush=True)
            prometheus = None
        try:
            results = []
            for first, last in ((0, small), (small, large)):
                _grow(cluster, operator, first, last, windows)
                for when in ("busy", "quiet"):
                    if when == "quiet":
                        print(f"  idle {_wait_quiet(operator):.0f} s later", flush=True)
                    measured = scrape(operator, times)
                    results.append(Scrapes(last, when, measured.seconds, measured.size, measured.families))
                    _prometheus_view(prometheus, when)
        finally:
            if prometheus is not None:
                prometheus.stop()
    _report(results)
