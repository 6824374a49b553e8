"""The platform's default maintenance window (issue 15): `deploy/defaults`' ClusterMaintenanceWindow handles what
no window of its own namespace selects, leaves to a namespaced window what that one selects, and never touches a
target labelled `maintenance.ops.dev/window: none`. Restarts are counted from ReplicaSets."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.cluster.cluster import REPO_ROOT, LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_cli_support import plugin_json
from tests.integration.test_maintenance_window import announce, iso
from tests.integration.workloads import apply, deployment, events_for, get, revisions, wait_rolled_out, window

pytestmark = pytest.mark.integration

DEFAULT = REPO_ROOT / "deploy" / "defaults" / "clustermaintenancewindow.yaml"
CMW = "cmw/platform-default"
JANUARY_3 = "0 3 1 1 *"  # the namespaced window never opens during a test


@pytest.fixture
def platform_default(crds: LocalCluster) -> Iterator[str]:
    """deploy/defaults' ClusterMaintenanceWindow, as installed; cluster-scoped, so always deleted afterwards (every
    later test's namespace would be covered by it)."""
    crds.kubectl("apply", "-f", str(DEFAULT))
    try:
        yield CMW
    finally:
        crds.kubectl("delete", CMW, "--ignore-not-found", "--wait=true")


def cluster_status(cluster: LocalCluster) -> dict[str, Any]:
    return cluster.kubectl_json("get", CMW).get("status") or {}


def test_the_platform_default_restarts_what_no_namespaced_window_selects(
    crds: LocalCluster, namespace: str, platform_default: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(
        cluster,
        namespace,
        window("team", {"matchLabels": {"team": "handled"}}, schedule=JANUARY_3),
        deployment("own", {"team": "handled"}),
        deployment("api", {"tier": "api"}),
        deployment("optout", {"maintenance.ops.dev/window": "none"}),
    )
    wait_rolled_out(cluster, namespace, "deployment/own", "deployment/api", "deployment/optout")
    for name in ("own", "api", "optout"):
        announce(cluster, namespace, f"deployment/{name}")

    def listed() -> bool:
        status = cluster_status(cluster)
        return [(p["namespace"], p["name"]) for p in status.get("pending") or []] == [(namespace, "api")] and [
            (e["namespace"], e["name"], e["window"]) for e in status.get("handledElsewhere") or []
        ] == [(namespace, "own", "team")]

    eventually(listed, what="the cluster window lists api as its own and own as the team window's")
    rows = {r["name"]: r["window"] for r in plugin_json(cluster, "apps", "-n", namespace)["items"]}
    assert rows.get("api") == "ClusterMaintenanceWindow/platform-default", rows
    assert rows.get("own") == "team", rows

    before = {name: revisions(cluster, namespace, name) for name in ("own", "api", "optout")}
    cluster.kubectl("annotate", CMW, f"maintenance.ops.dev/run-now={iso(datetime.now(UTC))}")

    def ran() -> dict[str, Any] | None:
        last: dict[str, Any] = cluster_status(cluster).get("lastRun") or {}
        return last if last.get("result") == "Succeeded" else None

    last = eventually(ran, timeout=90, what="the cluster window's run-now occurrence restarted api")
    assert last["restarted"] == 1, last
    wait_rolled_out(cluster, namespace, "deployment/api")
    after = {name: revisions(cluster, namespace, name) for name in ("own", "api", "optout")}
    assert after == {**before, "api": before["api"] + 1}, "only api, by the cluster window"
    template = get(cluster, namespace, "deployment/api")["spec"]["template"]["metadata"]["annotations"]
    assert template["maintenance.ops.dev/occurrence-window"] == "ClusterMaintenanceWindow/platform-default"
    eventually(lambda: events_for(cluster, namespace, "api", "MaintenanceCompleted"), what="api's completion Event")
    assert cluster_status(cluster).get("pendingCount") == 0
    uid = cluster.kubectl_json("get", CMW)["metadata"]["uid"]
    opened = [
        e for e in events_for(cluster, "default", "platform-default", "RunNow") if e["involvedObject"]["uid"] == uid
    ]
    assert opened and opened[0]["involvedObject"]["kind"] == "ClusterMaintenanceWindow", "its own Events: in default"
