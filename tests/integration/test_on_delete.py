"""StatefulSets with `updateStrategy: OnDelete`: the window evicts their pods one at a time, as RollingUpdate would.

Counted from the cluster: the pods' `controller-revision-hash` against the StatefulSet's `updateRevision`, the
order of the API server's own audit records (the operator's evictions, the controller's re-creations), Events.
"""

from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_window import SELECT, WEB, announce, run_now, status_of
from tests.integration.workloads import apply, events_for, get, statefulset, window

pytestmark = pytest.mark.integration

REPLICAS = 3


def on_delete(name: str) -> dict[str, Any]:
    sts = statefulset(name, WEB, replicas=REPLICAS)
    sts["spec"]["updateStrategy"] = {"type": "OnDelete"}
    return sts


def pods(cluster: LocalCluster, namespace: str, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.kubectl_json("get", "pods", "-n", namespace, "-l", f"app={name}")["items"]
    return items


def ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def settled(cluster: LocalCluster, namespace: str, name: str) -> list[dict[str, Any]] | None:
    """Every pod there, ready and on the StatefulSet's update revision."""
    revision = (get(cluster, namespace, f"statefulset/{name}").get("status") or {}).get("updateRevision")
    found = pods(cluster, namespace, name)
    on_revision = [p for p in found if p["metadata"]["labels"].get("controller-revision-hash") == revision]
    return found if len(on_revision) == REPLICAS and all(map(ready, found)) else None


def replacements(cluster: LocalCluster, namespace: str, user_agent: str) -> list[tuple[str, str]]:
    """("evict" | "create", pod) in the order the API server received them."""
    out = []
    for event in cluster.audit_writes():
        ref = event.get("objectRef") or {}
        if ref.get("namespace") != namespace or ref.get("resource") != "pods" or event.get("verb") != "create":
            continue
        if (event.get("responseStatus") or {}).get("code", 200) >= 300:
            continue
        if ref.get("subresource") == "eviction" and event.get("userAgent") == user_agent:
            out.append(("evict", ref["name"]))
        elif not ref.get("subresource"):
            out.append(("create", ref.get("name", "")))
    return out


def test_an_on_delete_statefulset_is_replaced_one_pod_at_a_time_in_its_window(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, on_delete("db"), window("w", SELECT))
    before = eventually(lambda: settled(cluster, namespace, "db"), timeout=90, what="three ready pods")
    old_uids = {p["metadata"]["uid"] for p in before}
    announce(cluster, namespace, "statefulset/db")
    run_now(cluster, namespace, "w")

    def replaced() -> list[dict[str, Any]] | None:
        found = settled(cluster, namespace, "db")
        return found if found and not old_uids & {p["metadata"]["uid"] for p in found} else None

    eventually(replaced, timeout=120, what="every pod replaced from the new revision")
    completed = eventually(
        lambda: events_for(cluster, namespace, "db", "MaintenanceCompleted"), what="maintenance completed"
    )
    assert "restarted by MaintenanceWindow/w" in completed[0]["message"]
    eventually(lambda: status_of(cluster, namespace, "w").get("pendingCount") == 0, what="nothing left pending")

    # One at a time, highest ordinal first: each eviction after the controller re-created the pod before it.
    order = [step for step in replacements(cluster, namespace, operator.user_agent) if step[1]]
    expected = [("evict", "db-2"), ("create", "db-2"), ("evict", "db-1"), ("create", "db-1"), ("evict", "db-0")]
    assert order[-6:-1] == expected and order[-1] == ("create", "db-0"), order
    evicted = events_for(cluster, namespace, "db", "MaintenancePodEvicted")
    assert sorted(e["message"].split()[2] for e in evicted) == ["db-0", "db-1", "db-2"]


def test_a_disruption_budget_holds_the_eviction_until_the_rollout_times_out(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "db"},
        "spec": {"minAvailable": REPLICAS, "selector": {"matchLabels": {"app": "db"}}},
    }
    apply(cluster, namespace, on_delete("db"), budget, window("w", SELECT, rolloutTimeout="1m"))
    before = eventually(lambda: settled(cluster, namespace, "db"), timeout=90, what="three ready pods")
    eventually(
        lambda: (get(cluster, namespace, "pdb/db").get("status") or {}).get("currentHealthy") == REPLICAS,
        what="the budget counts the pods",
    )
    announce(cluster, namespace, "statefulset/db")
    run_now(cluster, namespace, "w")
    failed = eventually(
        lambda: events_for(cluster, namespace, "db", "MaintenanceFailed"), timeout=150, what="the rollout to time out"
    )
    assert "did not complete in time" in failed[0]["message"]
    assert {p["metadata"]["uid"] for p in pods(cluster, namespace, "db")} == {p["metadata"]["uid"] for p in before}
    assert events_for(cluster, namespace, "db", "MaintenancePodEvicted") == []
    assert [p["name"] for p in status_of(cluster, namespace, "w")["pending"]] == ["db"], "still pending"
