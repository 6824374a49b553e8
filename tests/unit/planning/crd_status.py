"""Checks a status against the `status` schema of its kind's generated CRD (crds/*.yaml), as the API server would.

A field the schema does not declare would be pruned (lost) by the API server, so here it fails
(`additionalProperties: false` on every object with declared properties); a wrong type, an undeclared enum value,
a malformed date-time, too many items or a repeated list-map key (two Ready conditions) fail too.
"""

import re
from collections.abc import Iterator
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from maintenance_operator import schedule as sched
from maintenance_operator.api import crdgen
from maintenance_operator.api.resources import RESOURCES
from maintenance_operator.planning.times import parse_time
from tests.unit.planning.factories import OCCURRENCE, WINDOW_START

CRDS = Path(__file__).resolve().parents[3] / "crds"
NOW = WINDOW_START + timedelta(minutes=10, microseconds=123)  # a clock's time: written at second precision
OPEN = sched.Occurrence(WINDOW_START, WINDOW_START + timedelta(hours=1), OCCURRENCE)
RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"
Status = dict[str, Any]


def _strict(node: Any) -> Any:
    """The schema with every declared object closed, as pruning closes it (a node that keeps unknown fields stays)."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def _unique_map_keys(
    validator: Any, keys: list[str], instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """`x-kubernetes-list-type: map`: the API server refuses two items with the same keys (two Ready conditions)."""
    seen = [tuple(item.get(k) for k in keys) for item in instance] if isinstance(instance, list) else []
    for key in {k for k in seen if seen.count(k) > 1}:
        yield jsonschema.ValidationError(f"list-map key {key} repeated")


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or (re.fullmatch(RFC3339, value) is not None and parse_time(value) is not None)


Validator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]  # untyped in types-jsonschema
    jsonschema.Draft202012Validator, {"x-kubernetes-list-map-keys": _unique_map_keys}
)


@cache
def status_schema(kind: str) -> dict[str, Any]:
    """The `status` schema of the committed CRD (the drift test keeps it what the models generate)."""
    resource = next(r for r in RESOURCES if r.kind == kind)
    crd = yaml.safe_load((CRDS / crdgen.file_name(resource)).read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    return dict(_strict(schema))


def check(kind: str, status: Status) -> None:
    """Raises jsonschema.ValidationError with the first problem."""
    Validator(status_schema(kind), format_checker=FORMATS).validate(status)
