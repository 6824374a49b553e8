"""A permission missing from the operator's role: the window's condition and the log name it, no silent stall.

The operator runs under a ServiceAccount bound to deploy/base's ClusterRole minus `patch` on deployments, so the
restart PATCH of a pending Deployment is refused with 403.
"""

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.cluster import REPO_ROOT, LocalCluster
from tests.integration.credentials import TEST_LEASES, install_rbac, serviceaccount_kubeconfig
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.workloads import apply, deployment, get, wait_rolled_out, window

pytestmark = pytest.mark.integration

WEB = {"tier": "web"}


def without_deployment_patch() -> list[dict[str, Any]]:
    """Every rule of deploy/base's ClusterRoles, in one, with `patch` taken off deployments."""
    roles = yaml.safe_load_all((REPO_ROOT / "deploy" / "base" / "clusterrole.yaml").read_text())
    rules: list[dict[str, Any]] = [rule for role in roles for rule in role["rules"]]
    for rule in rules:
        if "deployments" in rule.get("resources", []):
            rule["verbs"] = [v for v in rule["verbs"] if v != "patch"]
    return rules


def ready(cluster: LocalCluster, namespace: str) -> dict[str, Any] | None:
    conditions = (get(cluster, namespace, "mw/weekly").get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), None)


def test_a_missing_patch_permission_is_named_in_the_windows_condition_and_log(
    crds: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    cluster = crds
    install_rbac(cluster)  # the test Lease role
    account = f"limited-{secrets.token_hex(3)}"
    cluster.kubectl("create", "serviceaccount", account, "-n", namespace)
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": account},
        "rules": without_deployment_patch(),
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(role))
    try:
        cluster.kubectl(
            "create",
            "clusterrolebinding",
            account,
            f"--clusterrole={account}",
            f"--serviceaccount={namespace}:{account}",
        )
        cluster.kubectl(
            "create",
            "rolebinding",
            "leases",
            f"--clusterrole={TEST_LEASES}",
            f"--serviceaccount={namespace}:{account}",
            "-n",
            namespace,
        )
        kubeconfig = serviceaccount_kubeconfig(cluster, tmp_path / "kubeconfig.json", account=(namespace, account))
        apply(cluster, namespace, deployment("web", WEB))
        wait_rolled_out(cluster, namespace, "deployment/web")
        # required-since set here, after the pods (or they would count as self-service, and the operator would
        # record that with a deployment PATCH too); its own stamp would be one as well.
        since_at = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
        since = f"maintenance.ops.dev/required-since={since_at.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        cluster.kubectl("annotate", "-n", namespace, "deployment/web", "maintenance.ops.dev/required=security", since)
        eventually(lambda: datetime.now(UTC) >= since_at + timedelta(seconds=1), what="required-since to pass")
        with OperatorProcess(cluster, [namespace], tmp_path / "operator.log", kubeconfig=kubeconfig) as proc:
            apply(cluster, namespace, window("weekly", {"matchLabels": WEB}))
            eventually(lambda: (ready(cluster, namespace) or {}).get("status") == "True", what="the window Ready")
            cluster.kubectl("annotate", "-n", namespace, "mw/weekly", "maintenance.ops.dev/run-now=1")
            expected = (
                f"forbidden: the operator's ServiceAccount may not patch deployments.apps in namespace {namespace}"
            )
            condition = eventually(
                lambda: (c := ready(cluster, namespace)) is not None and c["status"] == "False" and c,
                what="Ready=False",
            )
            assert (condition["reason"], condition["message"]) == ("Forbidden", expected)
            eventually(lambda: expected in proc.log_text(), what="the log line")
            assert proc.log_text().count(expected) == 1, proc.log_text()
            assert "Traceback" not in proc.log_text(), proc.log_text()
    finally:
        cluster.kubectl("delete", "clusterrolebinding,clusterrole", account, "--ignore-not-found")
