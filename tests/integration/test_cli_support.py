"""Helpers for the plugin's integration tests (no tests here): run the real `kubectl maintenance`, build objects.

The plugin is run the way users run it: the built kubectl finds `kubectl-maintenance` on PATH (the venv's
script) and execs it, with the cluster's kubeconfig in KUBECONFIG or a ServiceAccount's own kubeconfig.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows.assignment import handling_occurrence
from tests.cluster.cluster import LocalCluster
from tests.cluster.processes import poll

SINCE = "2026-01-05T08:00:00Z"


def _weekly_cron() -> str:
    """Weekly at 14:00 UTC on the day after tomorrow: never open while a run lasts, whatever the day it starts.

    Open, the plugin's table shows "open now, until END" instead of the start the tests look for.
    """
    return f"0 14 * * {(datetime.now(UTC).isoweekday() + 2) % 7}"  # cron's 0 is Sunday, isoweekday's 7


WEEKLY_CRON = _weekly_cron()
WEEKLY = sched.WindowSchedule.parse(WEEKLY_CRON, "1h")
PAUSE = "registry.k8s.io/pause:3.10"  # never pulled: kwok fakes the containers
_CRDS_INSTALLED: set[str] = set()


def expected_starts() -> set[str]:
    """The start the plugin must report for WEEKLY, computed here from the same spec (either side of a boundary)."""
    found = handling_occurrence(WEEKLY, datetime.now(UTC))
    assert found is not None
    return {format_time(found[0].start)}


def install_crds(cluster: LocalCluster) -> None:
    """Apply crds/ once per cluster and wait until the API serves them."""
    if cluster.name in _CRDS_INSTALLED:
        return
    cluster.install_crds()
    _CRDS_INSTALLED.add(cluster.name)


def plugin(
    cluster: LocalCluster, *args: str, kubeconfig: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`kubectl maintenance ARGS` through kubectl's plugin mechanism; never a traceback, whatever the exit."""
    env = dict(cluster.env)
    env["PATH"] = f"{cluster.bin_dir}:{Path(sys.executable).parent}:{env.get('PATH', '')}"
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    result = subprocess.run(
        [str(cluster.bin_dir / "kubectl"), "maintenance", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, f"kubectl maintenance {' '.join(args)}: {result.stderr}"
    return result


def plugin_json(cluster: LocalCluster, *args: str, kubeconfig: Path | None = None) -> Any:
    return json.loads(plugin(cluster, *args, "-o", "json", kubeconfig=kubeconfig).stdout)


def apply(cluster: LocalCluster, namespace: str, *objects: Mapping[str, Any]) -> None:
    items = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(items))


def deployment(
    name: str,
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    replicas: int = 2,
    kind: str = "Deployment",
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "main", "image": PAUSE}]},
        },
    }
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": dict(labels or {}), "annotations": dict(annotations or {})},
        "spec": spec,
    }


def required(reason: str, since: str) -> dict[str, str]:
    return {names.ANNOTATION_REQUIRED: reason, names.ANNOTATION_REQUIRED_SINCE: since}


def window(name: str, kind: str = names.MAINTENANCE_WINDOW, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": names.API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def service_account_kubeconfig(cluster: LocalCluster, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig that authenticates only as `account` (token from `kubectl create token`), default `namespace`."""
    cluster.kubectl("create", "serviceaccount", account, "-n", namespace)
    token = cluster.kubectl("create", "token", account, "-n", namespace).stdout.strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    current = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
    server = next(c for c in admin["clusters"] if c["name"] == current["cluster"])
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": server["cluster"]}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": account, "context": {"cluster": "local", "user": account, "namespace": namespace}}],
        "current-context": account,
    }
    path.write_text(yaml.safe_dump(config))
    return path


RBAC = "rbac.authorization.k8s.io"


def rule(group: str, *resources: str, verbs: tuple[str, ...] = ("list",)) -> dict[str, Any]:
    return {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}


def grant(
    cluster: LocalCluster, account: str, account_namespace: str, rules: list[dict[str, Any]], namespace: str | None
) -> str:
    """Bind `rules` to the ServiceAccount: a Role in `namespace`, or (None) a ClusterRole; returns its name."""
    kind = "Role" if namespace else "ClusterRole"
    name = f"{account_namespace}-{account}"
    role = {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": {"name": name}, "rules": rules}
    binding = {
        "apiVersion": f"{RBAC}/v1",
        "kind": f"{kind}Binding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC, "kind": kind, "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}],
    }
    items = {"apiVersion": "v1", "kind": "List", "items": [role, binding]}
    scope = ["-n", namespace] if namespace else []
    cluster.kubectl("apply", *scope, "-f", "-", input=json.dumps(items))
    return name


def wait_until_allowed(cluster: LocalCluster, kubeconfig: Path, *can_i: str) -> None:
    """RBAC changes take a moment to reach the authorizer's cache."""

    def allowed() -> bool:
        command = [str(cluster.bin_dir / "kubectl"), f"--kubeconfig={kubeconfig}", "auth", "can-i", *can_i]
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip() == "yes"

    poll(allowed, 30, f"RBAC to allow {' '.join(can_i)}")
