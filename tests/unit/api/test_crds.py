"""The committed CRDs are exactly what the models generate, and the samples fit both models and schemas."""

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from maintenance_operator.api import crdgen, names
from maintenance_operator.api.resources import RESOURCES, Resource

ROOT = Path(__file__).resolve().parents[3]
CRDS = ROOT / "crds"
# The cluster kinds' samples are what deploy/ installs (deploy/defaults), kept in one place.
DEFAULTS = sorted(p for p in (ROOT / "deploy" / "defaults").glob("*.yaml") if p.name != "kustomization.yaml")
SAMPLES = sorted((CRDS / "samples").glob("*.yaml")) + DEFAULTS
BY_KIND = {r.kind: r for r in RESOURCES}


def test_committed_crds_match_the_models() -> None:
    expected = crdgen.rendered_files()
    committed = {p.name: p.read_text() for p in CRDS.glob("*.yaml")}  # the kustomization is generated too
    assert committed.keys() == expected.keys(), "run `make crds`"
    for name, text in expected.items():
        assert committed[name] == text, f"{name} is stale: run `make crds`"


def _walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, value in node.items():
            found.extend(_walk(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_walk(value, f"{path}[{i}]"))
    return found


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_schema_is_structural(resource: Resource) -> None:
    """Rules the API server enforces on CRD schemas, checked here for a fast, readable failure."""
    schema = crdgen.crd(resource)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _walk(schema):
        if path.endswith("/properties") or path.endswith("/x-kubernetes-validations") or "default" in path:
            continue
        assert not {"$ref", "anyOf", "allOf", "oneOf", "title"} & node.keys(), path
        if "properties" in node or "items" in node:
            # A string-or-list node (noticeBefore) has no type and keeps what it gets; its `items` still check
            # the values of a list.
            untyped = node.get("x-kubernetes-preserve-unknown-fields") is True and "type" not in node
            assert node.get("type") in {"object", "array"} or (untyped and "properties" not in node), path
            assert "additionalProperties" not in node, path
        for rule in node.get("x-kubernetes-validations", []):
            assert rule["message"], path


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_printer_columns_and_names(resource: Resource) -> None:
    spec = crdgen.crd(resource)["spec"]
    assert spec["group"] == names.GROUP
    assert spec["names"]["shortNames"] == names.SHORT_NAMES[resource.kind]
    version = spec["versions"][0]
    assert version["subresources"] == {"status": {}}
    column_names = [c["name"] for c in version["additionalPrinterColumns"]]
    assert column_names[-1] == "Age"


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_fits_model_and_schema(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    resource = BY_KIND[doc["kind"]]
    assert doc["apiVersion"] == names.API_VERSION
    resource.spec.model_validate(doc["spec"])
    schema = crdgen.crd(resource)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    jsonschema.validate(doc, schema)


def test_every_kind_has_a_sample() -> None:
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in SAMPLES}
    assert kinds == set(BY_KIND)
