"""/metrics as exposed: no `_created` series, exactly the metrics and labels the README's table lists, and no
series left behind by a deleted window or database."""

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY, generate_latest

from maintenance_operator.handlers import metrics
from maintenance_operator.kube.client import API_REQUESTS
from tests.metrics_catalog import in_code, in_readme

NS = "unit-test-metrics"


@pytest.fixture
def children() -> Iterator[None]:
    """A child of each kind of metric, removed afterwards so other tests see the registry as it was."""
    metrics.restarts.labels(NS, "weekly", "failed").inc()
    metrics.restart_duration.labels(NS, "weekly").observe(3)
    API_REQUESTS.labels("PROPFIND").inc()
    yield
    metrics.restarts.remove(NS, "weekly", "failed")
    metrics.restart_duration.remove(NS, "weekly")
    API_REQUESTS.remove("PROPFIND")


@pytest.mark.usefixtures("children")
def test_counters_and_histograms_export_no_created_series() -> None:
    text = generate_latest(REGISTRY).decode()
    assert f'maintenance_restarts_total{{namespace="{NS}",result="failed",window="weekly"}} 1.0' in text
    assert f'maintenance_restart_duration_seconds_count{{namespace="{NS}",window="weekly"}} 1.0' in text
    assert 'maintenance_operator_api_requests_total{verb="PROPFIND"} 1.0' in text
    assert [line for line in text.splitlines() if "_created" in line] == []


def test_readme_table_lists_exactly_the_metrics_and_labels_of_the_code() -> None:
    readme, code = in_readme(), in_code()
    assert len(readme) >= 15, "the README's metrics table was not found"
    assert readme == code


def test_forgetting_a_database_drops_its_last_backup_series() -> None:
    metrics.set_database(NS, "orders", "postgresql", "Ready", upgrade_pending=False)
    metrics.last_backup.labels(NS, "orders").set(1_700_000_000)
    metrics.last_backup.labels(NS, "catalog").set(1_700_000_000)
    metrics.forget_database(NS, "orders")
    text = generate_latest(REGISTRY).decode()
    assert f'database="orders",namespace="{NS}"' not in text
    assert f'maintenance_backup_last_success_timestamp_seconds{{database="catalog",namespace="{NS}"}}' in text
    metrics.last_backup.remove(NS, "catalog")


def test_forgetting_a_window_drops_every_series_it_had_and_nothing_else() -> None:
    for window in ("gone", "kept"):
        metrics.restarts.labels(NS, window, "succeeded").inc()
        metrics.restart_duration.labels(NS, window).observe(1)
        metrics.webhook_attempts.labels(NS, window, "error").inc()
        metrics.window_open.labels(NS, window).set(1)
        metrics.set_pending(NS, window, {"outside-window": 2})
        metrics.snapshots.labels(NS, window, "ready").inc()
        metrics.retention_deletions.labels(NS, window, "keep-last").inc()
    metrics.forget_window(NS, "gone")
    metrics.forget_backup_window(NS, "gone")
    text = generate_latest(REGISTRY).decode()
    assert 'window="gone"' not in text
    assert (NS, "gone") not in metrics._pending_reasons, "a forgotten window leaves no entry"
    assert f'maintenance_restarts_total{{namespace="{NS}",result="succeeded",window="kept"}} 1.0' in text
    assert f'maintenance_backup_snapshots_total{{namespace="{NS}",result="ready",window="kept"}} 1.0' in text
    metrics.forget_window(NS, "kept")
    metrics.forget_backup_window(NS, "kept")
    assert f'namespace="{NS}"' not in generate_latest(REGISTRY).decode()
