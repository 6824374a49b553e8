"""MaintenanceWindow and BackupWindow: the shared window model and each kind's own fields."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.base import (
    CONDITIONS_SCHEMA_EXTRA,
    Condition,
    DurationStr,
    LabelSelector,
    Model,
    ObjectName,
    StatusModel,
    Time,
    cel,
)

CRON_FIELDS_RULES = [
    cel(
        "self.startsWith('@') || !self.matches('^\\\\s*\\\\S+(\\\\s+\\\\S+){5}\\\\s*$')",
        "schedule has 6 fields, but seconds are not supported: use 5 fields "
        "(minute hour day-of-month month day-of-week), e.g. '0 14 * * 2'",
    ),
    cel(
        "self.startsWith('@') ? self in ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', "
        "'@hourly'] : self.matches('^\\\\s*\\\\S+(\\\\s+\\\\S+){4,5}\\\\s*$')",
        "schedule must be a 5-field cron expression (minute hour day-of-month month day-of-week), e.g. "
        "'0 14 * * 2', or one of @hourly, @daily, @weekly, @monthly, @yearly",
    ),
]
ScheduleStr = Annotated[
    str,
    Field(
        max_length=128,
        description="Cron expression (5 fields) or macro giving each window's START in `timeZone`.",
        json_schema_extra={"x-kubernetes-validations": CRON_FIELDS_RULES},
    ),
]
DURATION_MIN_RULE = cel(
    "self.contains('d') || duration(self) >= duration('5m')",
    "duration must be at least 5m, e.g. '1h'",
)


class Exclusion(Model):
    """A period in which no occurrence opens and no new work starts (a freeze)."""

    start: datetime
    end: datetime
    reason: Annotated[str, Field(max_length=256)] = ""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel("timestamp(self.end) > timestamp(self.start)", "exclusion end must be after its start")
            ]
        }
    )


class WindowSpec(Model):
    """Fields every window kind shares; defaults are the maintenance window's, overridden per kind."""

    schedule: ScheduleStr
    duration: Annotated[DurationStr, Field(json_schema_extra={"x-kubernetes-validations": [DURATION_MIN_RULE]})] = (
        names.DEFAULT_DURATION
    )
    time_zone: Annotated[
        str, Field(max_length=64, description="IANA time zone of the schedule, e.g. `Europe/Berlin`.")
    ] = names.DEFAULT_TIME_ZONE
    exclusions: Annotated[list[Exclusion], Field(max_length=64)] = []
    suspend: bool = False
    selector: Annotated[
        LabelSelector,
        Field(description="Which objects of this namespace the window maintains; `{}` selects all."),
    ]

    def window_schedule(self) -> sched.WindowSchedule:
        """The validated schedule; raises ScheduleError with every problem found."""
        return sched.WindowSchedule.parse(
            self.schedule,
            self.duration,
            self.time_zone,
            [(e.start.isoformat(), e.end.isoformat(), e.reason) for e in self.exclusions],
            self.suspend,
        )


class SecretKeyRef(Model):
    """One key of a Secret in the window's namespace (read with a GET, never listed or watched)."""

    name: Annotated[str, Field(min_length=1, max_length=253)]
    key: Annotated[str, Field(min_length=1, max_length=253)]


class NoticeWebhook(Model):
    url: Annotated[
        str,
        Field(
            pattern=r"^https?://",
            max_length=2048,
            description="Receives each notice batch as a signed JSON POST; its host must be allowed by the "
            "operator's --notice-webhook-allowed-hosts.",
        ),
    ]
    secret_key_ref: Annotated[
        SecretKeyRef,
        Field(description="The HMAC-SHA256 key that signs each body (header X-Maintenance-Signature)."),
    ]


MAX_LEAD_TIMES = 10
NoticeBefore = Annotated[
    DurationStr | Annotated[list[DurationStr], Field(min_length=1, max_length=MAX_LEAD_TIMES)],
    Field(
        description="How long before each occurrence targets are told: one lead time (`72h`) or a list of them "
        "(`[168h, 24h, 1h]`), one notice per lead time, target and occurrence."
    ),
]


