"""Shared pydantic building blocks for the CRD models: camelCase wire names, conditions, selectors.

The models are the single source of truth for the CRD schemas (see `crdgen`), so schema-only details
(CEL rules, list types) are attached here as JSON-schema extras.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, ValidationError
from pydantic.alias_generators import to_camel

from maintenance_operator.schedule.duration import parse_duration
from maintenance_operator.schedule.errors import ScheduleError


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

    @classmethod
    def of(cls, **fields: Any) -> Self:
        """Built by the operator: a None field is not given (not written); a field the model does not declare is a
        bug, refused here, where `extra="ignore"` would drop it silently (as the API server would prune it)."""
        if unknown := sorted(set(fields) - set(cls.model_fields)):
            raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)}")
        return cls(**{k: v for k, v in fields.items() if v is not None})

    def written(self) -> dict[str, Any]:
        """The status as the operator writes it: the fields its builder set (camelCase, no nulls), so the CRD schema
        is what the code writes. A field left out of a complete status is removed by the merge patch."""
        return self.model_dump(by_alias=True, exclude_unset=True, exclude_none=True, mode="json")


def format_time(value: datetime) -> str:
    """Second precision with a `Z`, the form kubectl and the API server write."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# A time in a status: validated as a date-time, written as `format_time` writes it (whatever precision it came with).
Time = Annotated[datetime, PlainSerializer(format_time, return_type=str, when_used="json")]


# The parser's grammar (each unit at most once, largest first): `4h1909m933d` used to be admitted, then every
# pass of its window failed on it (found by fuzzing).
DURATION_PATTERN = r"^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"


MAX_DURATION = timedelta(days=3650)


def _parses(text: str) -> str:
    """What the schema cannot say is refused here, with the reason: an amount too large for a timedelta, or for
    date arithmetic (a `noticeBefore` of 9999999d overflowed `start - lead` in every pass: found by fuzzing)."""
    try:
        value = parse_duration(text)
    except ScheduleError as err:
        raise ValueError(err.problems[0].message) from None
    if value > MAX_DURATION:
        raise ValueError(f"{text!r} is longer than 3650d (ten years)")
    return text


DurationStr = Annotated[
    str,
    Field(
        pattern=DURATION_PATTERN,
        min_length=2,
        max_length=32,
        description="Elapsed time as a sum of units d, h, m, s, e.g. `1h`, `90m`, `1h30m`, `2d`.",
    ),
    AfterValidator(_parses),
]


# The name of another object (a StorageClass, VolumeSnapshotClass, VolumeSnapshot): a DNS subdomain, as the API
# server requires. Fuzzing found `""` and names with spaces admitted, then sent as request paths (`.../classes/`
# is a LIST, refused as a missing permission).
ObjectName = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]


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
    last_transition_time: Time
    observed_generation: int | None = None


CONDITIONS_SCHEMA_EXTRA: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
}


def describe_errors(err: ValidationError, *, prefix: str = "spec.", at_most: int | None = None) -> str:
    """A pydantic error as users read it: `spec.<field>: <what is wrong>`, joined with `; ` (a condition's message).

    The CLI shows an invalid window in one line: `prefix=""` and `at_most=1` name the first problem and count the
    rest (`(and 2 more)`).
    """
    shown = err.errors()[:at_most]
    text = "; ".join(f"{prefix}{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in shown)
    hidden = err.error_count() - len(shown)
    return text + (f" (and {hidden} more)" if hidden else "")
