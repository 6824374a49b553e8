"""deploy/ against the real API server: every overlay validates, installs, runs restricted, and uninstalls cleanly;
and the ServiceAccount may not do what the operator never needs (the suite proves what it may: it runs under it)."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster import build
from tests.cluster.cluster import REPO_ROOT, LocalCluster
from tests.integration.credentials import SUBJECT
from tests.integration.polling import eventually

pytestmark = pytest.mark.integration

OVERLAYS = ("cluster-wide", "namespaced", "local", "kind")
TEAMS = ("team-a", "team-b")  # the namespaces the namespaced overlay names
NS = "maintenance-operator"


def overlay(name: str) -> str:
    return str(REPO_ROOT / "deploy" / "overlays" / name)


def built(cluster: LocalCluster, name: str) -> list[dict[str, Any]]:
    """The objects an overlay installs, as `kubectl kustomize` renders them."""
    return [d for d in yaml.safe_load_all(cluster.kubectl("kustomize", overlay(name)).stdout) if d]


def ensure_namespaces(cluster: LocalCluster, *names: str) -> None:
    for ns in names:
        cluster.kubectl("create", "namespace", ns, check=False)


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_overlay_passes_a_server_side_dry_run(cluster: LocalCluster, name: str) -> None:
    ensure_namespaces(cluster, NS, *TEAMS)
    result = cluster.kubectl("apply", "-k", overlay(name), "--dry-run=server")
    assert "deployment.apps/maintenance-operator" in result.stdout


def test_the_platform_defaults_pass_a_server_side_dry_run(crds: LocalCluster) -> None:
    """deploy/defaults, applied after an overlay: the platform-default ClusterMaintenanceWindow and
    ClusterBackupWindow fit the served CRDs."""
    result = crds.kubectl("apply", "-k", str(REPO_ROOT / "deploy" / "defaults"), "--dry-run=server")
    assert "clustermaintenancewindow.maintenance.ops.dev/platform-default" in result.stdout
    assert "clusterbackupwindow.maintenance.ops.dev/platform-default" in result.stdout


def test_the_node_maintenance_component_passes_a_server_side_dry_run(crds: LocalCluster, tmp_path: Path) -> None:
    """Added to an overlay as a user's kustomization adds it: the flag and the node permissions."""
    ensure_namespaces(crds, NS)
    here = tmp_path / "with-node-maintenance"
    here.mkdir()
    relative = {
        n: os.path.relpath(REPO_ROOT / "deploy" / n, here)
        for n in ("overlays/cluster-wide", "components/node-maintenance")
    }
    (here / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {"resources": [relative["overlays/cluster-wide"]], "components": [relative["components/node-maintenance"]]}
        )
    )
    rendered = crds.kubectl("kustomize", str(here)).stdout
    assert "--node-maintenance" in rendered
    result = crds.kubectl("apply", "-k", str(here), "--dry-run=server")
    assert "clusterrole.rbac.authorization.k8s.io/maintenance-operator-node-maintenance" in result.stdout


def test_the_prometheus_component_passes_a_server_side_dry_run(cluster: LocalCluster, tmp_path: Path) -> None:
    """Against the Prometheus Operator's own CRD schemas (from its Go module), as a user's kustomization adds it."""
    for crd in sorted(build.monitoring_crd_dir().glob("*.yaml")):
        cluster.kubectl("apply", "--server-side", "-f", str(crd))
    for kind in ("servicemonitors", "prometheusrules"):
        eventually(
            lambda k=kind: cluster.kubectl("get", f"{k}.monitoring.coreos.com", "-A", check=False).returncode == 0,  # type: ignore[misc]
            what=f"the {kind} CRD served",
        )
    ensure_namespaces(cluster, NS)
    here = tmp_path / "with-prometheus"
    here.mkdir()
    relative = {
        name: os.path.relpath(REPO_ROOT / "deploy" / name, here) for name in ("overlays/cluster-wide", "prometheus")
    }
    (here / "kustomization.yaml").write_text(
        yaml.safe_dump({"resources": [relative["overlays/cluster-wide"]], "components": [relative["prometheus"]]})
    )  # kustomize refuses absolute paths
    result = cluster.kubectl("apply", "-k", str(here), "--dry-run=server")
    assert "servicemonitor.monitoring.coreos.com/maintenance-operator" in result.stdout
    assert "prometheusrule.monitoring.coreos.com/maintenance-operator" in result.stdout


