"""What a BackupWindow shows: the schedule part every window has, plus the last run and missed backups.

Pure, so the result of an occurrence (Succeeded, PartiallyFailed, Failed, Missed) is decided in one tested place.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.windows import BackupRunSummary, BackupWindowStatus
from maintenance_operator.planning.backups.snapshots import BackupStep
from maintenance_operator.planning.windows.occurrence import OpenOccurrence
from maintenance_operator.planning.windows.status import (
    invalid_fields,
    missed_condition,
    missed_list,
    schedule_fields,
)


def run_result(step: BackupStep, *, closed: bool) -> str:
    """`Running` while work may still finish; once the window closed, what the occurrence achieved.

    A window that selects no database with a data volume has nothing to back up: that is a success, not a miss.
    """
    if not (step.ready or step.create or step.retry or step.in_progress or step.waiting or step.failed):
        return "Succeeded"
    if not closed and (step.create or step.retry or step.in_progress or step.waiting or step.failed):
        return "Running"
    if not step.ready:
        return "Missed" if not step.failed else "Failed"
    if step.failed or step.waiting or step.in_progress or step.create:
        return "PartiallyFailed"
    return "Succeeded"


def run_summary(occurrence_id: str, step: BackupStep, *, closed: bool, now: datetime) -> dict[str, Any]:
    result = run_result(step, closed=closed)
    return BackupRunSummary.of(
        occurrence=occurrence_id,
        result=result,
        snapshots=len(step.ready),
        failed=len(step.failed) + len(step.waiting) + (len(step.in_progress) + len(step.create) if closed else 0),
        finished=now if result != "Running" else None,
    ).written()


def missed_summary(occurrence_id: str, databases: int, now: datetime) -> dict[str, Any]:
    """An occurrence that closed while the operator was down: it reads as the last run, so the condition fires."""
    return BackupRunSummary.of(
        occurrence=occurrence_id, result="Missed", snapshots=0, failed=databases, finished=now
    ).written()


def backup_status(
    *,
    previous: Mapping[str, Any],
    generation: int | None,
    upcoming: Sequence[sched.Occurrence],
    current: OpenOccurrence | None,
    last_run: Mapping[str, Any] | None,
    handled_through: datetime | None,
    missed: Sequence[str],
    problem: str | None,
    now: datetime,
) -> dict[str, Any]:
    if problem is not None:
        return BackupWindowStatus.of(**invalid_fields(previous, generation, problem, now)).written()
    status = schedule_fields(previous, generation, upcoming, current, now)
    run = dict(last_run) if last_run is not None else previous.get("lastRun")
    status["conditions"].append(
        missed_condition(
            previous,
            names.CONDITION_BACKUP_MISSED,
            run,
            ("Missed", "Failed", "PartiallyFailed"),
            "BackedUp",
            now,
            generation,
        )
    )
    return BackupWindowStatus.of(
        **status,
        missed_occurrences=missed_list(previous, missed),
        last_run=run,
        last_result=f"{run['result']} {run['occurrence']}" if run is not None else None,
        handled_through=handled_through,
    ).written()
