"""Model defaults and rejections mirror design.md, field by field."""

from typing import Any

import pytest
from pydantic import ValidationError

from maintenance_operator.api.base import describe_errors
from maintenance_operator.api.database import ManagedDatabaseSpec
from maintenance_operator.api.windows import BackupWindowSpec, MaintenanceWindowSpec


def test_maintenance_window_defaults_are_the_platform_policy() -> None:
    spec = MaintenanceWindowSpec.model_validate({"selector": {}})
    assert (spec.schedule, spec.duration, spec.time_zone) == ("0 14 * * 2", "1h", "UTC")
    assert (spec.policy, spec.concurrency, spec.on_failure, spec.notice_before) == ("IfPending", 1, "Stop", "72h")


def test_backup_window_defaults_are_the_platform_policy() -> None:
    spec = BackupWindowSpec.model_validate({"selector": {}})
    assert (spec.schedule, spec.duration, spec.time_zone) == ("0 13 * * *", "1h", "UTC")
    assert (spec.retention.keep_last, spec.retention.min_ready, spec.retention.max_age) == (7, 1, None)


def test_wire_form_is_camel_case() -> None:
    spec = MaintenanceWindowSpec.model_validate({"selector": {"matchLabels": {"a": "b"}}, "timeZone": "Europe/Berlin"})
    wire = spec.wire()
    assert wire["timeZone"] == "Europe/Berlin"
    assert wire["selector"] == {"matchLabels": {"a": "b"}}
    assert "time_zone" not in wire


@pytest.mark.parametrize(
    ("model", "data", "fragment"),
    [
        (MaintenanceWindowSpec, {}, "selector"),
        (MaintenanceWindowSpec, {"selector": {}, "concurrency": 0}, "concurrency"),
        (MaintenanceWindowSpec, {"selector": {}, "duration": "1 hour"}, "duration"),
        (MaintenanceWindowSpec, {"selector": {}, "policy": "Sometimes"}, "policy"),
        (MaintenanceWindowSpec, {"selector": {}, "sheduel": "0 1 * * *"}, "sheduel"),
        (BackupWindowSpec, {"selector": {}, "retention": {"keepLast": 0}}, "retention must keep something"),
        (BackupWindowSpec, {"selector": {}, "retention": {"minReady": 0, "keepLast": 3}}, "minReady"),
        (ManagedDatabaseSpec, {"engine": "oracle", "version": "1", "storage": {"size": "1Gi"}}, "engine"),
        (ManagedDatabaseSpec, {"engine": "redis", "version": "latest", "storage": {"size": "1Gi"}}, "version"),
        (ManagedDatabaseSpec, {"engine": "redis", "version": "7.2", "storage": {"size": "lots"}}, "size"),
        # Found by fuzzing: durations the old pattern admitted but the parser refuses failed every window pass.
        (MaintenanceWindowSpec, {"selector": {}, "rolloutTimeout": "4h1909m933d"}, "rolloutTimeout"),
        (MaintenanceWindowSpec, {"selector": {}, "noticeBefore": ["1h", "30m1h"]}, "noticeBefore"),
        (BackupWindowSpec, {"selector": {}, "retention": {"maxAge": "99999999999999999999d"}}, "is too long"),
        (MaintenanceWindowSpec, {"selector": {}, "noticeBefore": {"a": 1}}, 'not {"a": 1}'),
        (MaintenanceWindowSpec, {"selector": {}, "noticeBefore": ["24h", "9999999d"]}, "longer than 3650d"),
        (BackupWindowSpec, {"selector": {}, "volumeSnapshotClassName": ""}, "volumeSnapshotClassName"),
        (
            ManagedDatabaseSpec,
            {"engine": "redis", "version": "7", "storage": {"size": "1", "className": "A b"}},
            "className",
        ),
        (
            ManagedDatabaseSpec,
            {"engine": "redis", "version": "7", "storage": {"size": "1"}, "restoreFrom": {"volumeSnapshotName": "x y"}},
            "volumeSnapshotName",
        ),
        (
            ManagedDatabaseSpec,
            {"engine": "redis", "version": "7", "storage": {"size": "1"}, "resources": {"requests": {"cpu": "abc"}}},
            "resources.requests.cpu",
        ),
        # Found by fuzzing: a zero claim was admitted, then the StatefulSet PATCH failed with 422 forever.
        (ManagedDatabaseSpec, {"engine": "redis", "version": "7", "storage": {"size": "0"}}, "storage.size must be"),
        (ManagedDatabaseSpec, {"engine": "redis", "version": "7", "storage": {"size": "0.00Gi"}}, "greater than zero"),
    ],
)
def test_invalid_specs_name_the_field(model: Any, data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        model.model_validate(data)
    assert fragment in str(err.value)


def test_database_defaults_keep_data() -> None:
    spec = ManagedDatabaseSpec.model_validate({"engine": "postgresql", "version": "16.4", "storage": {"size": "1Gi"}})
    assert (spec.replicas, spec.on_delete, spec.apply_immediately) == (1, "Retain", False)


@pytest.mark.parametrize("size", ["1", "0.5Gi", "10Gi", "100k", "0.001"])
def test_positive_sizes_are_accepted(size: str) -> None:
    spec = ManagedDatabaseSpec.model_validate({"engine": "redis", "version": "7", "storage": {"size": size}})
    assert spec.storage.size == size


@pytest.mark.parametrize("quantity", ["100m", "0.5", "1Gi", "2", "1e3", "512Mi"])
def test_resource_quantities_are_accepted(quantity: str) -> None:
    data = {"engine": "redis", "version": "7", "storage": {"size": "1"}, "resources": {"limits": {"memory": quantity}}}
    assert ManagedDatabaseSpec.model_validate(data).resources is not None


def test_validation_errors_read_the_same_in_a_condition_and_in_the_cli() -> None:
    """A condition lists every problem under `spec.`; the CLI's one line names the first and counts the rest."""
    with pytest.raises(ValidationError) as info:
        MaintenanceWindowSpec.model_validate({"duration": 5, "bogus": 1})
    assert describe_errors(info.value) == (
        "spec.duration: Input should be a valid string; spec.selector: Field required; "
        "spec.bogus: Extra inputs are not permitted"
    )
    assert describe_errors(info.value, prefix="", at_most=1) == "duration: Input should be a valid string (and 2 more)"
    with pytest.raises(ValidationError) as single:
        MaintenanceWindowSpec.model_validate({"duration": 5, "selector": {}})
    assert describe_errors(single.value, prefix="", at_most=1) == "duration: Input should be a valid string"