@pytest.fixture(scope="module")
def fresh() -> Iterator[LocalCluster]:
    """Its own cluster: installing and deleting deploy/ removes the CRDs the session's tests use."""
    with LocalCluster(nodes=2) as cluster:
        yield cluster


def can(cluster: LocalCluster, verb: str, resource: str, namespace: str | None = None) -> bool:
    where = ["-n", namespace] if namespace else []
    result = cluster.kubectl("auth", "can-i", verb, resource, f"--as={SUBJECT}", *where, check=False)
    return result.stdout.strip() == "yes"


# What the operator must never be able to do, whatever it is asked (namespace None: cluster scope).
MUST_NOT = [
    ("delete", "deployments", "team-a"),
    ("delete", "statefulsets", "team-a"),
    ("delete", "pods", "team-a"),
    ("create", "pods", "team-a"),
    ("create", "pods/exec", "team-a"),
    ("create", "pods/attach", "team-a"),
    ("get", "secrets", "team-a"),
    ("list", "secrets", "team-a"),
    ("watch", "secrets", "team-a"),
    ("escalate", "clusterroles", None),
    ("bind", "clusterroles", None),
    ("escalate", "roles", "team-a"),
    ("bind", "roles", "team-a"),
    ("create", "clusterrolebindings", None),
    ("create", "rolebindings", "team-a"),
    ("get", "nodes", None),
    ("list", "nodes", None),
    ("patch", "nodes", None),
    ("delete", "nodes", None),
    ("update", "leases", "team-a"),  # its Lease lives in its own namespace only
]


def test_install_run_restricted_deny_and_uninstall_leave_nothing_behind(fresh: LocalCluster) -> None:
    cluster = fresh
    for name in ("cluster-wide", "namespaced"):
        ensure_namespaces(cluster, *TEAMS, "team-c")
        objects = built(cluster, name)
        cluster.kubectl("apply", "-k", overlay(name))
        # Two replicas admitted under Pod Security `restricted` (kwok runs them; admission is the API server's).
        eventually(
            lambda: (
                (cluster.kubectl_json("get", "deployment", "maintenance-operator", "-n", NS).get("status") or {}).get(
                    "availableReplicas"
                )
                == 2
            ),
            timeout=120,
            what=f"{name}: two operator Pods admitted and available",
        )
        labels = cluster.kubectl_json("get", "namespace", NS)["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"

        denied = [(v, r, ns) for v, r, ns in MUST_NOT if can(cluster, v, r, ns)]
        assert denied == [], f"{name}: the ServiceAccount may {denied}"
        assert can(cluster, "update", "leases", NS), "its own Lease"
        assert can(cluster, "patch", "deployments", "team-a")
        if name == "namespaced":
            assert not can(cluster, "patch", "deployments", "team-c"), "outside its namespaces"
            assert not can(cluster, "list", "deployments", "team-c")
            assert not can(cluster, "list", "deployments"), "no cluster-wide list"
        else:
            assert can(cluster, "patch", "deployments", "team-c")

        # The CRDs' storage must have finished initializing, or their deletion's cleanup fails and backs off for
        # minutes ("storage is (re)initializing"): a LIST of each kind answers once it has.
        eventually(
            lambda: cluster.kubectl("get", "mw,bw,mdb,cmw,cbw,mnt", "-A", check=False).returncode == 0,
            timeout=120,
            what="the CRDs' storage ready",
        )
        cluster.kubectl("delete", "-k", overlay(name), "--wait=true", timeout=300)
        left = []
        for obj in objects:
            meta = obj["metadata"]
            where = ["-n", str(meta["namespace"])] if meta.get("namespace") else []
            ref = f"{str(obj['kind']).lower()}/{meta['name']}"
            if cluster.kubectl("get", ref, *where, "--ignore-not-found", "-o", "name", check=False).stdout.strip():
                left.append(ref)
        assert left == [], f"{name}: left behind after delete -k: {left}"
        cluster.kubectl("delete", "namespace", *TEAMS, "team-c", "--wait=true", timeout=300)