class MaintenanceWindowSpec(WindowSpec):
    schedule: ScheduleStr = names.DEFAULT_MAINTENANCE_SCHEDULE
    policy: Annotated[
        Literal["IfPending", "Always"],
        Field(description="IfPending restarts only targets with pending maintenance; Always restarts all."),
    ] = "IfPending"
    concurrency: Annotated[int, Field(ge=1, le=500)] = 1
    rollout_timeout: DurationStr = names.DEFAULT_ROLLOUT_TIMEOUT
    on_failure: Annotated[
        Literal["Stop", "Continue"],
        Field(description="After a failed rollout: stop starting new restarts in this occurrence, or go on."),
    ] = "Stop"
    notice_before: NoticeBefore = names.DEFAULT_NOTICE_BEFORE
    notice_webhook: NoticeWebhook | None = None

    @field_validator("notice_before", mode="before")
    @classmethod
    def _duration_or_list(cls, value: object) -> object:
        # The CRD schema cannot give this node a type (it is a string or a list), so a number or an object
        # reaches the operator: say what is expected instead of pydantic's one error per union branch.
        if not isinstance(value, str | list):
            raise ValueError(
                f"must be a duration such as '72h' or a list of them such as ['168h', '24h', '1h'], "
                f"not {json.dumps(value)}"  # as the user wrote it, not a Python repr
            )
        return value

    def lead_times(self) -> list[timedelta]:
        """Distinct lead times, longest first (the CRD schema has checked their syntax)."""
        values = [self.notice_before] if isinstance(self.notice_before, str) else self.notice_before
        return sorted({sched.parse_duration(v, "noticeBefore") for v in values}, reverse=True)


class Retention(Model):
    keep_last: Annotated[int, Field(ge=0, le=1000)] | None = None
    max_age: DurationStr | None = None
    min_ready: Annotated[int, Field(ge=1, le=1000)] = 1

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "(has(self.keepLast) && self.keepLast > 0) || has(self.maxAge)",
                    "retention must keep something: set keepLast to 1 or more, or set maxAge",
                )
            ]
        }
    )

    @model_validator(mode="after")
    def _keeps_something(self) -> Retention:
        if not self.keep_last and self.max_age is None:
            raise ValueError("retention must keep something: set keepLast to 1 or more, or set maxAge")
        return self


class BackupWindowSpec(WindowSpec):
    schedule: ScheduleStr = names.DEFAULT_BACKUP_SCHEDULE
    volume_snapshot_class_name: ObjectName | None = None
    retention: Retention = Retention(keep_last=7)


class OccurrenceRef(StatusModel):
    id: str
    start: Time
    end: Time
    ad_hoc: bool = False
    trigger: str | None = None  # the run-now annotation value that opened an ad-hoc occurrence


class WindowStatus(StatusModel):
    observed_generation: int | None = None
    next_window: Time | None = None
    next_occurrences: list[OccurrenceRef] = []
    open: bool = False
    current_occurrence: OccurrenceRef | None = None
    conditions: Annotated[list[Condition], Field(json_schema_extra=CONDITIONS_SCHEMA_EXTRA)] = []
    # The start of the latest scheduled occurrence already run or reported: missed occurrences are looked for
    # only after it, so each is reported once.
    handled_through: Time | None = None
    missed_occurrences: Annotated[
        list[str], Field(max_length=20, description="Occurrences that closed while the operator was down.")
    ] = []


class PendingTarget(StatusModel):
    kind: str
    name: str
    namespace: str | None = None  # a cluster window's targets are in many namespaces
    reason: str
    since: Time | None = None
    downtime_expected: bool = False
    waiting: str = ""
    announcements: list[str] = []  # the Maintenance announcements it is pending for


class HandledElsewhere(StatusModel):
    """A target this window selects and would do, which another window handles (exactly one window does)."""

    kind: str
    name: str
    reason: str
    window: str
    namespace: str | None = None


class RunSummary(StatusModel):
    occurrence: str
    started: Time | None = None
    finished: Time | None = None
    restarted: int = 0
    failed: int = 0
    skipped: int = 0
    result: Annotated[
        str, Field(description="Running, Succeeded, Failed, Incomplete, or Missed (the operator was down).")
    ] = ""


class MaintenanceWindowStatus(WindowStatus):
    pending_count: int = 0
    pending: list[PendingTarget] = []
    handled_elsewhere_count: int = 0
    handled_elsewhere: list[HandledElsewhere] = []
    last_run: RunSummary | None = None


class BackupRunSummary(StatusModel):
    occurrence: str
    result: Literal["Running", "Succeeded", "PartiallyFailed", "Failed", "Missed"]
    snapshots: int = 0
    failed: int = 0
    finished: Time | None = None


class BackupWindowStatus(WindowStatus):
    last_result: str | None = None
    last_run: BackupRunSummary | None = None
