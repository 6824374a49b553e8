"""A real Prometheus for tests: scrapes given targets on loopback, answers PromQL through its HTTP API.

The binaries come from Debian's `prometheus` package (`make prometheus` installs it when missing; it has
promtool too), so the alert rules and the dashboard are checked by the same engine users run, not by a
reimplementation. Each server gets a free port, its own data dir and a generated config.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.cluster.processes import Timeout, free_port, http_ok, poll

START_TIMEOUT = 30.0


class PrometheusError(RuntimeError):
    """Prometheus could not be found or started, or refused a query; the message says why."""


def binary(name: str) -> str:
    """Path of `prometheus` or `promtool`; fails with what to run when the package is missing."""
    found = shutil.which(name)
    if found is None:
        raise PrometheusError(f"`{name}` is not on PATH: run `make prometheus` (installs Debian's prometheus package)")
    return found


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector (or a scalar, with no labels)."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and (Unix time, value) points."""

    labels: Mapping[str, str]
    values: list[tuple[float, float]]


@dataclass(frozen=True)
class Rule:
    """A loaded rule as Prometheus reports it: whether its last evaluation worked, and the alert's state."""

    group: str
    name: str
    health: str
    last_error: str
    state: str  # inactive, pending, firing ("" for recording rules)


def service_monitor_scrape_config(monitor: Mapping[str, Any], kubeconfig: Path, interval: str) -> dict[str, Any]:
    """The scrape config the Prometheus Operator derives from a ServiceMonitor: endpoints discovery in its
    namespaces, kept by the Service's labels and the endpoint's port name, labelled with namespace, service, pod
    and the job (the Service's name, or the value of its `jobLabel` label); `honorLabels` keeps the target's own.

    Only the fields deploy/'s ServiceMonitor uses are understood; any other raises, so the test cannot silently
    scrape something else than what users' Prometheus would. `interval` replaces the monitor's (tests wait less).
    """
    spec = monitor["spec"]
    known = {"jobLabel", "selector", "namespaceSelector", "endpoints"}
    if set(spec) - known or set(spec["selector"]) != {"matchLabels"} or len(spec["endpoints"]) != 1:
        raise PrometheusError(f"ServiceMonitor fields this translation does not know: {sorted(spec)}")
    endpoint = spec["endpoints"][0]
    if set(endpoint) - {"port", "path", "interval", "honorLabels"}:
        raise PrometheusError(f"ServiceMonitor endpoint fields this translation does not know: {sorted(endpoint)}")
    keep = [
        {
            "action": "keep",
            "source_labels": [f"__meta_kubernetes_service_label_{_sanitized(label)}"],
            "regex": value,
        }
        for label, value in spec["selector"]["matchLabels"].items()
    ]
    keep.append(
        {"action": "keep", "source_labels": ["__meta_kubernetes_endpoint_port_name"], "regex": endpoint["port"]}
    )
    rename = {"namespace": "__meta_kubernetes_namespace", "service": "__meta_kubernetes_service_name",
              "pod": "__meta_kubernetes_pod_name", "job": "__meta_kubernetes_service_name"}  # fmt: skip
    if "jobLabel" in spec:  # else the job is the Service's name
        rename["job"] = f"__meta_kubernetes_service_label_{_sanitized(spec['jobLabel'])}"
    labels = [{"action": "replace", "source_labels": [meta], "target_label": name} for name, meta in rename.items()]
    meta = monitor["metadata"]
    return {
        "job_name": f"serviceMonitor/{meta['namespace']}/{meta['name']}/0",
        "scrape_interval": interval,
        "scrape_timeout": interval,
        "metrics_path": endpoint.get("path", "/metrics"),
        "honor_labels": bool(endpoint.get("honorLabels", False)),
        "kubernetes_sd_configs": [
            {
                "role": "endpoints",
                "kubeconfig_file": str(kubeconfig),
                "namespaces": {"names": list(spec["namespaceSelector"]["matchNames"])},
            }
        ],
        "relabel_configs": [*keep, *labels],
    }


