"""Shared pydantic building blocks for the CRD models: camelCase wire names, conditions, selectors.

The models are the single source of truth for the CRD schemas (see `crdgen`), so schema-only details
(CEL rules, list types) are attached here as JSON-schema extras.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel


def cel(rule: str, message: str, **extra: str) -> dict[str, Any]:
    """One `x-kubernetes-validations` entry, so admission errors carry our message."""
    return {"rule": rule, "message": message, **extra}


class Model(BaseModel):
    """Base for every spec/status model: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, validate_default=True
    )

    def wire(self) -> dict[str, Any]:
        """The object as the API server stores it (camelCase, no unset optionals)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class StatusModel(Model):
    """Status is written by the operator; tolerate fields a newer operator version may have added."""

    model_config = ConfigDict(extra="ignore")


DURATION_PATTERN = r"^([0-9]+(d|h|m|s))+$"
DurationStr = Annotated[
    str,
    Field(
        pattern=DURATION_PATTERN,
        max_length=32,
        description="Elapsed time as a sum of units d, h, m, s, e.g. `1h`, `90m`, `1h30m`, `2d`.",
    ),
]


class LabelSelectorRequirement(Model):
    key: Annotated[str, Field(max_length=317)]
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[Annotated[str, Field(max_length=63)]] | None = None


class LabelSelector(Model):
    """A metav1.LabelSelector; `{}` selects every object of the namespace."""

    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(StatusModel):
    """The shape of metav1.Condition, so generic tooling (kubectl wait, Argo CD health) understands it."""

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""
    last_transition_time: datetime
    observed_generation: int | None = None


CONDITIONS_SCHEMA_EXTRA: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
}


def describe_errors(err: ValidationError) -> str:
    """A pydantic error as users read it in a condition: `spec.<field>: <what is wrong>`, joined."""
    return "; ".join(f"spec.{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in err.errors())
