"""The platform kinds' models (cluster windows and the Maintenance announcement): what they admit and refuse, and
that their schemas are structural, ready for `crdgen` when the operator serves them."""

from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, ValidationError

from maintenance_operator.api import crdgen
from maintenance_operator.api.base import describe_errors
from maintenance_operator.api.platform import ClusterBackupWindowSpec, ClusterMaintenanceWindowSpec, MaintenanceSpec

SINCE = "2026-12-01T10:00:00Z"


def test_cluster_windows_are_the_namespaced_spec_plus_a_namespace_selector() -> None:
    spec = ClusterMaintenanceWindowSpec.model_validate({"selector": {}})
    assert (spec.schedule, spec.duration, spec.namespace_selector.wire()) == ("0 14 * * 2", "1h", {})
    backups = ClusterBackupWindowSpec.model_validate(
        {"selector": {}, "namespaceSelector": {"matchLabels": {"team": "a"}}}
    )
    assert (backups.schedule, backups.namespace_selector.wire()) == ("0 13 * * *", {"matchLabels": {"team": "a"}})


def test_an_announcement_defaults_to_everything_from_its_creation() -> None:
    spec = MaintenanceSpec.model_validate({"reason": "security"})
    assert (spec.required_since, spec.deadline, spec.description) == (None, None, "")
    assert spec.targets.wire() == {"namespaceSelector": {}, "selector": {}, "kinds": [], "images": []}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "spec.reason: Field required"),
        ({"reason": ""}, "spec.reason"),
        ({"reason": "security", "targets": {"kinds": ["DaemonSet"]}}, "spec.targets.kinds.0"),
        ({"reason": "security", "targets": {"images": ["nginx 1.2"]}}, "spec.targets.images.0"),
        ({"reason": "security", "requiredSince": SINCE, "deadline": SINCE}, "deadline must be after requiredSince"),
    ],
)
def test_an_announcement_refuses(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        MaintenanceSpec.model_validate(data)
    assert fragment in describe_errors(err.value)


WINDOW_EXAMPLE = {"selector": {}, "namespaceSelector": {"matchLabels": {"env": "prod"}}}
ANNOUNCEMENT_EXAMPLE = {
    "reason": "security",
    "requiredSince": SINCE,
    "targets": {
        "namespaceSelector": {"matchLabels": {"env": "prod"}},
        "images": ["*/nginx:1.2*"],
        "kinds": ["Deployment"],
    },
}


@pytest.mark.parametrize(
    ("model", "example"),
    [
        (ClusterMaintenanceWindowSpec, WINDOW_EXAMPLE),
        (ClusterBackupWindowSpec, WINDOW_EXAMPLE),
        (MaintenanceSpec, ANNOUNCEMENT_EXAMPLE),
    ],
)
def test_the_schemas_are_structural_and_admit_what_the_models_admit(
    model: type[BaseModel], example: dict[str, Any]
) -> None:
    schema = crdgen.structural(model)
    for node in _nodes(schema):
        assert not {"$ref", "anyOf", "allOf", "oneOf", "title"} & node.keys()
    model.model_validate(example)
    jsonschema.validate(example, schema)


def _nodes(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(n for v in node.values() for n in _nodes(v))]
    if isinstance(node, list):
        return [n for v in node for n in _nodes(v)]
    return []
