"""The operator's own identity in tests: deploy/base's ServiceAccount and roles, and a kubeconfig with its token.

Run under it (the default), every permission the code needs must be in deploy/: a missing one fails a test
instead of passing because the tests are admin.
"""

import json
from pathlib import Path

from tests.cluster.cluster import REPO_ROOT, LocalCluster

NAMESPACE = "maintenance-operator"
SERVICE_ACCOUNT = "maintenance-operator"
SUBJECT = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
RBAC = (
    "namespace.yaml",
    "serviceaccount.yaml",
    "clusterrole.yaml",
    "clusterrolebinding.yaml",
    "leader-election.yaml",
    "cluster-events.yaml",
)
# Tests put each operator's Lease in its test namespace (so every test elects its own leader): the same rules as
# deploy/base's leader-election Role, bound there per test. Test scaffolding only; deploy/ keeps them namespaced.
TEST_LEASES = "maintenance-operator-test-leases"


def install_rbac(cluster: LocalCluster) -> None:
    files = [arg for name in RBAC for arg in ("-f", str(REPO_ROOT / "deploy" / "base" / name))]
    cluster.kubectl("apply", *files)
    role = cluster.kubectl_json("get", "role", "maintenance-operator-leader-election", "-n", NAMESPACE)
    lease_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": TEST_LEASES},
        "rules": role["rules"],
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(lease_role))


def serviceaccount_token(
    cluster: LocalCluster, *bound: str, account: tuple[str, str] = (NAMESPACE, SERVICE_ACCOUNT)
) -> str:
    """A token of the (namespace, name) ServiceAccount valid for a day; `bound` ("Secret", name) ties it to an
    object, so deleting that object revokes it (the API server answers 401 from then on)."""
    args = ["create", "token", account[1], "-n", account[0], "--duration=24h"]
    if bound:
        kind, name = bound
        args += [f"--bound-object-kind={kind}", f"--bound-object-name={name}"]
    return cluster.kubectl(*args).stdout.strip()


def serviceaccount_kubeconfig(
    cluster: LocalCluster,
    path: Path,
    *,
    token_file: Path | None = None,
    account: tuple[str, str] = (NAMESPACE, SERVICE_ACCOUNT),
) -> Path:
    """A kubeconfig for the ServiceAccount: the cluster's server and CA, and a token valid for a day, inline, or
    with `token_file` read from that file (`tokenFile:`, which the caller writes and may rotate)."""
    admin = cluster.kubectl_json("config", "view", "--raw", "--minify")
    server = admin["clusters"][0]["cluster"]
    user = {"tokenFile": str(token_file)} if token_file else {"token": serviceaccount_token(cluster, account=account)}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": server}],
        "users": [{"name": SERVICE_ACCOUNT, "user": user}],
        "contexts": [{"name": "operator", "context": {"cluster": "local", "user": SERVICE_ACCOUNT}}],
        "current-context": "operator",
    }
    path.write_text(json.dumps(config))
    return path


def grant_lease(cluster: LocalCluster, namespace: str) -> None:
    cluster.kubectl(
        "create",
        "rolebinding",
        "maintenance-operator-leases",
        f"--clusterrole={TEST_LEASES}",
        f"--serviceaccount={NAMESPACE}:{SERVICE_ACCOUNT}",
        "-n",
        namespace,
        check=False,  # already there when a test starts a second operator
    )
