"""`kubectl maintenance apps` and `require` against the real local cluster, through kubectl's plugin mechanism."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from maintenance_operator.api import names
from maintenance_operator.planning.times import parse_time
from tests.cluster.cluster import LocalCluster
from tests.integration.test_cli_support import (
    SINCE,
    WEEKLY_CRON,
    apply,
    deployment,
    expected_starts,
    grant,
    install_crds,
    plugin,
    plugin_json,
    required,
    rule,
    service_account_kubeconfig,
    wait_until_allowed,
    window,
)

pytestmark = pytest.mark.integration

WEB = {"tier": "web"}


def weekly() -> dict[str, object]:
    return window("weekly", schedule=WEEKLY_CRON, duration="1h", selector={"matchLabels": WEB})


def test_apps_shows_window_start_and_unselected(cluster: LocalCluster, namespace: str) -> None:
    install_crds(cluster)
    apply(
        cluster,
        namespace,
        weekly(),
        deployment("web", labels=WEB, annotations=required("security", SINCE)),
        deployment("batch", labels={"tier": "batch"}, annotations=required("hardware", SINCE), replicas=1),
        deployment("quiet", labels=WEB),
    )
    starts = expected_starts()
    data = plugin_json(cluster, "apps", "-n", namespace)
    starts |= expected_starts()
    rows = {row["name"]: row for row in data["items"]}
    assert sorted(rows) == ["batch", "web"]
    web, batch = rows["web"], rows["batch"]
    assert (web["kind"], web["reason"], web["since"], web["window"]) == ("Deployment", "security", SINCE, "weekly")
    assert web["occurrence"]["start"] in starts
    assert web["downtimeExpected"] is False
    assert (batch["window"], batch["note"], batch["downtimeExpected"]) == (None, "no window selects it", True)
    assert data["unreadable"] == []

    table = plugin(cluster, "apps", "-n", namespace).stdout.splitlines()
    assert table[0].split()[:4] == ["NAME", "REASON", "SINCE", "WINDOW"]
    web_line = next(line for line in table if line.startswith("deployment/web "))
    assert "security" in web_line and "weekly" in web_line and web["occurrence"]["start"] in web_line
    batch_line = next(line for line in table if line.startswith("deployment/batch "))
    assert "no window selects it" in batch_line and "downtime expected" in batch_line

    # -A from the admin: the same rows, with their namespace.
    everywhere = plugin_json(cluster, "apps", "-A")
    assert {row["name"] for row in everywhere["items"] if row["namespace"] == namespace} == {"web", "batch"}


def test_require_then_apps(cluster: LocalCluster, namespace: str) -> None:
    install_crds(cluster)
    apply(
        cluster,
        namespace,
        weekly(),
        deployment("web", labels=WEB),
        deployment("db", labels=WEB, kind="StatefulSet", replicas=1),
    )
    assert plugin_json(cluster, "apps", "-n", namespace)["items"] == []

    before = datetime.now(UTC).replace(microsecond=0)
    done = plugin(cluster, "require", "deployment/web", "--reason", "security", "-n", namespace)
    assert "deployment/web: maintenance required (security)" in done.stdout
    plugin(cluster, "require", "sts/db", "--reason", "replace the disks", "--since", SINCE, "-n", namespace)

    annotations = cluster.kubectl_json("get", "deployment", "web", "-n", namespace)["metadata"]["annotations"]
    assert annotations[names.ANNOTATION_REQUIRED] == "security"
    since = parse_time(annotations[names.ANNOTATION_REQUIRED_SINCE])
    assert since is not None and before <= since <= datetime.now(UTC)

    rows = {row["name"]: row for row in plugin_json(cluster, "apps", "-n", namespace)["items"]}
    assert (rows["web"]["reason"], rows["web"]["window"]) == ("security", "weekly")
    assert rows["web"]["since"] == annotations[names.ANNOTATION_REQUIRED_SINCE]
    assert (rows["db"]["kind"], rows["db"]["reason"], rows["db"]["since"]) == (
        "StatefulSet",
        "replace the disks",
        SINCE,
    )
    assert rows["db"]["downtimeExpected"] is True

    missing = plugin(cluster, "require", "deploy/nope", "--reason", "security", "-n", namespace, check=False)
    assert missing.returncode == 1
    assert missing.stderr == f'error: not found: Deployment "nope" in namespace "{namespace}"\n'


def test_restricted_account_sees_its_namespace_and_what_it_could_not_read(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    install_crds(cluster)
    hidden = f"{namespace[:40]}-hidden"
    cluster.create_namespace(hidden)
    cluster_role = None
    try:
        for ns in (namespace, hidden):
            apply(cluster, ns, weekly(), deployment("web", labels=WEB, annotations=required("security", SINCE)))
        kubeconfig = service_account_kubeconfig(cluster, namespace, "viewer", tmp_path / "viewer.yaml")
        rules = [rule("apps", "deployments", "statefulsets"), rule(names.GROUP, "maintenancewindows")]
        grant(cluster, "viewer", namespace, rules, namespace)
        wait_until_allowed(cluster, kubeconfig, "list", "maintenancewindows", "-n", namespace)

        # It may not even list namespaces: it gets its context's namespace and is told the rest was not read.
        data = plugin_json(cluster, "apps", "-A", kubeconfig=kubeconfig)
        assert [(row["namespace"], row["name"], row["window"]) for row in data["items"]] == [
            (namespace, "web", "weekly")
        ]
        assert [u["namespace"] for u in data["unreadable"]] == [None]
        table = plugin(cluster, "apps", "-A", kubeconfig=kubeconfig)
        assert table.stdout.splitlines()[1].startswith(namespace)
        assert "warning: could not read other namespaces" in table.stderr

        # Allowed to list namespaces: the refused one is named.
        cluster_role = grant(cluster, "viewer", namespace, [rule("", "namespaces")], None)
        wait_until_allowed(cluster, kubeconfig, "list", "namespaces")
        result = plugin(cluster, "apps", "-A", kubeconfig=kubeconfig)
        assert (
            f"warning: could not read deployments.apps, statefulsets.apps, maintenancewindows.{names.GROUP} in "
            f"namespace {hidden}: forbidden" in result.stderr
        )
        assert hidden not in result.stdout and namespace in result.stdout

        # Naming a namespace it may not read, or a verb it may not use, is a one-line error.
        denied = plugin(cluster, "apps", "-n", hidden, kubeconfig=kubeconfig, check=False)
        assert denied.returncode == 1
        assert denied.stderr == f'error: forbidden: you may not list deployments.apps in namespace "{hidden}"\n'
        refused = plugin(cluster, "restart", "deployment/web", kubeconfig=kubeconfig, check=False)
        assert refused.returncode == 1
        assert (
            refused.stderr == f'error: forbidden: you may not get deployments.apps "web" in namespace "{namespace}"\n'
        )
    finally:
        cluster.kubectl("delete", "namespace", hidden, "--wait=false", "--ignore-not-found")
        if cluster_role:
            cluster.kubectl("delete", "clusterrole,clusterrolebinding", cluster_role, "--ignore-not-found")
