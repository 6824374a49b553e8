"""What the operator exports on /metrics, read from its own prometheus_client registry (no process needed)."""

from prometheus_client import REGISTRY

# Imported for their registrations in the default registry.
import maintenance_operator.handlers.metrics
import maintenance_operator.kube.client  # noqa: F401

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
