"""The fuzzing strategies keep their promise against the committed schemas: valid ones are accepted by the
structural schema, mutated ones refused, and the checker that says so refuses and accepts what it should."""

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import schema_strategies as fuzz

KINDS = sorted(fuzz.KINDS)
SAMPLES = Path(fuzz.ROOT / "crds" / "samples")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kind", KINDS)
def test_committed_samples_pass_the_checker(kind: str) -> None:
    samples = [d for p in SAMPLES.glob("*.yaml") for d in yaml.safe_load_all(p.read_text()) if d["kind"] == kind]
    assert samples
    for sample in samples:
        assert fuzz.schema_errors(kind, sample["spec"]) == []


@pytest.mark.parametrize(
    ("kind", "spec", "field"),
    [
        ("MaintenanceWindow", {"selector": {}, "concurrency": 0}, "concurrency"),
        ("MaintenanceWindow", {"selector": {}, "policy": "Sometimes"}, "policy"),
        ("MaintenanceWindow", {"selector": {}, "bogus": 1}, "spec"),
        ("MaintenanceWindow", {"selector": {}, "duration": "1 h"}, "duration"),
        ("MaintenanceWindow", {}, "spec"),
        ("BackupWindow", {"selector": {}, "exclusions": [{"start": "soon", "end": "2026-12-01T00:00:00Z"}]}, "start"),
        (
            "ManagedDatabase",
            {"engine": "redis", "version": "7", "storage": {"size": "1Gi"}, "replicas": "1"},
            "replicas",
        ),
        ("ManagedDatabase", {"engine": "redis", "version": "7", "storage": {"size": "a" * 33}}, "size"),
    ],
)
def test_the_checker_refuses_what_the_schema_refuses(kind: str, spec: dict[str, object], field: str) -> None:
    errors = fuzz.schema_errors(kind, spec)
    assert errors and any(field in e for e in errors), errors


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(data=st.data())
def test_valid_specs_pass_the_structural_schema(kind: str, data: st.DataObject) -> None:
    spec = data.draw(fuzz.valid_spec(kind))
    assert fuzz.schema_errors(kind, spec) == []


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(data=st.data())
def test_mutated_specs_are_refused_by_the_structural_schema(kind: str, data: st.DataObject) -> None:
    label, spec = data.draw(fuzz.invalid_spec(kind))
    assert fuzz.schema_errors(kind, spec), f"{label} was accepted: {spec}"


def test_mutations_reach_every_field() -> None:
    """Every field of every kind can be mutated, so no part of a schema goes unfuzzed."""
    for kind in KINDS:
        fields = {".".join(map(str, p)) for p, _ in fuzz._nodes(fuzz.spec_schema(kind)) if p}
        mutated = {label for label, _, _ in fuzz.mutations(kind)}
        assert all(any(label.startswith(f) for label in mutated) for f in fields), kind
