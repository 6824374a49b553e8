"""A Maintenance announcement (issue 15): every covered workload becomes pending with its reason in the window
that handles it, without one write per target; a restart by its owners or by the window completes it; a workload
relabelled later joins (one created after `requiredSince` runs newer pods: done at once, by its owners); deleting
an announcement withdraws what was not done. Restarts are counted from ReplicaSets."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_window import iso, run_now, status_of
from tests.integration.workloads import apply, deployment, events_for, revisions, wait_rolled_out, window

pytestmark = pytest.mark.integration

JANUARY_3 = "0 3 1 1 *"  # the window opens only by run-now during the test
OTHER_IMAGE = {"containers": [{"name": "app", "image": "registry.invalid/other:1"}]}


@pytest.fixture
def announcement(crds: LocalCluster, namespace: str) -> Iterator[str]:
    """The Maintenance's name (the namespace's: unique); cluster-scoped, so always deleted afterwards."""
    try:
        yield namespace
    finally:
        crds.kubectl("delete", "mnt", namespace, f"{namespace}-b", "--ignore-not-found", "--wait=true")


def maintenance(name: str, namespace: str, since: datetime) -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "Maintenance",
        "metadata": {"name": name},
        "spec": {
            "reason": "security",
            "description": "the base image gets a fix",
            "requiredSince": iso(since),
            "targets": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "selector": {"matchLabels": {"announce": "yes"}},
                "images": ["registry.invalid/app:*"],
            },
        },
    }


def progress(cluster: LocalCluster, name: str) -> dict[str, Any]:
    status: dict[str, Any] = cluster.kubectl_json("get", "mnt", name).get("status") or {}
    return status


def counts(cluster: LocalCluster, name: str) -> tuple[int | None, int | None]:
    """(total, pending) as the announcement's status says."""
    p = progress(cluster, name)
    return p.get("total"), p.get("pending")


def pending_in_window(cluster: LocalCluster, namespace: str) -> dict[str, list[str]]:
    return {
        p["name"]: p.get("announcements") or [] for p in status_of(cluster, namespace, "weekly").get("pending") or []
    }


def test_an_announcement_is_done_by_owners_and_windows_joins_late_targets_and_withdraws(
    crds: LocalCluster, namespace: str, announcement: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(
        cluster,
        namespace,
        window("weekly", {}, schedule=JANUARY_3),
        deployment("web", {"announce": "yes"}),
        deployment("api", {"announce": "yes"}),
        deployment("other", {"announce": "yes"}, pod_spec=OTHER_IMAGE),
        deployment("late", {}),
    )
    wait_rolled_out(cluster, namespace, "deployment/web", "deployment/api", "deployment/other", "deployment/late")
    since = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    eventually(lambda: datetime.now(UTC) >= since + timedelta(seconds=1), what="requiredSince to pass")
    cluster.kubectl("apply", "-f", "-", input=json.dumps(maintenance(announcement, namespace, since)))

    eventually(
        lambda: pending_in_window(cluster, namespace) == {"web": [announcement], "api": [announcement]},
        what="web and api pending for the announcement in their window; not other (its image), nor late (its labels)",
    )
    eventually(lambda: counts(cluster, announcement) == (2, 2), what="2 of 2 pending")
    annotations = cluster.kubectl_json("get", "deployment", "web", "-n", namespace)["metadata"].get("annotations") or {}
    assert "maintenance.ops.dev/required" not in annotations, "pending is derived: nothing written on the target"
    cluster.kubectl("label", "-n", namespace, "deployment/late", "announce=yes")  # its pods stay: still to do
    eventually(lambda: counts(cluster, announcement) == (3, 3), what="a workload relabelled later joins")

    cluster.kubectl("rollout", "restart", "-n", namespace, "deployment/api")
    wait_rolled_out(cluster, namespace, "deployment/api")
    eventually(lambda: progress(cluster, announcement).get("doneBySelfService") == 1, what="api done by its owners")

    # A second announcement, for other's image, withdrawn before any window ran: other is then never restarted.
    second = maintenance(f"{announcement}-b", namespace, since)
    second["spec"]["targets"]["images"] = ["registry.invalid/other:*"]
    cluster.kubectl("apply", "-f", "-", input=json.dumps(second))
    eventually(lambda: "other" in pending_in_window(cluster, namespace), what="other pending for the second one")
    cluster.kubectl("delete", "mnt", f"{announcement}-b", "--wait=true")
    eventually(lambda: "other" not in pending_in_window(cluster, namespace), what="withdrawn: other not pending")

    before = {name: revisions(cluster, namespace, name) for name in ("web", "api", "other", "late")}
    run_now(cluster, namespace, "weekly")
    done = eventually(
        lambda: (p := progress(cluster, announcement)).get("doneByWindow") == 2 and p.get("pending") == 0 and p,
        timeout=90,
        what="web and late done by the window",
    )
    assert (done["total"], done["doneBySelfService"]) == (3, 1), done
    complete = {c["type"]: c["status"] for c in done["conditions"]}
    assert complete == {"Ready": "True", "Complete": "True", "Overdue": "False"}, done["conditions"]
    wait_rolled_out(cluster, namespace, "deployment/web", "deployment/late")
    after = {name: revisions(cluster, namespace, name) for name in ("web", "api", "other", "late")}
    assert after == {**before, "web": before["web"] + 1, "late": before["late"] + 1}, "by the window, once each"
    uid = cluster.kubectl_json("get", "mnt", announcement)["metadata"]["uid"]
    told = [
        e
        for e in events_for(cluster, "default", announcement, "MaintenanceComplete")
        if e["involvedObject"]["uid"] == uid
    ]
    assert told, "the announcement's Complete Event (in default: it is cluster-scoped)"
    scraped = operator.metrics()
    assert f'maintenance_announcement_targets{{announcement="{announcement}",state="done-by-window"}} 2.0' in scraped
