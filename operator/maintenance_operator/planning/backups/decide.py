"""One BackupWindow pass, decided: the snapshots to create or retry, the deletions, what to tell, the status to
write and when to look again, from the window's status, its schedule, the databases and the snapshots.

Pure (`now` is passed in), so every branch of a pass is a row of a table test; the runner only gathers the inputs
(`inputs.look` says what it must list first) and applies the `Decision`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from maintenance_operator import schedule as sched
from maintenance_operator.planning.backups import status as backup_status
from maintenance_operator.planning.backups.inputs import BackupInputs
from maintenance_operator.planning.backups.retention import Deletion, plan_retention
from maintenance_operator.planning.backups.snapshots import (
    BackupStep,
    DataVolume,
    SnapshotRecord,
    SnapshotRequest,
    label_value,
    plan_snapshots,
    snapshot_name,
)
from maintenance_operator.planning.catchup import catch_up
from maintenance_operator.planning.databases.manifests import data_claim_name
from maintenance_operator.planning.windows import occurrence
from maintenance_operator.planning.windows import status as window_status

RETRY_EVERY = timedelta(seconds=10)  # between attempts at a failed snapshot inside the window
PROGRESS_CHECK = timedelta(seconds=5)  # a safety net: snapshot watch events wake the task first
DOWN = "the operator was not running during the window"


class Missed(NamedTuple):
    """An occurrence without its backup, and why: told and counted once per occurrence."""

    occurrence: str
    why: str


@dataclass(frozen=True)
class Retry:
    """A failed attempt to delete, with its error (told once per name); once gone, the next pass re-creates it."""

    name: str
    error: str | None = None


@dataclass(frozen=True)
class Forget:
    """What may still be reported, from a fresh list of the snapshots: the snapshot names listed or that an open,
    reopenable or finishing occurrence can make, and the occurrences that can still be reported missed."""

    snapshots: frozenset[str]
    occurrences: frozenset[str]
    handled: datetime | None

    def reportable(self, occurrence_id: str) -> bool:
        start = sched.id_start(occurrence_id)
        return occurrence_id in self.occurrences or self.handled is None or start is None or start > self.handled


@dataclass(frozen=True)
class Decision:
    status: dict[str, Any]
    next_start: datetime | None
    wake_at: datetime | None
    deletions: tuple[Deletion, ...] = ()  # retention's
    missed: tuple[Missed, ...] = ()
    abandon: tuple[str, ...] = ()  # unfinished or failed attempts of a closed occurrence
    create: tuple[SnapshotRequest, ...] = ()
    retry: tuple[Retry, ...] = ()
    retried: Mapping[str, datetime] = field(default_factory=dict)
    snapshotting: frozenset[str] = frozenset()  # databases with a snapshot being taken: not restarted now
    saw_ready: bool = False  # a ready snapshot in the open occurrence: retention is due again
    newly_ready: tuple[str, ...] = ()  # counted once each
    recorded: frozenset[str] = frozenset()
    forget: Forget | None = None  # None: nothing listed, forget nothing
    # What `status` was built from, for a ClusterBackupWindow, which sums its namespaces' parts into one status.
    last_run: Mapping[str, Any] | None = None
    handled: datetime | None = None
    missed_ids: tuple[str, ...] = ()
    upcoming: tuple[sched.Occurrence, ...] = ()


@dataclass
class _Run:
    """The parts of a Decision that the steps of `decide` add to in turn."""

    handled: datetime | None
    last_run: dict[str, Any] | None = None
    missed: list[Missed] = field(default_factory=list)
    abandon: list[str] = field(default_factory=list)


def decide(inputs: BackupInputs, now: datetime) -> Decision:
    """The whole pass: report a finished run, then occurrences missed while down, then work in the open one."""
    lk, records = inputs.look, inputs.records or ()
    run = _Run(lk.handled)
    if lk.finishing and lk.previous_run is not None:
        _finish(inputs, str(lk.previous_run["occurrence"]), run, now)
    missed_ids = _catch_up(inputs, run, now)
    wake_at: list[datetime | None] = [lk.state.next_change]
    step: BackupStep | None = None
    retries: tuple[Retry, ...] = ()
    retried = dict(inputs.retried)
    if lk.current is not None:
        blocked = occurrence.blocked_by(inputs.ws, lk.state, lk.current, now)
        step = _step(inputs, lk.current.id, can_start=blocked is None)
        retries, retried, retry_at = _retries(inputs, step, now)
        run.last_run = backup_status.run_summary(lk.current.id, step, closed=False, now=now)
        wake_at += [lk.current.end, retry_at]
    upcoming = sched.next_occurrences(inputs.ws, now, window_status.NEXT_SHOWN)
    new_status = backup_status.backup_status(
        previous=inputs.status,
        generation=inputs.generation,
        upcoming=upcoming,
        current=lk.current,
        last_run=run.last_run,
        handled_through=run.handled,
        missed=missed_ids,
        problem=None,
        now=now,
    )
    newly_ready, recorded = _newly_ready(inputs)
    return Decision(
        status=new_status,
        next_start=upcoming[0].start if upcoming else None,
        wake_at=min((t for t in wake_at if t is not None and t > now), default=None),
        deletions=tuple(_retention(inputs, now)),
        missed=tuple(run.missed),
        abandon=tuple(run.abandon),
        create=tuple(step.create) if step else (),
        retry=retries,
        retried=retried,
        snapshotting=_snapshotting(step, records),
        saw_ready=bool(step and step.ready),
        newly_ready=newly_ready,
        recorded=recorded,
        forget=_forget(inputs, now),
        last_run=run.last_run,
        handled=run.handled,
        missed_ids=tuple(missed_ids),
        upcoming=tuple(upcoming),
    )


def _step(inputs: BackupInputs, occurrence_id: str, *, can_start: bool) -> BackupStep:
    volumes = [DataVolume(name, data_claim_name(name)) for name in inputs.databases if name in inputs.with_volume]
    records = inputs.records or ()
    return plan_snapshots(volumes, inputs.window, occurrence_id, records, can_start=can_start, busy=inputs.rolling_out)


def _retries(
    inputs: BackupInputs, step: BackupStep, now: datetime
) -> tuple[tuple[Retry, ...], dict[str, datetime], datetime | None]:
    """The failed attempts to delete now, each at most once per RETRY_EVERY; the retry clock; the next look."""
    retried = {name: at for name, at in inputs.retried.items() if now - at < RETRY_EVERY}
    retries, retry_at = [], None
    for name in step.retry:
        last = retried.get(name)
        if last is not None and now - last < RETRY_EVERY:
            retry_at = min(filter(None, [retry_at, last + RETRY_EVERY]))
            continue
        retried[name] = now
        error = next((r.error for r in inputs.records or () if r.name == name), "")
        retries.append(Retry(name, error))
    if step.in_progress or step.create or step.retry:
        retry_at = min(filter(None, [retry_at, now + PROGRESS_CHECK]))
    return tuple(retries), retried, retry_at


def _snapshotting(step: BackupStep | None, records: Sequence[SnapshotRecord]) -> frozenset[str]:
    if step is None:
        return frozenset()
    taking = {r.database for r in records if r.name in step.in_progress and r.database}
    return frozenset({r.database for r in step.create} | taking)


def _finish(inputs: BackupInputs, occurrence_id: str, run: _Run, now: datetime) -> None:
    """The occurrence closed: what has no ready snapshot is a missed backup, reported once.

    Its unfinished or failed attempts are deleted: left alone, the CSI sidecars would keep retrying them and take
    the snapshot outside the window, which is what windows exist to prevent.
    """
    records = inputs.records or ()
    volumes = [DataVolume(name, data_claim_name(name)) for name in inputs.databases]
    step = plan_snapshots(volumes, inputs.window, occurrence_id, records, can_start=False)
    run.last_run = backup_status.run_summary(occurrence_id, step, closed=True, now=now)
    if run.last_run["result"] != "Succeeded":
        ready = {r.database for r in records if r.occurrence == occurrence_id and r.usable}
        lacking = sorted(set(inputs.databases) - ready)
        run.missed.append(Missed(occurrence_id, f"no ready snapshot of {', '.join(lacking) or 'any database'}"))
    run.abandon += [*step.in_progress, *step.failed]
    if (start := sched.scheduled_start(occurrence_id)) is not None:
        run.handled = max(filter(None, [run.handled, start]))


def _catch_up(inputs: BackupInputs, run: _Run, now: datetime) -> list[str]:
    """Closed occurrences after `handled` that made no snapshot: reported missed, each once."""
    latest = inputs.look.latest
    if not inputs.look.catch_up_due or run.handled is None or latest is None:
        return []
    mine = label_value(inputs.window)
    taken = {r.occurrence for r in inputs.records or () if r.window == mine and r.occurrence}
    missed = [o.id for o in catch_up(inputs.ws, run.handled, taken, now).missed]
    run.missed += [Missed(o, DOWN) for o in missed]
    run.handled = max(run.handled, latest.start)
    if missed:  # newer than a run finished above; a current occurrence's run replaces it
        run.last_run = backup_status.missed_summary(missed[-1], len(inputs.databases), now)
    return missed


def _retention(inputs: BackupInputs, now: datetime) -> list[Deletion]:
    """This window's and the on-demand snapshots of its databases that the retention policy no longer keeps."""
    if inputs.retention is None or inputs.records is None:
        return []
    mine, selected = label_value(inputs.window), {label_value(d) for d in inputs.databases}
    chosen = [r for r in inputs.records if r.database in selected and (r.window == mine or r.on_demand)]
    return plan_retention(chosen, inputs.retention, now)


