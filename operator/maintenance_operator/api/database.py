"""ManagedDatabase: a single-instance PostgreSQL, MySQL or Redis the operator runs and upgrades in windows."""

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator

from maintenance_operator.api.base import CONDITIONS_SCHEMA_EXTRA, Condition, Model, ObjectName, StatusModel, Time, cel

Engine = Literal["postgresql", "mysql", "redis"]
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"
SIZE_POSITIVE = "storage.size must be greater than zero, e.g. '10Gi'"


class Storage(Model):
    size: Annotated[
        str,
        Field(
            pattern=QUANTITY_PATTERN,
            max_length=32,
            description="e.g. `10Gi`",
            json_schema_extra={
                "x-kubernetes-validations": [cel("quantity(self).isGreaterThan(quantity('0'))", SIZE_POSITIVE)]
            },
        ),
    ]
    class_name: ObjectName | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "quantity(self.size).compareTo(quantity(oldSelf.size)) >= 0",
                    "storage never shrinks: size can only grow (a smaller volume would lose data)",
                    reason="FieldValueForbidden",
                ),
                cel(
                    "has(self.className) == has(oldSelf.className) && "
                    "(!has(self.className) || self.className == oldSelf.className)",
                    "storage.className cannot be changed: back up, then restore into a new ManagedDatabase "
                    "with the new class",
                    reason="FieldValueForbidden",
                ),
            ]
        }
    )

    @field_validator("size")
    @classmethod
    def _positive(cls, size: str) -> str:
        """A zero volume claim is refused by the API server on the StatefulSet, where the user cannot see it."""
        if not any(c in "123456789" for c in size.rstrip("KMGTPEik")):
            raise ValueError(SIZE_POSITIVE)
        return size


# A resource quantity as the API server parses one (non-negative): fuzzing found `requests: {cpu: abc}` admitted,
# then every StatefulSet PATCH failed with a 500 and the database got no condition.
ResourceQuantity = Annotated[
    str, Field(max_length=64, pattern=r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
]


class Resources(Model):
    requests: dict[str, ResourceQuantity] | None = None
    limits: dict[str, ResourceQuantity] | None = None


class RestoreFrom(Model):
    volume_snapshot_name: ObjectName


class ManagedDatabaseSpec(Model):
    engine: Annotated[
        Engine,
        Field(
            json_schema_extra={
                "x-kubernetes-validations": [
                    cel("self == oldSelf", "engine is immutable: create a new ManagedDatabase instead")
                ]
            }
        ),
    ]
    version: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+){0,2}$", max_length=32, description="e.g. `16.4`")]
    replicas: Annotated[
        int,
        Field(
            json_schema_extra={
                "x-kubernetes-validations": [
                    cel("self == 1", "high availability is not supported yet: replicas must be 1")
                ]
            }
        ),
    ] = 1
    storage: Storage
    resources: Resources | None = None
    apply_immediately: Annotated[
        bool, Field(description="Apply a version change now instead of in the next maintenance window.")
    ] = False
    restore_from: RestoreFrom | None = None
    on_delete: Annotated[
        Literal["Retain", "Delete"],
        Field(description="What happens to the data volume when the ManagedDatabase is deleted."),
    ] = "Retain"


class PendingMaintenance(StatusModel):
    reason: str
    from_version: str | None = None
    to_version: str | None = None
    window: str | None = None
    window_start: Time | None = None


class BackupRef(StatusModel):
    time: Time
    snapshot: str


class ManagedDatabaseStatus(StatusModel):
    observed_generation: int | None = None
    phase: Literal["Pending", "Provisioning", "Ready", "Upgrading", "Failed", "Deleting"] = "Pending"
    current_version: str | None = None
    endpoint: str | None = None
    pending_summary: str | None = None
    pending_maintenance: list[PendingMaintenance] = []
    next_maintenance_window: Time | None = None
    next_backup_window: Time | None = None
    last_backup: BackupRef | None = None
    conditions: Annotated[list[Condition], Field(json_schema_extra=CONDITIONS_SCHEMA_EXTRA)] = []
