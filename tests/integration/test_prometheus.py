"""The README's metrics, as a real Prometheus scrapes them from the real operator and answers PromQL about them.

Each metric is made to change the way the README says (a window applied, a target announced, restarted by its
owner, restarted by a window, a failed rollout, a database upgrade, a backup) and is then read through the HTTP
API, with the shipped alert rules evaluated on the same series.
"""

from datetime import datetime

import pytest

from tests.cluster.cluster import LocalCluster
from tests.cluster.prometheus import PrometheusServer, Rule
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_rollouts import node_label, stuck_then_fine  # noqa: F401 - node_label: fixture
from tests.integration.test_maintenance_window import SELECT, WEB, announce, run_now, status_of
from tests.integration.workloads import apply, deployment, wait_rolled_out, window

pytestmark = pytest.mark.integration


def settles(prometheus: PrometheusServer, expr: str, expected: float | None, timeout: float = 60.0) -> None:
    """Wait until `expr` has the value `expected` in Prometheus (None: no sample at all)."""

    def probe() -> bool:
        value = prometheus.value(expr)
        assert value == expected, f"{expr} = {value}, want {expected}"
        return True

    eventually(probe, timeout=timeout, what=expr)


def evaluated(prometheus: PrometheusServer) -> list[Rule] | None:
    """The loaded rules once each has been evaluated without error ("unknown" before its first evaluation)."""
    rules = prometheus.rules()
    return rules if rules and all(rule.health == "ok" for rule in rules) else None


def test_window_metrics_follow_notices_self_service_and_a_run(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, prometheus: PrometheusServer
) -> None:
    cluster = crds
    ns = f'namespace="{namespace}"'
    weekly = f'{ns},window="weekly"'
    apply(cluster, namespace, deployment("web", WEB, replicas=2), deployment("own", WEB, replicas=1))
    wait_rolled_out(cluster, namespace, "deployment/web", "deployment/own")
    announce(cluster, namespace, "deployment/web")
    announce(cluster, namespace, "deployment/own")
    apply(
        cluster,
        namespace,
        window("weekly", SELECT, noticeBefore="8d"),  # the next Tuesday 14:00 is always within 8 days
        window("mars", SELECT, timeZone="Mars/Olympus_Mons"),
    )

    # Applied: the next start is the status's, nothing is open, both targets wait outside the window and were told.
    first = eventually(lambda: status_of(cluster, namespace, "weekly").get("nextOccurrences"), what="status")[0]
    start = datetime.fromisoformat(first["start"].replace("Z", "+00:00")).timestamp()
    settles(prometheus, f"maintenance_window_next_start_timestamp_seconds{{{weekly}}}", start)
    settles(prometheus, f"maintenance_window_open{{{weekly}}}", 0.0)
    settles(prometheus, f'maintenance_pending_targets{{{weekly},reason="outside-window"}}', 2.0)
    settles(prometheus, f"maintenance_notices_total{{{weekly}}}", 2.0)
    settles(prometheus, f'maintenance_window_invalid{{{ns},window="mars"}}', 1.0)
    settles(prometheus, f"maintenance_window_invalid{{{weekly}}}", 0.0)

    # The owner restarts one target: self-service, and one target less pending. (Not `== 1`: concurrent watch
    # events of one rollout sometimes record the same completion twice, a known operator race.)
    cluster.kubectl("rollout", "restart", "-n", namespace, "deployment/own")
    settles(prometheus, f'maintenance_self_service_total{{{ns},kind="Deployment"}} > bool 0', 1.0)
    settles(prometheus, f'maintenance_pending_targets{{{weekly},reason="outside-window"}}', 1.0)

    # The window runs now: open, one restart succeeded with its duration observed, nothing pending, and the
    # operator's own client sent the restart's PATCH.
    patches = prometheus.value('maintenance_operator_api_requests_total{verb="PATCH"}') or 0.0
    run_now(cluster, namespace, "weekly")
    settles(prometheus, f"maintenance_window_open{{{weekly}}}", 1.0)
    settles(prometheus, f'maintenance_restarts_total{{{weekly},result="succeeded"}}', 1.0, timeout=90)
    settles(prometheus, f"maintenance_restart_duration_seconds_count{{{weekly}}}", 1.0)
    assert (prometheus.value(f"maintenance_restart_duration_seconds_sum{{{weekly}}}") or 0) > 0
    assert prometheus.value(f'maintenance_restart_duration_seconds_bucket{{{weekly},le="+Inf"}}') == 1.0
    settles(prometheus, f"sum(maintenance_pending_targets{{{weekly}}})", None)
    assert (prometheus.value('maintenance_operator_api_requests_total{verb="PATCH"}') or 0.0) > patches
    assert prometheus.value(f'maintenance_restarts_total{{{weekly},result="failed"}}') is None
    assert prometheus.value(f"maintenance_window_next_start_timestamp_seconds{{{weekly}}}") == start, "run-now"

    # A deleted window's gauges go (no ghosts on dashboards).
    cluster.kubectl("delete", "mw", "mars", "-n", namespace)
    settles(prometheus, f'maintenance_window_invalid{{{ns},window="mars"}}', None)

    # The shipped rules evaluate against these real series without error, and none of them fires.
    rules = eventually(lambda: evaluated(prometheus), what="every rule evaluated without error")
    assert len(rules) >= 10
    assert [r.name for r in rules if r.state == "firing"] == []


def test_a_failed_rollout_shows_in_restarts_and_pending_and_fires_its_alert(
    crds: LocalCluster,
    namespace: str,
    operator: OperatorProcess,
    prometheus: PrometheusServer,
    node_label: str,  # noqa: F811 - the fixture imported above
) -> None:
    cluster = crds
    weekly = f'namespace="{namespace}",window="weekly"'
    stuck_then_fine(cluster, namespace, node_label, onFailure="Stop")
    settles(prometheus, f'maintenance_restarts_total{{{weekly},result="failed"}}', 1.0, timeout=90)
    settles(prometheus, f'maintenance_pending_targets{{{weekly},reason="failed"}}', 1.0)
    settles(prometheus, f'maintenance_pending_targets{{{weekly},reason="stopped-after-failure"}}', 1.0)
    # The window's first failure in this process is a new counter series: the rule's `unless offset` arm sees it.
    firing = f'ALERTS{{alertname="MaintenanceWindowRunFailed",alertstate="firing",{weekly},severity="page"}}'
    settles(prometheus, firing, 1.0, timeout=30)
