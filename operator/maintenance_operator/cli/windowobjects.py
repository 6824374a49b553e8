"""MaintenanceWindow and BackupWindow objects as read from the API, parsed with the CRD models.

Schedules are computed locally from the spec (never from a status that may be stale), and a window whose spec
cannot be parsed keeps a one-line problem instead of its schedule, so one bad window never hides the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.base import describe_errors
from maintenance_operator.api.windows import BackupWindowSpec, MaintenanceWindowSpec, WindowSpec
from maintenance_operator.planning.windows import assignment

_SPECS: dict[str, type[WindowSpec]] = {
    names.MAINTENANCE_WINDOW: MaintenanceWindowSpec,
    names.BACKUP_WINDOW: BackupWindowSpec,
}


@dataclass(frozen=True)
class WindowObject:
    kind: str
    namespace: str
    name: str
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    schedule: sched.WindowSchedule | str  # the parsed schedule, or why the spec is invalid

    @property
    def candidate(self) -> assignment.Candidate:
        """The window as `planning.assignment` sees it (the operator converts its windows the same way)."""
        return assignment.candidate(self.name, self.spec, self.status, self.schedule)


def parse_window(obj: Mapping[str, Any]) -> WindowObject:
    kind = str(obj.get("kind") or names.MAINTENANCE_WINDOW)
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    schedule: sched.WindowSchedule | str
    try:
        schedule = _SPECS[kind].model_validate(spec).window_schedule()
    except ValidationError as err:
        schedule = describe_errors(err, prefix="", at_most=1)
    except sched.ScheduleError as err:
        schedule = str(err)
    return WindowObject(kind, meta.get("namespace", ""), meta.get("name", ""), spec, obj.get("status") or {}, schedule)
