"""The README's metrics, as a real Prometheus scrapes them from the real operator and answers PromQL about them.

Each metric is made to change the way the README says (a window applied, a target announced, restarted by its
owner, restarted by a window, a failed rollout, a database upgrade, a backup) and is then read through the HTTP
API, with the shipped alert rules evaluated on the same series; at the end every dashboard panel's query must
have data.
"""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from tests.cluster.cluster import REPO_ROOT, LocalCluster, SnapshotStack
from tests.cluster.prometheus import PrometheusServer, Rule
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_backup_window import backed_up, backup_window
from tests.integration.test_backup_window import run_now as backup_run_now
from tests.integration.test_maintenance_rollouts import stuck_then_fine
from tests.integration.test_maintenance_window import SELECT, WEB, announce, run_now, status_of
from tests.integration.test_managed_database import SELECT_DB, db_status, ready
from tests.integration.workloads import apply, deployment, wait_rolled_out, window

pytestmark = pytest.mark.integration

DASHBOARD = json.loads((REPO_ROOT / "deploy" / "grafana" / "dashboard.json").read_text())
RULE_NAMES = [
    rule.get("alert") or rule["record"]
    for group in yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "rules.yaml").read_text())["groups"]
    for rule in group["rules"]
]


def settles(prometheus: PrometheusServer, expr: str, expected: float | None, timeout: float = 60.0) -> None:
    """Wait until `expr` has the value `expected` in Prometheus (None: no sample at all)."""

    def probe() -> bool:
        value = prometheus.value(expr)
        assert value == expected, f"{expr} = {value}, want {expected}"
        return True

    eventually(probe, timeout=timeout, what=expr)


def assert_no_alert_fires(prometheus: PrometheusServer) -> None:
    """The shipped rules evaluate on the real series without error (health is "unknown" before a rule's first
    evaluation), and none fires: the operator did nothing that deserves an alert."""

    def evaluated() -> list[Rule] | None:
        rules = prometheus.rules()
        return rules if rules and all(rule.health == "ok" for rule in rules) else None

    rules = eventually(evaluated, what="every rule evaluated without error")
    assert len(rules) == len(RULE_NAMES)
    assert [rule.name for rule in rules if rule.state == "firing"] == []


