"""MaintenanceWindow occurrences around an operator that was not running, with real scheduled occurrences.

One 5-minute test covers three things: an occurrence that opens and closes with the operator stopped (missed,
reported once; one with nothing pending is not), one that is still open when the operator starts (caught up:
its target restarted then, exactly once), and that restart's rollout, held until after the window closed, which is
still reported when it completes.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster
from tests.cluster.prometheus import PrometheusServer
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_rollouts import last_run, occurrence_of
from tests.integration.test_maintenance_window import announce, status_of
from tests.integration.workloads import (
    apply,
    deployment,
    events_for,
    get,
    revisions,
    starting_soon,
    wait_rolled_out,
    window,
)

pytestmark = pytest.mark.integration


def daily(start: datetime) -> dict[str, str]:
    return {"schedule": f"{start.minute} {start.hour} * * *", "duration": "5m"}


def condition(cluster: LocalCluster, namespace: str, name: str, type_: str) -> dict[str, Any]:
    conditions = status_of(cluster, namespace, name).get("conditions") or []
    return next(c for c in conditions if c["type"] == type_)


def pending_names(cluster: LocalCluster, namespace: str, name: str) -> dict[str, str]:
    return {p["name"]: p["waiting"] for p in status_of(cluster, namespace, name).get("pending") or []}


def rolled_out(cluster: LocalCluster, namespace: str, ref: str) -> bool:
    obj = get(cluster, namespace, ref)
    status, want = obj.get("status") or {}, obj["spec"].get("replicas", 1)
    return bool(
        status.get("observedGeneration", 0) >= obj["metadata"]["generation"]
        and status.get("updatedReplicas", 0) == want
        and status.get("availableReplicas", 0) == want
        and status.get("replicas", 0) == want
    )


def test_missed_and_caught_up_occurrences_and_a_rollout_that_completes_after_its_window(
    crds: LocalCluster,
    namespace: str,
    operator: OperatorProcess,
    prometheus: PrometheusServer,
    node_label: str,
) -> None:
    """`missed` (pending target) and `idle` (nothing pending) open at T and close at T+5m with the operator stopped;
    `late` opens at T+1m and is still open when the operator starts after T+5m. Its target's new pod fits no node
    until after `late` closed at T+6m."""
    cluster = crds
    pinned = {"nodeSelector": {node_label: "yes"}}
    apply(
        cluster,
        namespace,
        deployment("skipped", {"window": "missed"}, replicas=1),
        deployment("quiet", {"window": "idle"}, replicas=1),
        deployment("held", {"window": "late"}, replicas=1, pod_spec=pinned),
    )
    wait_rolled_out(cluster, namespace, "deployment/skipped", "deployment/quiet", "deployment/held")
    announce(cluster, namespace, "deployment/skipped")
    announce(cluster, namespace, "deployment/held")
    start, _ = starting_soon()
    late_start = start + timedelta(minutes=1)
    missed_id, late_id = (t.strftime("%Y%m%dT%H%MZ") for t in (start, late_start))
    apply(
        cluster,
        namespace,
        window("missed", {"matchLabels": {"window": "missed"}}, **daily(start)),
        window("idle", {"matchLabels": {"window": "idle"}}, **daily(start)),
        window("late", {"matchLabels": {"window": "late"}}, **daily(late_start)),
    )
    eventually(lambda: status_of(cluster, namespace, "missed").get("pendingCount") == 1, what="missed pending")
    eventually(lambda: status_of(cluster, namespace, "late").get("pendingCount") == 1, what="late pending")
    eventually(lambda: status_of(cluster, namespace, "idle").get("nextOccurrences"), what="idle's status")
    operator.stop()
    assert datetime.now(UTC) < start, "the operator must be down before the first occurrence opens"
    cluster.kubectl("label", "nodes", "--all", f"{node_label}-")  # a restart's new pod fits no node now

    eventually(lambda: datetime.now(UTC) > start + timedelta(minutes=5, seconds=2), timeout=480, interval=2)
    operator.start()

    # The catch-up: `late` opened while the operator was down and is still open: its target is restarted now.
    eventually(lambda: occurrence_of(cluster, namespace, "deployment/held"), timeout=30, what="the catch-up restart")
    assert late_id in (occurrence_of(cluster, namespace, "deployment/held") or "")
    assert datetime.now(UTC) < late_start + timedelta(minutes=5), "the catch-up must happen inside the window"
    caught = eventually(lambda: events_for(cluster, namespace, "late", "CatchUp"), what="the CatchUp event")
    assert late_id in caught[0]["message"]

    missed_total = missed_reported(cluster, namespace, prometheus, missed_id, start)
    nothing_reported(cluster, namespace, prometheus, "idle")
    late_rollout_reported(cluster, namespace, prometheus, node_label, late_start)
    assert last_run(cluster, namespace, "missed", "Missed"), "still reported, never twice"
    assert prometheus.value(missed_total) == 1


def missed_reported(
    cluster: LocalCluster, namespace: str, prometheus: PrometheusServer, missed_id: str, start: datetime
) -> str:
    """Reported once: lastRun, missedOccurrences, condition, Warning, counter and alert; nothing restarted in it,
    its target waits for the next occurrence. Returns the counter's PromQL."""
    missed = eventually(lambda: last_run(cluster, namespace, "missed", "Missed"), what="the missed run")
    assert missed["occurrence"] == missed_id and missed["restarted"] == 0
    status = status_of(cluster, namespace, "missed")
    assert status["missedOccurrences"] == [missed_id]
    assert status["handledThrough"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert condition(cluster, namespace, "missed", "MaintenanceMissed")["status"] == "True"
    assert pending_names(cluster, namespace, "missed") == {"skipped": "outside-window"}
    assert revisions(cluster, namespace, "skipped") == 1, "nothing restarted late, outside the window"
    warning = eventually(lambda: events_for(cluster, namespace, "missed", "MaintenanceMissed"), what="warning")
    assert warning[0]["type"] == "Warning" and missed_id in warning[0]["message"]
    missed_total = f'maintenance_window_missed_total{{namespace="{namespace}",window="missed"}}'
    eventually(lambda: prometheus.value(missed_total) == 1, what="the miss scraped")
    eventually(
        lambda: prometheus.firing("MaintenanceWindowMissed"),
        timeout=30,
        what="the MaintenanceWindowMissed alert firing",
    )
    return missed_total


def nothing_reported(cluster: LocalCluster, namespace: str, prometheus: PrometheusServer, name: str) -> None:
    """A window whose occurrence passed with nothing pending left nothing undone: no miss is reported."""
    idle = status_of(cluster, namespace, name)
    assert not idle.get("missedOccurrences")
    assert idle["handledThrough"] == status_of(cluster, namespace, "missed")["handledThrough"], "decided all the same"
    assert condition(cluster, namespace, name, "MaintenanceMissed")["status"] == "False"
    assert prometheus.value(f'maintenance_window_missed_total{{namespace="{namespace}",window="{name}"}}') is None
    assert events_for(cluster, namespace, name, "MaintenanceMissed") == []


def late_rollout_reported(
    cluster: LocalCluster, namespace: str, prometheus: PrometheusServer, node_label: str, late_start: datetime
) -> None:
    """Still held when its window closes, then let go: reported once it completes, and no longer pending."""
    late_id = late_start.strftime("%Y%m%dT%H%MZ")
    eventually(lambda: datetime.now(UTC) > late_start + timedelta(minutes=5, seconds=2), timeout=120, interval=2)
    assert not rolled_out(cluster, namespace, "deployment/held"), "the rollout must outlast the window"
    assert events_for(cluster, namespace, "held", "MaintenanceCompleted") == []
    assert pending_names(cluster, namespace, "late") == {"held": "in-progress"}
    cluster.kubectl("label", "nodes", "--all", f"{node_label}=yes")
    eventually(lambda: rolled_out(cluster, namespace, "deployment/held"), timeout=60, what="the held rollout")
    done = eventually(lambda: events_for(cluster, namespace, "held", "MaintenanceCompleted"), what="completed event")
    assert late_id in done[0]["message"]
    run = eventually(lambda: last_run(cluster, namespace, "late", "Succeeded"), what="the late run finished")
    assert run["occurrence"] == late_id and run["restarted"] == 1
    assert pending_names(cluster, namespace, "late") == {}
    labels = f'namespace="{namespace}",window="late"'
    eventually(
        lambda: prometheus.value(f'maintenance_restarts_total{{{labels},result="succeeded"}}') == 1,
        what="the late restart counted",
    )
    assert prometheus.value(f"maintenance_restart_duration_seconds_count{{{labels}}}") == 1
    assert revisions(cluster, namespace, "held") == 2, "restarted exactly once"
