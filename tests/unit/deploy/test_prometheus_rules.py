"""The shipped alert rules: promtool accepts and tests them, every alert fires and resolves in those tests, each is
documented, they read only metrics the operator exports, and the PrometheusRule is generated from them."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.prometheus import binary
from tests.metrics_catalog import exported, metric_names
from tools import prometheusrule

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy" / "prometheus" / "rules.yaml"
TESTS = sorted((ROOT / "deploy" / "prometheus" / "tests").glob("*.yaml"))
ALERTS_DOC = ROOT / "docs" / "alerts.md"
# Named in the rules before the operator exports them (docs/alerts.md says so).
FUTURE: set[str] = set()


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("promtool"), *args], capture_output=True, text=True, timeout=120, check=False)


def seconds(duration: str) -> int:
    """A Prometheus duration such as 6h31m, in seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    parts = re.findall(r"(\d+)([smhdw])", duration)
    assert "".join(n + u for n, u in parts) == duration, f"unsupported duration {duration!r}"
    return sum(int(n) * units[u] for n, u in parts)


def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rule_tests_pass() -> None:
    assert TESTS
    result = promtool("test", "rules", *map(str, TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TESTS)


def test_every_alert_fires_and_then_resolves_in_the_rule_tests() -> None:
    """Per alert, some test group expects it firing at one time and not at a later one."""
    fires_then_resolves = set()
    for path in TESTS:
        for group in yaml.safe_load(path.read_text())["tests"]:
            cases = group.get("alert_rule_test", [])
            for firing in (c for c in cases if c.get("exp_alerts")):
                if any(
                    c["alertname"] == firing["alertname"]
                    and not c.get("exp_alerts")
                    and seconds(c["eval_time"]) > seconds(firing["eval_time"])
                    for c in cases
                ):
                    fires_then_resolves.add(firing["alertname"])
    assert {a["alert"] for a in alerts()} - fires_then_resolves == set()


@pytest.mark.parametrize("alert", alerts(), ids=lambda a: str(a["alert"]))
def test_alert_has_severity_duration_annotations_and_a_runbook_section(alert: dict[str, Any]) -> None:
    name = alert["alert"]
    assert alert["labels"]["severity"] in {"page", "ticket"}
    assert "for" in alert
    seconds(alert["for"])
    assert alert["annotations"].keys() == {"summary", "description", "runbook_url"}
    assert alert["annotations"]["runbook_url"] == f"docs/alerts.md#{name.lower()}"
    assert f"\n## {name}\n" in ALERTS_DOC.read_text(), f"docs/alerts.md has no section for {name}"


def test_rules_read_only_metrics_the_operator_exports() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    used = {name for group in groups for rule in group["rules"] for name in metric_names(rule["expr"])}
    assert used - exported().keys() - FUTURE == set()
    # When one of these is exported, the rules and docs/alerts.md must stop calling it "to come".
    assert FUTURE & exported().keys() == set()


def test_prometheusrule_is_generated_from_the_rules() -> None:
    committed = prometheusrule.TARGET.read_text()
    assert committed == prometheusrule.render(RULES.read_text()), "stale: run `make prometheus-rules`"
    resource = yaml.safe_load(committed)
    assert (resource["apiVersion"], resource["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert resource["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]
