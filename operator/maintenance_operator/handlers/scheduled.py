"""What MaintenanceWindow and BackupWindow tasks share: the open occurrence (scheduled or run-now), recorded
before its trigger is removed. One implementation, so both kinds open, close and run ad hoc exactly alike."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.base import describe_errors
from maintenance_operator.api.windows import WindowSpec
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.task_loop import TaskLoop
from maintenance_operator.kube import status
from maintenance_operator.planning.targets import selectors
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows import occurrence
from maintenance_operator.planning.windows.occurrence import OpenOccurrence

SpecT = TypeVar("SpecT", bound=WindowSpec)


class ScheduledWindow(TaskLoop):
    kind: str

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        super().__init__(runtime, body)
        self._selector: Mapping[str, Any] = {}

    def selects(self, labels: Mapping[str, str]) -> bool:
        return selectors.matches(self._selector, labels)

    def parse_spec(self, model: type[SpecT]) -> tuple[SpecT, sched.WindowSchedule] | str:
        """The spec and its schedule (and the selector taken into use), or the precise message of what is wrong."""
        spec_body = self.body.get("spec") or {}
        try:
            spec = model.model_validate(spec_body)
            ws = spec.window_schedule()
            problem = selectors.selector_problem(spec_body.get("selector") or {})
            if problem:
                raise sched.ScheduleError((sched.Problem("selector", problem),))
        except ValidationError as err:
            return describe_errors(err)
        except sched.ScheduleError as err:
            return str(err)
        self._selector = spec.selector.wire()
        return spec, ws

    async def current_occurrence(self, ws: sched.WindowSchedule, now: datetime) -> OpenOccurrence | None:
        """The open occurrence: an ad-hoc (run-now) one if active, else the scheduled one."""
        trigger = (self.body["metadata"].get("annotations") or {}).get(names.ANNOTATION_RUN_NOW)
        open_now, opened = occurrence.current(ws, self._status, trigger, now)
        if opened is not None:
            # Status first: if we die before removing the annotation, the trigger matches and is not rerun.
            written = await status.patch_status(
                self.runtime.client,
                self.kind,
                self.namespace,
                self.name,
                {"currentOccurrence": opened.ref().written()},
            )
            self.written(written, {})
            self.event("RunNow", f"ad-hoc occurrence {opened.id} opened until {format_time(opened.end)}", now)
        if trigger is not None:
            await status.patch_annotations(
                self.runtime.client, self.kind, self.namespace, self.name, {names.ANNOTATION_RUN_NOW: None}
            )
        return open_now
