"""What a BackupWindow shows: the schedule part every window has, plus the last run and missed backups.

Pure, so the result of an occurrence (Succeeded, PartiallyFailed, Failed, Missed) is decided in one tested place.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.planning.backups.snapshots import BackupStep
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows.status import invalid_status, missed_condition, missed_list, schedule_status


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
    summary: dict[str, Any] = {
        "occurrence": occurrence_id,
        "result": result,
        "snapshots": len(step.ready),
        "failed": len(step.failed) + len(step.waiting) + (len(step.in_progress) + len(step.create) if closed else 0),
    }
    if result != "Running":
        summary["finished"] = format_time(now)
    return summary


def missed_summary(occurrence_id: str, databases: int, now: datetime) -> dict[str, Any]:
    """An occurrence that closed while the operator was down: it reads as the last run, so the condition fires."""
    return {
        "occurrence": occurrence_id,
        "result": "Missed",
        "snapshots": 0,
        "failed": databases,
        "finished": format_time(now),
    }


def backup_status(
    *,
    previous: Mapping[str, Any],
    generation: int | None,
    upcoming: Sequence[sched.Occurrence],
    current: Mapping[str, Any] | None,
    last_run: Mapping[str, Any] | None,
    handled_through: datetime | None,
    missed: Sequence[str],
    problem: str | None,
    now: datetime,
) -> dict[str, Any]:
    if problem is not None:
        return invalid_status(previous, generation, problem, now)
    status = schedule_status(previous, generation, upcoming, current, now)
    run = dict(last_run) if last_run is not None else previous.get("lastRun")
    status["missedOccurrences"] = missed_list(previous, missed)
    if run is not None:
        status["lastRun"] = run
        status["lastResult"] = f"{run['result']} {run['occurrence']}"
    if handled_through is not None:
        status["handledThrough"] = format_time(handled_through)
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
    return {k: v for k, v in status.items() if v is not None}
