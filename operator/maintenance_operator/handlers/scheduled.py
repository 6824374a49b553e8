"""What MaintenanceWindow and BackupWindow tasks share: the open occurrence (scheduled or run-now) and whether
new work may start in it. One implementation, so both kinds open, close and run ad hoc exactly alike."""

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
from maintenance_operator.planning.times import format_time, parse_time
from maintenance_operator.planning.windows import restarts
from maintenance_operator.planning.windows import status as window_status

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

    async def current_occurrence(self, ws: sched.WindowSchedule, now: datetime) -> dict[str, Any] | None:
        """The open occurrence: an ad-hoc (run-now) one if active, else the scheduled one."""
        annotations = self.body["metadata"].get("annotations") or {}
        recorded = self._status.get("currentOccurrence") or None
        trigger = annotations.get(names.ANNOTATION_RUN_NOW)
        if trigger is not None:
            if not (recorded and recorded.get("adHoc") and recorded.get("trigger") == trigger):
                start = now.replace(microsecond=0)
                occurrence = sched.Occurrence(start, start + ws.duration, sched.run_now_id(start))
                recorded = window_status.occurrence_ref(occurrence, ad_hoc=True, trigger=trigger)
                # Status first: if we die before removing the annotation, the trigger matches and is not rerun.
                written = await status.patch_status(
                    self.runtime.client, self.kind, self.namespace, self.name, {"currentOccurrence": recorded}
                )
                self.written(written, {})
                self.event(
                    "RunNow", f"ad-hoc occurrence {occurrence.id} opened until {format_time(occurrence.end)}", now
                )
            await status.patch_annotations(
                self.runtime.client, self.kind, self.namespace, self.name, {names.ANNOTATION_RUN_NOW: None}
            )
        if recorded and recorded.get("adHoc"):
            end = parse_time(recorded.get("end"))
            if end is not None and now < end:
                return dict(recorded)
        opened = sched.open_occurrence(ws, now)
        return window_status.occurrence_ref(opened) if opened is not None else None

    @staticmethod
    def can_start(
        ws: sched.WindowSchedule, state: sched.WindowState, current: Mapping[str, Any] | None, now: datetime
    ) -> restarts.Wait | None:
        """None when new work may start now, else why not (closed, suspended, excluded)."""
        if current is None:
            return restarts.Wait.OUTSIDE_WINDOW
        if ws.suspend:
            return restarts.Wait.SUSPENDED
        if any(e.start <= now < e.end for e in ws.exclusions):
            return restarts.Wait.EXCLUDED
        if not current.get("adHoc") and not state.can_start_work:
            return restarts.Wait(state.reason)
        return None
