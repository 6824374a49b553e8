"""What every benchmark needs: bulk workloads, API request counts, operator RSS, percentiles."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.workloads import deployment

_REQUEST_LINE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$", re.MULTILINE)
_LABEL = re.compile(r'(\w+)="([^"]*)"')
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE", "APPLY", "CREATE", "UPDATE"})


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def apply_in_chunks(cluster: LocalCluster, namespace: str, objects: list[dict[str, Any]], chunk: int = 100) -> None:
    for i in range(0, len(objects), chunk):
        doc = {"apiVersion": "v1", "kind": "List", "items": objects[i : i + chunk]}
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(doc), timeout=600)


def create_deployments(cluster: LocalCluster, namespace: str, names: Iterable[str], labels: dict[str, str]) -> None:
    apply_in_chunks(cluster, namespace, [deployment(n, labels, replicas=1) for n in names])


def wait_all_available(
    cluster: LocalCluster, namespace: str, count: int, timeout: float = 900, selector: str = ""
) -> None:
    """Every Deployment of the namespace (or of the label selector) has its current template fully rolled out."""

    def done() -> int:
        items = cluster.kubectl_json("get", "deployments", "-n", namespace, *(["-l", selector] if selector else []))[
            "items"
        ]
        return sum(
            1
            for d in items
            if d["status"].get("observedGeneration") == d["metadata"]["generation"]
            and d["status"].get("updatedReplicas") == d["spec"]["replicas"]
            and d["status"].get("availableReplicas") == d["spec"]["replicas"]
            and d["status"].get("replicas") == d["spec"]["replicas"]
        )

    poll(lambda: done() >= count, timeout, f"{count} Deployments available in {namespace}", interval=2.0)


def announce_all(
    cluster: LocalCluster, namespace: str, reason: str = "benchmark", kinds: str = "deployments", selector: str = ""
) -> None:
    """Announce maintenance on every workload of `kinds` (or those matching `selector`), required since now."""
    since_at = datetime.now(UTC) + timedelta(seconds=1)
    since = iso(since_at)
    cluster.kubectl(
        "annotate",
        kinds,
        *(["-l", selector] if selector else ["--all"]),
        "--overwrite",
        "-n",
        namespace,
        f"maintenance.ops.dev/required={reason}",
        f"maintenance.ops.dev/required-since={since}",
        timeout=600,
    )
    # required-since is ahead of every existing pod, so none counts as done; it must have passed before a window.
    poll(lambda: datetime.now(UTC) > since_at + timedelta(seconds=1), 10, "required-since to pass", interval=0.1)


def poll(probe: Callable[[], object], timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def apiserver_requests(cluster: LocalCluster) -> Counter[tuple[str, str]]:
    """kube-apiserver's apiserver_request_total summed by (verb, resource)."""
    text = cluster.kubectl("get", "--raw", "/metrics").stdout
    counts: Counter[tuple[str, str]] = Counter()
    for match in _REQUEST_LINE.finditer(text):
        labels = dict(_LABEL.findall(match["labels"]))
        resource = labels.get("resource", "")
        if labels.get("subresource"):
            resource += "/" + labels["subresource"]
        counts[(labels.get("verb", "?"), resource)] += int(float(match["value"]))
    return counts


def operator_requests(operator: OperatorProcess) -> Counter[str]:
    """The operator's own API requests by verb, from its /metrics."""
    counts: Counter[str] = Counter()
    for verb, value in re.findall(
        r'^maintenance_operator_api_requests_total\{verb="(\w+)"\} ([0-9.e+]+)$', operator.metrics(), re.MULTILINE
    ):
        counts[verb] = int(float(value))
    return counts


def peak_rss_mib(operator: OperatorProcess) -> float:
    return _status_mib(operator, "VmHWM")


def current_rss_mib(operator: OperatorProcess) -> float:
    return _status_mib(operator, "VmRSS")


def _status_mib(operator: OperatorProcess, field: str) -> float:
    """A memory figure of the operator process from /proc (VmHWM: peak RSS, VmRSS: now)."""
    assert operator.proc is not None
    status = open(f"/proc/{operator.proc.pid}/status").read()  # noqa: SIM115 - /proc, read at once
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def delta(after: Counter[Any], before: Counter[Any]) -> Counter[Any]:
    out = Counter(after)
    out.subtract(before)
    return +out


def by_verb(counts: Counter[tuple[str, str]]) -> dict[str, int]:
    verbs: Counter[str] = Counter()
    for (verb, _), n in counts.items():
        verbs[verb] += n
    return dict(sorted(verbs.items()))
