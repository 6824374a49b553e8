"""The shipped Grafana dashboard: well-formed panels on the templated Prometheus datasource, reading only metrics
the operator exports, and a sidecar ConfigMap generated from it. (tests/integration/test_prometheus.py runs every
panel's query against a real Prometheus scraping the real operator.)"""

import json
from typing import Any

import yaml

from tests.metrics_catalog import exported, metric_names
from tools import dashboard_configmap

DASHBOARD: dict[str, Any] = json.loads(dashboard_configmap.SOURCE.read_text())
PANELS = [p for p in DASHBOARD["panels"] if p["type"] != "row"]


def test_panels_have_unique_ids_titles_and_fit_the_grid() -> None:
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["title"] and p["description"] for p in PANELS)
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in DASHBOARD["panels"])


def test_every_query_is_on_the_templated_datasource_and_reads_exported_metrics() -> None:
    variables = {v["name"] for v in DASHBOARD["templating"]["list"]}
    assert variables == {"datasource", "namespace"}
    for panel in PANELS:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
            names = metric_names(target["expr"])
            assert names or "up{" in target["expr"], target["expr"]
            assert names - exported().keys() == set(), panel["title"]


def test_configmap_is_generated_from_the_dashboard() -> None:
    committed = dashboard_configmap.TARGET.read_text()
    assert committed == dashboard_configmap.render(dashboard_configmap.SOURCE.read_text()), (
        "stale: run `make dashboard-configmap`"
    )
    configmap = yaml.safe_load(committed)
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(configmap["data"][dashboard_configmap.KEY]) == DASHBOARD
