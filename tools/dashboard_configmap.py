"""Generate deploy/grafana/configmap.yaml: the dashboard as a ConfigMap that Grafana's dashboard sidecar loads.

dashboard.json is the source (edit it, or export it from Grafana). The sidecar of the Grafana Helm chart and of
kube-prometheus-stack loads ConfigMaps labelled `grafana_dashboard: "1"` by default. A unit test fails when the
committed ConfigMap is stale (`make dashboard-configmap`).
"""

import json
from pathlib import Path

import yaml

from tools import indented, regenerate

DIR = Path(__file__).resolve().parents[1] / "deploy" / "grafana"
SOURCE = DIR / "dashboard.json"
TARGET = DIR / "configmap.yaml"
KEY = "maintenance-operator.json"

HEADER = f"""\
# Generated from dashboard.json by `make dashboard-configmap`: edit dashboard.json, not this file.
apiVersion: v1
kind: ConfigMap
metadata:
  name: maintenance-operator-dashboard
  labels:
    grafana_dashboard: "1"
    app.kubernetes.io/name: maintenance-operator
data:
  {KEY}: |
"""


def render(dashboard_text: str) -> str:
    """The ConfigMap holding `dashboard_text` (which must be JSON) verbatim as one key."""
    json.loads(dashboard_text)
    text = HEADER + indented(dashboard_text, "    ")
    if yaml.safe_load(text)["data"][KEY] != dashboard_text:
        raise ValueError("the dashboard does not survive embedding (it must end with exactly one newline)")
    return text


if __name__ == "__main__":
    regenerate(SOURCE, TARGET, render)
