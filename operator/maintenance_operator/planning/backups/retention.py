"""Which snapshots retention deletes. Deleting a backup is the one irreversible thing a BackupWindow does, so the
rules are conservative and each one is a property test:

- only snapshots the operator created are deleted; others are invisible here (neither deleted nor counted, since
  their owner may delete them at any time);
- a snapshot whose creation time is unknown or in the future (clock skew) is never deleted and not counted, so it
  cannot push genuinely newer snapshots out of ``keepLast``: skew makes retention keep more, never less;
- failed (or deleting) snapshots never count as backups; a failed one is deleted once a newer ready one exists;
- in-progress snapshots are never deleted (one may become the newest backup);
- a ready snapshot is kept if it is among the newest ``keepLast`` or younger than ``maxAge`` (either rule keeps it,
  matching the CRD's "set keepLast or maxAge"), and always if it is the newest or among the newest ``minReady``.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import groupby

from maintenance_operator.api.windows import Retention
from maintenance_operator.planning.backups.snapshots import SnapshotRecord
from maintenance_operator.planning.times import format_time
from maintenance_operator.schedule import format_duration, parse_duration


@dataclass(frozen=True)
class RetentionPolicy:
    """``keep_last`` and ``max_age`` both unset (or 0/None) keeps everything: no rule, no deletion."""

    keep_last: int | None = None
    max_age: timedelta | None = None
    min_ready: int = 1

    @classmethod
    def from_spec(cls, spec: Retention) -> "RetentionPolicy":
        max_age = None if spec.max_age is None else parse_duration(spec.max_age, "retention.maxAge")
        return cls(spec.keep_last, max_age, spec.min_ready)


class Reason(StrEnum):
    """Why a snapshot is deleted; the metric label for retention deletions."""

    RETENTION = "retention"  # a ready snapshot outside keepLast and maxAge
    FAILED = "failed"  # a failed snapshot with a newer ready backup


@dataclass(frozen=True)
class Deletion:
    name: str
    database: str
    reason: Reason
    detail: str  # for the Event message


def plan_retention(snapshots: Iterable[SnapshotRecord], policy: RetentionPolicy, now: datetime) -> list[Deletion]:
    """Snapshots to delete, per database, oldest first; everything not listed stays."""
    if now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
    trusted = [s for s in snapshots if s.managed and s.database is not None and _dated(s, now)]
    trusted.sort(key=lambda s: (s.database or "", _created(s), s.name))
    deletions: list[Deletion] = []
    for database, group in groupby(trusted, key=lambda s: s.database or ""):
        deletions += _for_database(database, list(group), policy, now)
    return deletions


def _dated(s: SnapshotRecord, now: datetime) -> bool:
    return s.created is not None and s.created <= now


def _created(s: SnapshotRecord) -> datetime:
    assert s.created is not None  # only dated snapshots get past `plan_retention`'s filter
    return s.created


def _age(s: SnapshotRecord, now: datetime) -> timedelta:
    return now - _created(s)


def _for_database(
    database: str, history: list[SnapshotRecord], policy: RetentionPolicy, now: datetime
) -> list[Deletion]:
    """``history`` is sorted oldest first (creation time, then name: ties resolve the same way every time)."""
    ready = [s for s in history if s.usable]
    newest_first = ready[::-1]
    if not policy.keep_last and policy.max_age is None:
        keep = {s.name for s in newest_first}
    else:
        floor = max(policy.min_ready, 1, policy.keep_last or 0)
        keep = {s.name for s in newest_first[:floor]}
        if policy.max_age is not None:
            keep |= {s.name for s in newest_first if _age(s, now) <= policy.max_age}
    deletions: list[Deletion] = []
    newest = newest_first[0] if newest_first else None
    for s in history:
        if s.usable and s.name not in keep:
            deletions.append(Deletion(s.name, database, Reason.RETENTION, _outside(s, policy, now)))
        elif s.failed and not s.deleting and newest is not None and _created(newest) > _created(s):
            detail = f"failed snapshot superseded by ready snapshot {newest.name} ({format_time(_created(newest))})"
            deletions.append(Deletion(s.name, database, Reason.FAILED, detail))
    return deletions


def _outside(s: SnapshotRecord, policy: RetentionPolicy, now: datetime) -> str:
    rules = []
    if policy.keep_last:
        rules.append(f"not among the newest {policy.keep_last}")
    if policy.max_age is not None:
        rules.append(f"older than {format_duration(policy.max_age)} ({format_duration(_age(s, now))})")
    return "outside retention: " + " and ".join(rules)
