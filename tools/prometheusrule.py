"""Generate deploy/prometheus/prometheusrule.yaml, the Prometheus Operator's form of rules.yaml.

rules.yaml is the source: a plain rules file that promtool checks and tests. The PrometheusRule carries its
`groups:` text unchanged (comments included) under `spec:`, so what is tested is exactly what is deployed; a unit
test fails when the committed file is stale (`make prometheus-rules`).
"""

from pathlib import Path

import yaml

from tools import indented, regenerate

DIR = Path(__file__).resolve().parents[1] / "deploy" / "prometheus"
SOURCE = DIR / "rules.yaml"
TARGET = DIR / "prometheusrule.yaml"

HEADER = """\
# Generated from rules.yaml by `make prometheus-rules`: edit rules.yaml, not this file.
# Add the labels your Prometheus selects rules by (its ruleSelector), e.g. with a kustomize patch.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: maintenance-operator
  namespace: maintenance-operator
  labels:
    app.kubernetes.io/name: maintenance-operator
    app.kubernetes.io/component: alerting-rules
spec:
"""


def render(rules_text: str) -> str:
    """The PrometheusRule for a rules file whose only top-level key is `groups` (its leading comments dropped)."""
    parsed = yaml.safe_load(rules_text)
    if not isinstance(parsed, dict) or set(parsed) != {"groups"}:
        raise ValueError("rules.yaml must hold exactly one top-level key, groups")
    lines = rules_text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("groups:"))
    text = HEADER + indented("\n".join(lines[start:]), "  ")
    if yaml.safe_load(text)["spec"]["groups"] != parsed["groups"]:
        raise ValueError("re-indenting rules.yaml changed its meaning")  # e.g. a tab or a flow scalar spanning lines
    return text


if __name__ == "__main__":
    regenerate(SOURCE, TARGET, render)
