"""The occurrence a window is in now, scheduled or opened by run-now, and whether new work may start in it.

One typed value from the schedule to the status writer: the runners read `id`, `end` and `ad_hoc` from it, and
only the status builder turns it into `status.currentOccurrence`. The recorded status is parsed (`recorded`) only
where it comes back from the cluster, so a run-now occurrence outlives a restart of the operator.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api.windows import OccurrenceRef
from maintenance_operator.planning.times import parse_time
from maintenance_operator.schedule.exclusions import covering


@dataclass(frozen=True)
class OpenOccurrence:
    occurrence: sched.Occurrence
    ad_hoc: bool = False
    trigger: str | None = None  # the run-now annotation value that opened an ad-hoc occurrence

    @property
    def id(self) -> str:
        return self.occurrence.id

    @property
    def start(self) -> datetime:
        return self.occurrence.start

    @property
    def end(self) -> datetime:
        return self.occurrence.end

    def ref(self) -> OccurrenceRef:
        """`status.currentOccurrence` as the CRD declares it."""
        o = self.occurrence
        return OccurrenceRef.of(id=o.id, start=o.start, end=o.end, ad_hoc=self.ad_hoc or None, trigger=self.trigger)


def run_now(trigger: str, ws: sched.WindowSchedule, now: datetime) -> OpenOccurrence:
    """The ad-hoc occurrence a run-now annotation opens: from now (whole seconds) for the window's duration."""
    start = now.replace(microsecond=0)
    return OpenOccurrence(sched.Occurrence(start, start + ws.duration, sched.run_now_id(start)), True, trigger)


def recorded(status: Mapping[str, Any]) -> OpenOccurrence | None:
    """The ad-hoc occurrence the window's status records, if it is a complete one (scheduled ones are recomputed)."""
    ref = status.get("currentOccurrence") or {}
    start, end, occurrence_id = parse_time(ref.get("start")), parse_time(ref.get("end")), ref.get("id")
    if not ref.get("adHoc") or start is None or end is None or not isinstance(occurrence_id, str):
        return None
    trigger = ref.get("trigger")
    return OpenOccurrence(
        sched.Occurrence(start, end, occurrence_id), True, trigger if isinstance(trigger, str) else None
    )


def current(
    ws: sched.WindowSchedule, status: Mapping[str, Any], trigger: str | None, now: datetime
) -> tuple[OpenOccurrence | None, OpenOccurrence | None]:
    """(the open occurrence, the ad-hoc one to record first if `trigger` opens a new one).

    A trigger already recorded is not run again; an ad-hoc occurrence wins over the schedule until its end.
    """
    ad_hoc = recorded(status)
    opened = None
    if trigger is not None and (ad_hoc is None or ad_hoc.trigger != trigger):
        ad_hoc = opened = run_now(trigger, ws, now)
    if ad_hoc is not None and now < ad_hoc.end:
        return ad_hoc, opened
    scheduled = sched.open_occurrence(ws, now)
    return (OpenOccurrence(scheduled) if scheduled is not None else None), opened


def blocked_by(
    ws: sched.WindowSchedule, state: sched.WindowState, open_now: OpenOccurrence | None, now: datetime
) -> sched.WindowReason | None:
    """None when new work may start now, else why not.

    A scheduled occurrence is what `window_state` says; a run-now one ignores the schedule but not the suspend
    switch or an exclusion covering now.
    """
    if open_now is None:
        return sched.WindowReason.OUTSIDE_WINDOW
    if not open_now.ad_hoc:
        return None if state.can_start_work else state.reason
    if ws.suspend:
        return sched.WindowReason.SUSPENDED
    if covering(ws.exclusions, now) is not None:
        return sched.WindowReason.EXCLUDED
    return None