def _newly_ready(inputs: BackupInputs) -> tuple[tuple[str, ...], frozenset[str]]:
    """Each database's newest usable snapshot not counted yet; what stays counted is what is still listed."""
    if inputs.records is None:
        return (), inputs.recorded
    recorded = inputs.recorded & {r.name for r in inputs.records}
    newly = []
    for name in inputs.databases:
        dated = [r for r in inputs.records if r.database == label_value(name) and r.usable and r.created is not None]
        newest = max(dated, key=lambda r: r.created or datetime.min, default=None)
        if newest is not None and newest.name not in recorded:
            newly.append(newest.name)
            recorded |= {newest.name}
    return tuple(newly), recorded


def _forget(inputs: BackupInputs, now: datetime) -> Forget | None:
    """Only an occurrence that is open (or may open again: the scheduled one a run-now interrupted), finishing
    (`lastRun`) or after handledThrough can create a snapshot or be reported missed."""
    if inputs.records is None:
        return None
    current, opened = inputs.look.current, sched.open_occurrence(inputs.ws, now)
    live = {o for o in (current.id if current else None, opened.id if opened else None) if o}
    if (last := (inputs.status.get("lastRun") or {}).get("occurrence")) is not None:
        live.add(str(last))
    made = {snapshot_name(db, data_claim_name(db), o) for db in inputs.databases for o in live}
    listed = {r.name for r in inputs.records}
    return Forget(frozenset(listed | made), frozenset(live), inputs.look.handled)