def _sanitized(label: str) -> str:
    """A Kubernetes label name as Prometheus' discovery meta label spells it."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in label)


class PrometheusServer:
    """One Prometheus process scraping `targets` (host:port) every second as job `job`, and whatever
    `scrape_configs` add (such as `service_monitor_scrape_config()`); a context manager. `executable` replaces
    Debian's prometheus (which has no Kubernetes service discovery) by another build."""

    def __init__(
        self,
        workdir: Path,
        targets: Sequence[str],
        job: str = "maintenance-operator",
        rule_files: Sequence[Path] = (),
        scrape_configs: Sequence[Mapping[str, Any]] = (),
        executable: Path | None = None,
    ) -> None:
        self.workdir = workdir
        self.executable = str(executable) if executable else None
        self.targets = list(targets)
        self.job = job
        self.rule_files = list(rule_files)
        self.scrape_configs = list(scrape_configs)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "prometheus.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> Path:
        """scrape and rule evaluation every second, so a test sees a change within a few seconds."""
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": [
                *([{"job_name": self.job, "static_configs": [{"targets": self.targets}]}] if self.targets else []),
                *self.scrape_configs,
            ],
        }
        path = self.workdir / "prometheus.yml"
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        return path

    def start(self) -> PrometheusServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [
            self.executable or binary("prometheus"),
            f"--config.file={self._config()}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            poll(self._ready, START_TIMEOUT, f"Prometheus on port {self.port} to be ready", interval=0.1)
        except Timeout as error:
            self.stop()
            raise PrometheusError(f"{error}\n{self.log_text()[-4000:]}") from error
        return self

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise PrometheusError(f"prometheus exited with {self.proc.returncode}:\n{self.log_text()[-4000:]}")
        return http_ok(f"{self.url}/-/ready")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # HTTP API ------------------------------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """`data` of an API answer; a PromQL or API error raises PrometheusError with Prometheus's message."""
        url = f"{self.url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:  # 400/422/503 carry a JSON body with the reason
            body = json.loads(error.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {dict(params or {})}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[Sample]:
        """Evaluate `expr` now: the instant vector's samples, or one unlabelled sample for a scalar."""
        data = self._get("/api/v1/query", {"query": expr})
        kind = data["resultType"]
        if kind == "vector":
            return [Sample(labels=item["metric"], value=float(item["value"][1])) for item in data["result"]]
        if kind == "scalar":
            return [Sample(labels={}, value=float(data["result"][1]))]
        raise PrometheusError(f"{expr!r} is a {kind}, not an instant vector or scalar")

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """Evaluate `expr` at every `step` seconds from `start` to `end` (Unix times), as a graph panel does."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = self._get("/api/v1/query_range", params)
        return [
            Series(labels=item["metric"], values=[(float(t), float(v)) for t, v in item["values"]])
            for item in data["result"]
        ]

    def value(self, expr: str) -> float | None:
        """The single sample's value of `expr`, or None while it has no sample; more than one is an error."""
        samples = self.query(expr)
        if len(samples) > 1:
            raise PrometheusError(f"{expr!r} has {len(samples)} samples, expected at most one: {samples}")
        return samples[0].value if samples else None

    def metric_names(self) -> set[str]:
        """Every metric name Prometheus holds a series of (scraped or synthesized, such as `up`)."""
        return set(self._get("/api/v1/label/__name__/values"))

    def firing(self, alert: str) -> bool:
        """Whether the loaded alert rule `alert` fires now (for any of its label sets)."""
        return any(r.name == alert and r.state == "firing" for r in self.rules())

    def rules(self) -> list[Rule]:
        """The loaded rules with their evaluation health and alert state."""
        groups = self._get("/api/v1/rules")["groups"]
        return [
            Rule(
                group=group["name"],
                name=rule["name"],
                health=rule.get("health", ""),
                last_error=rule.get("lastError", ""),
                state=rule.get("state", ""),
            )
            for group in groups
            for rule in group["rules"]
        ]
