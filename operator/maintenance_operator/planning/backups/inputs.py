"""What a BackupWindow pass starts from: `look` (the window's own status and schedule) says what the runner must
list; `BackupInputs` is everything `decide` reads. Typed, so no wire dict is parsed back inside a pass."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.planning.backups.retention import RetentionPolicy
from maintenance_operator.planning.backups.snapshots import SnapshotRecord
from maintenance_operator.planning.times import parse_time
from maintenance_operator.planning.windows.occurrence import OpenOccurrence


@dataclass(frozen=True)
class Look:
    """What the window's status and schedule say before anything is listed.

    `finishing`: the recorded run is still `Running` but its occurrence is no longer open, so it is reported now.
    `catch_up_due`: an occurrence closed after `handled` (handledThrough, else the window's creation).
    """

    current: OpenOccurrence | None
    state: sched.WindowState
    previous_run: Mapping[str, Any] | None
    handled: datetime | None
    latest: sched.Occurrence | None
    finishing: bool
    catch_up_due: bool

    @property
    def lists_databases(self) -> bool:
        """A run's end and a missed occurrence are reported once: count every selected database, not only those
        kopf has delivered so far."""
        return self.finishing or self.catch_up_due

    def lists_snapshots(self, retention_due: bool) -> bool:
        """Snapshots are listed only while there is work."""
        return self.current is not None or self.finishing or self.catch_up_due or retention_due


def look(
    ws: sched.WindowSchedule,
    status: Mapping[str, Any],
    created: str | None,
    current: OpenOccurrence | None,
    now: datetime,
) -> Look:
    previous_run = status.get("lastRun") or None
    finishing = (
        previous_run is not None
        and previous_run.get("result") == "Running"
        and (current is None or current.id != previous_run.get("occurrence"))
    )
    handled = parse_time(status.get("handledThrough")) or parse_time(created)
    latest = sched.previous_occurrence(ws, now)
    catch_up_due = latest is not None and latest.end <= now and (handled is None or latest.start > handled)
    state = sched.window_state(ws, now)
    return Look(current, state, previous_run, handled, latest, finishing, catch_up_due)


@dataclass(frozen=True)
class BackupInputs:
    """`databases`: the selected ManagedDatabases; `with_volume` those whose StatefulSet exists (the others have no
    data volume yet), `rolling_out` those mid-rollout. `records` None: the snapshots were not listed this pass.
    `retention` None: no retention is due. `retried`: failed snapshot -> its last retry; `recorded`: the ready
    snapshots already counted."""

    window: str
    ws: sched.WindowSchedule
    look: Look
    status: Mapping[str, Any]
    generation: int | None
    databases: Sequence[str]
    with_volume: frozenset[str] = frozenset()
    rolling_out: frozenset[str] = frozenset()
    records: Sequence[SnapshotRecord] | None = None
    retention: RetentionPolicy | None = None
    retried: Mapping[str, datetime] = field(default_factory=dict)
    recorded: frozenset[str] = frozenset()
