"""The test Prometheus scrapes a real /metrics endpoint and its query helper returns what Prometheus computed."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from tests.cluster.processes import free_port
from tests.cluster.prometheus import PrometheusError, PrometheusServer
from tests.integration.polling import eventually


@pytest.fixture
def exporter() -> Iterator[tuple[int, CollectorRegistry]]:
    """A /metrics endpoint on loopback with its own registry, standing in for the operator."""
    registry = CollectorRegistry()
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield port, registry
    server.shutdown()
    thread.join(timeout=5)


def test_scrapes_the_target_and_answers_promql(exporter: tuple[int, CollectorRegistry], tmp_path: Path) -> None:
    port, registry = exporter
    events = Counter("harness_events_total", "Events.", ("kind",), registry=registry)
    level = Gauge("harness_level", "Level.", registry=registry)
    events.labels("a").inc(3)
    events.labels("b").inc()
    level.set(7)
    with PrometheusServer(tmp_path, [f"127.0.0.1:{port}"], job="harness") as prometheus:
        up = eventually(lambda: prometheus.query('up{job="harness"}'), what="first scrape")
        assert up[0].value == 1.0 and up[0].labels["instance"] == f"127.0.0.1:{port}"
        samples = {s.labels["kind"]: s.value for s in prometheus.query("harness_events_total")}
        assert samples == {"a": 3.0, "b": 1.0}
        assert prometheus.value("sum(harness_events_total)") == 4.0
        assert prometheus.value("scalar(harness_level) * 2") == 14.0

        level.set(9)  # a later value shows up within a few scrapes
        eventually(lambda: prometheus.value("harness_level") == 9.0, timeout=10, what="the new value scraped")
        assert prometheus.value("absent_metric") is None
        now = time.time()
        (graph,) = prometheus.query_range("harness_level", now - 5, now, 1)
        assert [v for _, v in graph.values][-1] == 9.0 and len(graph.values) >= 2
        assert graph.values[-1][0] == pytest.approx(now, abs=1)
        assert {"up", "harness_events_total", "harness_level"} <= prometheus.metric_names()
        with pytest.raises(PrometheusError, match="bad_data"):
            prometheus.query("sum(")
        with pytest.raises(PrometheusError, match="2 samples"):
            prometheus.value("harness_events_total")