def assert_every_panel_has_data(prometheus: PrometheusServer, namespace: str, since: float) -> None:
    """Each query of deploy/grafana/dashboard.json, with Grafana's variables filled in, has data: an instant
    query a sample now, a graph's range query a point since `since` (as Grafana runs them; a step of the
    scrape interval sees every scraped sample)."""
    now = time.time()
    variables = {"$namespace": namespace, "$__rate_interval": "1m", "$__range": f"{int(now - since) + 1}s"}
    empty = []
    for panel in DASHBOARD["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in variables.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, expr
            if target.get("instant"):
                has_data = bool(prometheus.query(expr))
            else:
                has_data = any(series.values for series in prometheus.query_range(expr, since, now, 1))
            if not has_data:
                empty.append(f"{panel['title']}: {expr}")
    assert empty == []


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
        window("weekly", SELECT, noticeBefore="8d"),  # its next start is always within 8 days
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

    # A deleted window's series go, its counters and histogram too (no ghosts on dashboards, none kept).
    cluster.kubectl("delete", "mw", "mars", "weekly", "-n", namespace)
    settles(prometheus, f'maintenance_window_invalid{{{ns},window="mars"}}', None)
    settles(prometheus, f'maintenance_restarts_total{{{weekly},result="succeeded"}}', None)
    settles(prometheus, f"maintenance_restart_duration_seconds_count{{{weekly}}}", None)
    settles(prometheus, f"maintenance_notices_total{{{weekly}}}", None)

    assert_no_alert_fires(prometheus)


def test_a_failed_rollout_shows_in_restarts_and_pending_and_fires_its_alert(
    crds: LocalCluster,
    namespace: str,
    operator: OperatorProcess,
    prometheus: PrometheusServer,
    node_label: str,
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


def test_database_backup_and_dashboard_metrics_through_runs_retention_and_an_upgrade(
    crds: LocalCluster,
    snapshot_stack: SnapshotStack,
    namespace: str,
    operator: OperatorProcess,
    prometheus: PrometheusServer,
) -> None:
    started = time.time()
    cluster = crds
    daily = f'namespace="{namespace}",window="daily"'
    orders = f'namespace="{namespace}",database="orders"'
    apply(cluster, namespace, backed_up("orders"), backup_window(retention={"keepLast": 1}))
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    settles(prometheus, 'maintenance_databases{engine="postgresql",phase="Ready"}', 1.0)
    settles(prometheus, 'maintenance_database_upgrades_pending{engine="postgresql"}', 0.0)

    # Two ad-hoc occurrences (ids have second precision, so the second waits for the next second): each creates
    # a snapshot that becomes ready; the newest is the last success, and keepLast 1 deletes the older one.
    previous: str | None = None
    for run in (1.0, 2.0):
        opened = datetime.now(UTC).replace(microsecond=0)
        eventually(lambda since=opened: datetime.now(UTC) >= since + timedelta(seconds=1), what="the next second")  # type: ignore[misc]
        backup_run_now(cluster, namespace)
        settles(prometheus, f'maintenance_backup_snapshots_total{{{daily},result="created"}}', run)
        settles(prometheus, f'maintenance_backup_snapshots_total{{{daily},result="ready"}}', run)

        def new_backup(seen: str | None = previous) -> dict[str, str] | None:
            backup: dict[str, str] | None = db_status(cluster, namespace, "orders").get("lastBackup")
            return backup if backup and backup["snapshot"] != seen else None

        backup = eventually(new_backup, what="this run's snapshot as lastBackup")
        previous = backup["snapshot"]
        newest = datetime.fromisoformat(backup["time"].replace("Z", "+00:00")).timestamp()
        settles(prometheus, f"maintenance_backup_last_success_timestamp_seconds{{{orders}}}", newest)
    settles(prometheus, f'maintenance_backup_retention_deletions_total{{{daily},reason="retention"}}', 1.0)
    assert prometheus.value(f'maintenance_backup_snapshots_total{{{daily},result="failed"}}') is None
    assert prometheus.value(f"maintenance_backup_missed_total{{{daily}}}") is None

    # A minor version change is an upgrade waiting for a window (none selects the database yet).
    apply(cluster, namespace, backed_up("orders", version="16.6"))
    settles(prometheus, 'maintenance_database_upgrades_pending{engine="postgresql"}', 1.0)
    assert prometheus.value('maintenance_databases{engine="postgresql",phase="Ready"}') == 1.0

    # The database's window announces the upgrade, then installs it with one restart.
    weekly = f'namespace="{namespace}",window="weekly"'
    apply(cluster, namespace, window("weekly", SELECT_DB, noticeBefore="8d"))
    settles(prometheus, f"maintenance_notices_total{{{weekly}}}", 1.0)
    settles(prometheus, f'maintenance_pending_targets{{{weekly},reason="outside-window"}}', 1.0)
    run_now(cluster, namespace, "weekly")
    eventually(lambda: ready(cluster, namespace, "orders", "16.6"), timeout=120, what="the upgrade installed")
    settles(prometheus, f'maintenance_restarts_total{{{weekly},result="succeeded"}}', 1.0)
    settles(prometheus, 'maintenance_database_upgrades_pending{engine="postgresql"}', 0.0)
    assert_no_alert_fires(prometheus)

    # Every panel of the dashboard has data after this occurrence (a self-service too, for its panel).
    apply(cluster, namespace, deployment("own", WEB, replicas=1))
    wait_rolled_out(cluster, namespace, "deployment/own")
    announce(cluster, namespace, "deployment/own")
    cluster.kubectl("rollout", "restart", "-n", namespace, "deployment/own")
    settles(prometheus, f'maintenance_self_service_total{{namespace="{namespace}"}} > bool 0', 1.0)
    assert_every_panel_has_data(prometheus, namespace, since=started)
