"""What a BackupWindow shows: the schedule part every window has, plus the last run and missed backups.

Pure, so the result of an occurrence (Succeeded, PartiallyFailed, Failed, Missed) is decided in one tested place.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.platform import NAMESPACES_SHOWN, ClusterBackupWindowStatus, NamespaceBackups
from maintenance_operator.api.windows import BackupRunSummary, BackupWindowStatus
from maintenance_operator.planning.backups.snapshots import BackupStep
from maintenance_operator.planning.times import parse_time
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


_WORST = ("Running", "Failed", "Missed", "PartiallyFailed", "Succeeded")


def merged_run(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A ClusterBackupWindow's last run from its namespaces' parts: those of the newest occurrence, summed; Running
    while any part runs, Succeeded when all did, Missed or Failed when no part took a snapshot, else PartiallyFailed.
    """
    if not runs:
        return None
    newest = max(runs, key=lambda r: sched.id_start(str(r["occurrence"])) or datetime.min.replace(tzinfo=UTC))
    parts = [r for r in runs if r["occurrence"] == newest["occurrence"]]
    results = {str(r["result"]) for r in parts}
    snapshots = sum(int(r.get("snapshots") or 0) for r in parts)
    if results <= {"Succeeded"} or "Running" in results:
        result = "Succeeded" if results <= {"Succeeded"} else "Running"
    elif snapshots == 0 and results <= {"Missed", "Failed", "Succeeded"}:
        result = "Failed" if "Failed" in results else "Missed"
    else:
        result = "PartiallyFailed"
    finished = [str(r["finished"]) for r in parts if r.get("finished")]
    return BackupRunSummary.of(
        occurrence=str(newest["occurrence"]),
        result=result,
        snapshots=snapshots,
        failed=sum(int(r.get("failed") or 0) for r in parts),
        finished=parse_time(max(finished)) if finished and result != "Running" else None,
    ).written()


def cluster_backup_status(
    window_status: Mapping[str, Any], parts: Mapping[str, tuple[int, Mapping[str, Any] | None]]
) -> dict[str, Any]:
    """A ClusterBackupWindow's status: `window_status` (`backup_status` of the merged run) plus each namespace's
    part (namespace -> (databases, its last run)), the worst first and at most NAMESPACES_SHOWN of them."""
    rows = [
        NamespaceBackups.of(namespace=ns, databases=count, last_run=run) for ns, (count, run) in sorted(parts.items())
    ]
    rank = {result: i for i, result in enumerate(_WORST)}
    rows.sort(key=lambda r: rank.get(r.last_run.result if r.last_run else "Succeeded", len(_WORST)))
    wire = {
        **window_status,
        "databases": sum(count for count, _ in parts.values()),
        "namespaceCount": len(parts),
        "namespaces": [r.written() for r in rows[:NAMESPACES_SHOWN]],
    }
    return ClusterBackupWindowStatus.model_validate(wire).written()
