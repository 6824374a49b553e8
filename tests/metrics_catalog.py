"""What the operator exports on /metrics, from its own prometheus_client registry, and what the README says it
exports (its metrics table), so tests can hold the two together."""

import re
from pathlib import Path

from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

# Both register their metrics in the default registry when imported.
import maintenance_operator.handlers.metrics
import maintenance_operator.kube.client

README = Path(__file__).resolve().parents[1] / "README.md"
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported() -> dict[str, str]:
    """Every maintenance_* sample name the operator can expose (counters with _total, histograms' three), to its
    family name."""
    names: dict[str, str] = {}
    for family in REGISTRY.collect():
        if family.name.startswith("maintenance_"):
            for suffix in _SUFFIXES[family.type]:
                names[family.name + suffix] = family.name
    return names


def documented_name(metric: MetricWrapperBase) -> str:
    """The name as users query it and the README lists it: a counter's with _total, a histogram's base name."""
    family = next(iter(metric.describe()))
    return f"{family.name}_total" if family.type == "counter" else family.name


def in_code() -> dict[str, tuple[str, ...]]:
    """Each maintenance_* metric's documented name, to its label names."""
    modules = (maintenance_operator.handlers.metrics, maintenance_operator.kube.client)
    metrics = [value for module in modules for value in vars(module).values() if isinstance(value, MetricWrapperBase)]
    # _labelnames: prometheus_client has no public accessor for the label names of a metric without children.
    return {documented_name(m): tuple(m._labelnames) for m in metrics}


def in_readme() -> dict[str, tuple[str, ...]]:
    """The README's metrics table: `name` | labels (or —) | meaning, to the name's label names."""
    text = README.read_text()
    table = text[text.index("### Metrics") :].split("\n\n")[1]
    rows = re.findall(r"^\| `(maintenance_\w+)` \| ([\w, ]*|—) \|", table, re.MULTILINE)
    return {
        name: tuple(label.strip() for label in labels.split(",") if label.strip() not in ("", "—"))
        for name, labels in rows
    }


def metric_names(expr: str) -> set[str]:
    """The maintenance_* names a PromQL expression reads (recording rules' names, with colons, excluded)."""
    return set(re.findall(r"(?<![\w:])(maintenance_[a-z_]+)\b", expr))
