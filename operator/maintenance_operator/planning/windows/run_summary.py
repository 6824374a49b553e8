"""`status.lastRun` of a MaintenanceWindow: which occurrence ran last and how it ended, as the api model.

The occurrence that closed with rollouts in flight stays the last run (`Running`) until each rollout finishes, so
the run summary is also where the next pass learns which closed occurrence is still being followed.
"""

from collections.abc import Mapping
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api.windows import RunSummary
from maintenance_operator.planning.windows import missed
from maintenance_operator.planning.windows.occurrence import OpenOccurrence
from maintenance_operator.planning.windows.restarts import Step
from maintenance_operator.planning.windows.status import MISSED

RUNNING = "Running"  # lastRun.result while restarts of the occurrence may still start or finish


def finishing(current: OpenOccurrence | None, previous_run: Mapping[str, Any]) -> str | None:
    """The occurrence that closed with rollouts in flight (the last run still `Running` while none is open)."""
    return previous_run.get("occurrence") if current is None and previous_run.get("result") == RUNNING else None


def result(step: Step) -> str:
    """How the run stands: Running while restarts may still start or finish, then how it ended."""
    if step.in_flight or step.start:
        return RUNNING
    if step.failed:
        return "Failed"
    if step.waiting:
        return "Incomplete"
    return "Succeeded"


def of_step(occurrence_id: str, started: Any, step: Step) -> RunSummary:
    """The run of `occurrence_id` as `step` counts it; `started` is a time, or as the previous status wrote it."""
    return RunSummary.of(
        occurrence=occurrence_id,
        started=started,
        restarted=len(step.succeeded),
        failed=len(step.failed),
        skipped=len(step.waiting),
        result=result(step),
    )


def of_missed(occurrence: sched.Occurrence, step: Step) -> RunSummary:
    """A missed occurrence reads as the last run (so `MaintenanceMissed` is True): nothing restarted in it, and
    what is pending now was skipped."""
    return RunSummary.of(
        occurrence=occurrence.id,
        started=occurrence.start,
        restarted=0,
        failed=0,
        skipped=len(step.waiting) + len(step.start),
        result=MISSED,
    )


def last_run(
    current: OpenOccurrence | None,
    finishing_id: str | None,
    decided: missed.Decision,
    step: Step,
    previous_run: Mapping[str, Any],
) -> RunSummary | None:
    """The open occurrence's run, else the newest missed occurrence (newer than any that closed while the operator
    ran), else the closed one whose rollouts are finishing; None keeps the previous one."""
    if current is not None:
        return of_step(current.id, current.start, step)
    if decided.missed:
        return of_missed(decided.missed[-1], step)
    if finishing_id is not None:
        return of_step(finishing_id, previous_run.get("started"), step)
    return None
