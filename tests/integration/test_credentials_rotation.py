"""A token that is rotated and then revoked: the operator re-reads its token file and keeps working.

The operator runs under its ServiceAccount with a kubeconfig whose user has `tokenFile:`, as in-cluster with the
projected token. Token 1 is bound to a Secret; the test writes token 2 to the file and deletes that Secret, so
every request with token 1 gets 401. kopf's watches are renewed every few seconds (`--watch-timeout`), so kopf
meets the 401 too and must log in again for new windows to be seen at all.
"""

import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster
from tests.integration.credentials import NAMESPACE, install_rbac, serviceaccount_kubeconfig, serviceaccount_token
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.workloads import apply, get, window

pytestmark = pytest.mark.integration

LOGIN = "kopf login: using the token in"


def status_of(cluster: LocalCluster, namespace: str, name: str) -> dict[str, Any]:
    return get(cluster, namespace, f"mw/{name}").get("status") or {}


def rejected(cluster: LocalCluster, token: str, tmp_path: Path) -> bool:
    """Whether the API server now refuses `token` (401), asked with that token alone."""
    path = tmp_path / f"probe-{secrets.token_hex(3)}"
    path.write_text(token)
    probe = serviceaccount_kubeconfig(cluster, tmp_path / "probe.kubeconfig", token_file=path)
    result = cluster.kubectl(f"--kubeconfig={probe}", "get", "--raw", "/version", check=False)
    return result.returncode != 0 and "Unauthorized" in result.stderr


def test_operator_keeps_working_after_its_token_is_rotated_and_the_old_one_revoked(
    crds: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    cluster = crds
    install_rbac(cluster)
    anchors = [f"token-anchor-{secrets.token_hex(4)}" for _ in range(2)]
    for name in anchors:
        cluster.kubectl("create", "secret", "generic", name, "-n", NAMESPACE)
    try:
        first, second = (serviceaccount_token(cluster, "Secret", name) for name in anchors)
        token_file = tmp_path / "token"
        token_file.write_text(first)
        kubeconfig = serviceaccount_kubeconfig(cluster, tmp_path / "kubeconfig.json", token_file=token_file)
        proc = OperatorProcess(
            cluster, [namespace], tmp_path / "operator.log", kubeconfig=kubeconfig, extra_args=["--watch-timeout=3"]
        )
        with proc:
            apply(cluster, namespace, window("before", {"matchLabels": {"tier": "web"}}))
            eventually(lambda: status_of(cluster, namespace, "before").get("nextOccurrences"), what="first status")
            logins = proc.log_text().count(LOGIN)
            assert logins == 1, proc.log_text()

            token_file.write_text(second)  # rotated, as kubelet does long before the old one expires
            cluster.kubectl("delete", "secret", anchors[0], "-n", NAMESPACE)
            eventually(lambda: rejected(cluster, first, tmp_path), what="token 1 to be revoked")

            # kopf's next watch request got a 401 with token 1; it logged in again and read token 2.
            eventually(lambda: proc.log_text().count(LOGIN) > logins, timeout=60, what="kopf to log in again")
            apply(cluster, namespace, window("after", {"matchLabels": {"tier": "web"}}))
            eventually(lambda: status_of(cluster, namespace, "after").get("nextOccurrences"), what="a new window")

            # A change seen through kopf's renewed watch, its status written by the operator's own client.
            apply(cluster, namespace, window("before", {"matchLabels": {"tier": "web"}}, schedule="30 2 * * *"))
            eventually(
                lambda: status_of(cluster, namespace, "before")["nextOccurrences"][0]["start"].endswith("02:30:00Z"),
                what="the changed schedule in status",
            )
            assert proc.proc is not None and proc.proc.poll() is None, proc.log_text()
            log = proc.log_text()
            assert "Traceback" not in log and "Unauthorized" not in log, log
    finally:
        cluster.kubectl("delete", "secret", *anchors, "-n", NAMESPACE, "--ignore-not-found")
