"""The platform's cluster-scoped kinds: default windows for every namespace (ClusterMaintenanceWindow,
ClusterBackupWindow) and the announcement of maintenance over many namespaces (Maintenance).

The cluster windows take the namespaced spec as it is plus `namespaceSelector`, so a platform team writes them as
its users write theirs. A Maintenance's targets are matched in memory (`planning.announcements`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from maintenance_operator.api.base import (
    CONDITIONS_SCHEMA_EXTRA,
    Condition,
    LabelSelector,
    Model,
    StatusModel,
    Time,
    cel,
)
from maintenance_operator.api.windows import (
    BackupRunSummary,
    BackupWindowSpec,
    BackupWindowStatus,
    MaintenanceWindowSpec,
)

NamespaceSelector = Annotated[
    LabelSelector,
    Field(description="Which namespaces, by their labels; `{}` selects every namespace."),
]


NO_CLUSTER_WEBHOOK = (
    "noticeWebhook: a ClusterMaintenanceWindow gives notice through an Event on each target; its webhook's Secret "
    "would have no namespace to live in, so set the webhook on a MaintenanceWindow"
)


class ClusterMaintenanceWindowSpec(MaintenanceWindowSpec):
    namespace_selector: NamespaceSelector = LabelSelector()

    model_config = ConfigDict(
        json_schema_extra={"x-kubernetes-validations": [cel("!has(self.noticeWebhook)", NO_CLUSTER_WEBHOOK)]}
    )

    @model_validator(mode="after")
    def _no_webhook(self) -> ClusterMaintenanceWindowSpec:
        if self.notice_webhook is not None:
            raise ValueError(NO_CLUSTER_WEBHOOK)
        return self


class ClusterBackupWindowSpec(BackupWindowSpec):
    namespace_selector: NamespaceSelector = LabelSelector()


NAMESPACES_SHOWN = 50  # a ClusterBackupWindow's status lists at most this many namespaces (those that did worst)


class NamespaceBackups(StatusModel):
    """One namespace's part of a ClusterBackupWindow's last run."""

    namespace: str
    databases: int = 0
    last_run: BackupRunSummary | None = None


class ClusterBackupWindowStatus(BackupWindowStatus):
    """A BackupWindow's status (lastRun sums every namespace's part) plus the namespaces it backs up."""

    databases: int = 0
    namespace_count: int = 0
    namespaces: Annotated[list[NamespaceBackups], Field(max_length=NAMESPACES_SHOWN)] = []


ImagePattern = Annotated[
    str,
    Field(
        min_length=1,
        max_length=512,
        pattern=r"^\S+$",
        description="A glob pattern on container images (`*` any text, `?` one character, `[abc]` a class), "
        "e.g. `*/nginx:1.2*`.",
    ),
]
TargetKind = Literal["Deployment", "StatefulSet", "ManagedDatabase"]


class AnnouncementTargets(Model):
    """Every part must match; a part left empty matches everything."""

    namespace_selector: NamespaceSelector = LabelSelector()
    selector: Annotated[
        LabelSelector, Field(description="The targets' own labels (a ManagedDatabase's, not its StatefulSet's).")
    ] = LabelSelector()
    kinds: Annotated[list[TargetKind], Field(max_length=3, json_schema_extra={"x-kubernetes-list-type": "set"})] = []
    images: Annotated[
        list[ImagePattern],
        Field(max_length=32, description="At least one container image (init containers too) matches one pattern."),
    ] = []
    nodes: Annotated[
        LabelSelector | None,
        Field(
            description="Node (hardware) maintenance: the workloads with pods on the nodes this selects, each moved "
            "off in its own window; the nodes are cordoned unless `cordon: false`. `{}` selects no node."
        ),
    ] = None


DEADLINE_RULE = cel(
    "!has(self.deadline) || !has(self.requiredSince) || timestamp(self.deadline) > timestamp(self.requiredSince)",
    "deadline must be after requiredSince",
)


class MaintenanceSpec(Model):
    reason: Annotated[
        str,
        Field(
            min_length=1,
            max_length=63,
            description="Why: hardware, security, feature, database-security, or your own word.",
        ),
    ]
    description: Annotated[str, Field(max_length=2048, description="What users are told, in notices too.")] = ""
    targets: AnnouncementTargets = AnnouncementTargets()
    required_since: Annotated[
        datetime | None, Field(description="Restarts from this time on complete it; default: its creation.")
    ] = None
    deadline: Annotated[datetime | None, Field(description="Targets still pending after this are counted overdue.")] = (
        None
    )
    cordon: Annotated[
        bool, Field(description="With `targets.nodes`: cordon those nodes, so restarted pods start elsewhere.")
    ] = True

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [DEADLINE_RULE]})

    @model_validator(mode="after")
    def _deadline_after_since(self) -> MaintenanceSpec:
        if self.deadline is not None and self.required_since is not None and self.deadline <= self.required_since:
            raise ValueError("deadline must be after requiredSince")
        return self


class NamespaceLeft(StatusModel):
    namespace: str
    count: int
    targets: list[str] = []  # the first few, as kubectl names them (`deployment/web`)


NODES_SHOWN = 50  # a Maintenance's status lists at most this many nodes
NODE_WORKLOADS_SHOWN = 10  # and, per node, this many workloads with pods left there


class NodeWorkloadLeft(StatusModel):
    """A workload with pods still on an announced node, and the window that will move them."""

    namespace: str
    target: str  # as kubectl names it: `deployment/web`
    pods: int
    window: str | None = None
    window_start: Time | None = None


class NodeProgressStatus(StatusModel):
    name: str
    cordoned: bool = False
    drained: Time | None = None
    pods_left: int = 0  # pods of maintained workloads still on it
    workloads_left: Annotated[list[NodeWorkloadLeft], Field(max_length=NODE_WORKLOADS_SHOWN)] = []
    unmanaged_pods: int = 0  # DaemonSet, static and bare pods: the node owner's, never waited for


class MaintenanceStatus(StatusModel):
    observed_generation: int | None = None
    required_since: Time | None = None
    total: int = 0
    done_by_window: int = 0
    done_by_self_service: int = 0
    pending: int = 0
    failed: int = 0
    overdue: int = 0
    left: Annotated[list[NamespaceLeft], Field(max_length=20)] = []
    left_namespaces: int = 0
    nodes: Annotated[list[NodeProgressStatus], Field(max_length=NODES_SHOWN)] = []
    # The workloads that had pods on the announced nodes (`<namespace>/<kind>/<name>`): covered until done even
    # once their pods moved off, so `total` stays what it was.
    affected: Annotated[list[str], Field(max_length=5000)] = []
    conditions: Annotated[list[Condition], Field(json_schema_extra=CONDITIONS_SCHEMA_EXTRA)] = []
