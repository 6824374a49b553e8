"""VolumeSnapshot names, labels and records, and which snapshots a BackupWindow occurrence takes now.

A snapshot's name is a pure function of (database, data PVC, occurrence id): creating it is idempotent, so an
operator killed mid-occurrence (or a catch-up racing a normal run) can never take a second backup of one volume for
one occurrence; the API server's name uniqueness does the de-duplication. The state the plan works from lives in the
snapshots themselves (labels, status), so a restarted operator carries on where the previous one stopped.
"""

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.planning.times import parse_time
from maintenance_operator.schedule import run_now_id

MAX_NAME = 253  # DNS-1123 subdomain, the limit for VolumeSnapshot names
MAX_LABEL_VALUE = 63
_HASH_LENGTH = 8
_MAX_OCCURRENCE_PART = 63  # occurrence ids are 14 characters; bound anything else so the hash and prefix keep room

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_NOT_NAME = re.compile(r"[^a-z0-9.-]+")
_NOT_LABEL = re.compile(r"[^A-Za-z0-9_.-]+")


def is_subdomain(name: str) -> bool:
    """The API server's test for object names (DNS-1123 subdomain)."""
    return len(name) <= MAX_NAME and _SUBDOMAIN.fullmatch(name) is not None


def is_label_value(value: str) -> bool:
    return len(value) <= MAX_LABEL_VALUE and _LABEL_VALUE.fullmatch(value) is not None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:_HASH_LENGTH]


def _clean(text: str) -> str:
    """A valid subdomain (or "") from any text: lowercase, other characters to '-', each dot segment trimmed."""
    segments = (s.strip("-") for s in _NOT_NAME.sub("-", text.lower()).split("."))
    return ".".join(s for s in segments if s)


def snapshot_name(database: str, pvc: str, occurrence_id: str) -> str:
    """``<database>-<pvc>-<occurrence>`` (lowercase), deterministic and a valid object name.

    When that is too long, or an input had to be altered to be valid, the database/PVC part is cut and a hash of
    all three inputs is inserted before the occurrence, so distinct volumes keep distinct names and the occurrence
    stays readable at the end.
    """
    if not database or not pvc or not occurrence_id:
        raise ValueError(
            f"snapshot name needs a database, a PVC and an occurrence id, got {database!r}, {pvc!r}, {occurrence_id!r}"
        )
    occurrence = _clean(occurrence_id)[:_MAX_OCCURRENCE_PART].strip("-.")
    plain = f"{database}-{pvc}-{occurrence}"
    valid = occurrence == occurrence_id.lower() and _clean(database) == database and _clean(pvc) == pvc
    if valid and len(plain) <= MAX_NAME:
        return plain
    suffix = f"{_digest(database, pvc, occurrence_id)}-{occurrence}".strip("-")
    prefix = "-".join(p for p in (_clean(database), _clean(pvc)) if p)
    prefix = prefix[: MAX_NAME - len(suffix) - 1].rstrip("-.")
    return f"{prefix}-{suffix}" if prefix else suffix


def label_value(text: str) -> str:
    """``text`` when it is a valid label value; otherwise cut and cleaned, with a hash so it stays unique.

    Use it both when labelling and when selecting, so a long database name matches its own snapshots.
    """
    if is_label_value(text):
        return text
    digest = _digest(text)
    head = _NOT_LABEL.sub("-", text)[: MAX_LABEL_VALUE - _HASH_LENGTH - 1].strip("-_.")
    return f"{head}-{digest}" if head else digest


def on_demand_id(now: datetime) -> str:
    """The occurrence id of an on-demand backup requested at ``now``: one per second, never an occurrence id."""
    if now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
    return names.ON_DEMAND_PREFIX + run_now_id(now)


def snapshot_labels(database: str, pvc: str, occurrence_id: str, window: str | None) -> dict[str, str]:
    """Labels for a new snapshot; ``window`` None marks an on-demand backup (kept by retention like the others)."""
    labels = {
        names.LABEL_MANAGED_BY: names.MANAGED_BY_VALUE,
        names.LABEL_DATABASE: label_value(database),
        names.LABEL_SOURCE_PVC: label_value(pvc),
        names.LABEL_OCCURRENCE: label_value(occurrence_id),
    }
    if window is None:
        labels[names.LABEL_ON_DEMAND] = names.ON_DEMAND_VALUE
    else:
        labels[names.LABEL_BACKUP_WINDOW] = label_value(window)
    return labels


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """What retention, catch-up and the backup plan need from one VolumeSnapshot.

    ``created`` None means the time is unknown; ``database`` is the label value (see `label_value`), None on a
    snapshot without the label. ``failed`` snapshots never count as backups, even if they also report ready.
    """

    name: str
    database: str | None
    created: datetime | None
    ready: bool
    failed: bool
    managed: bool
    occurrence: str | None = None
    window: str | None = None
    on_demand: bool = False
    deleting: bool = False
    error: str | None = None

    @property
    def usable(self) -> bool:
        """A backup one can restore from: ready, not failed, not on its way out."""
        return self.ready and not self.failed and not self.deleting

    @property
    def in_progress(self) -> bool:
        """Being taken: its database must not be restarted now (a snapshot of a volume mid-rollout)."""
        return not self.ready and not self.failed and not self.deleting


def snapshot_record(obj: Mapping[str, Any]) -> SnapshotRecord:
    """From a VolumeSnapshot as the API server returns it; the snapshot's own creation time beats the object's."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    labels = meta.get("labels") or {}
    error = status.get("error")
    message = None
    if error:
        message = str((error.get("message") if isinstance(error, Mapping) else None) or "snapshot failed")
    return SnapshotRecord(
        name=str(meta.get("name", "")),
        database=labels.get(names.LABEL_DATABASE),
        created=parse_time(status.get("creationTime")) or parse_time(meta.get("creationTimestamp")),
        ready=status.get("readyToUse") is True,
        failed=message is not None,
        managed=labels.get(names.LABEL_MANAGED_BY) == names.MANAGED_BY_VALUE,
        occurrence=labels.get(names.LABEL_OCCURRENCE),
        window=labels.get(names.LABEL_BACKUP_WINDOW),
        on_demand=labels.get(names.LABEL_ON_DEMAND) == names.ON_DEMAND_VALUE,
        deleting=meta.get("deletionTimestamp") is not None,
        error=message,
    )


@dataclass(frozen=True, slots=True)
class DataVolume:
    """A data PVC of a selected ManagedDatabase (only data volumes are backed up)."""

    database: str
    pvc: str


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    """A VolumeSnapshot to create: the kube layer adds the class name and ``spec.source``."""

    name: str
    database: str
    pvc: str
    labels: Mapping[str, str]


class VolumeWait(StrEnum):
    """Why a volume has no snapshot yet in this occurrence; shown in status and the CLI."""

    ROLLOUT = "waiting-for-rollout"  # no snapshot of a database in the middle of a rollout
    CLOSED = "window-closed"  # new work may not start (closed, excluded, suspended)
    DELETING = "previous-attempt-deleting"  # a failed attempt with this name is still being removed
    NAME_TAKEN = "name-taken"  # a snapshot the operator did not create has the name: never touched


@dataclass
class BackupStep:
    """One evaluation of an occurrence. ``retry`` lists failed attempts to delete: once gone, they are re-created."""

    create: list[SnapshotRequest] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waiting: dict[DataVolume, VolumeWait] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every volume has a ready snapshot for the occurrence."""
        return not (self.create or self.retry or self.in_progress or self.failed or self.waiting)


def plan_snapshots(
    volumes: Iterable[DataVolume],
    window: str,
    occurrence_id: str,
    existing: Iterable[SnapshotRecord],
    *,
    can_start: bool,
    busy: Collection[str] = frozenset(),
) -> BackupStep:
    """Classify every data volume for the occurrence; ``busy`` names databases mid-rollout.

    ``can_start`` is False once the window closed (or is excluded or suspended): the step then only reports, and
    what has no ready snapshot is the caller's missed backup. Volumes are taken in a stable order.
    """
    by_name = {s.name: s for s in existing}
    step = BackupStep()
    for volume in sorted(set(volumes), key=lambda v: (v.database, v.pvc)):
        name = snapshot_name(volume.database, volume.pvc, occurrence_id)
        found = by_name.get(name)
        if found is not None and not found.managed:
            step.waiting[volume] = VolumeWait.NAME_TAKEN
        elif found is not None and found.deleting:
            step.waiting[volume] = VolumeWait.DELETING
        elif found is not None and found.failed:
            step.failed.append(name)
            if can_start:
                step.retry.append(name)
        elif found is not None:
            (step.ready if found.ready else step.in_progress).append(name)
        elif not can_start:
            step.waiting[volume] = VolumeWait.CLOSED
        elif volume.database in busy:
            step.waiting[volume] = VolumeWait.ROLLOUT
        else:
            labels = snapshot_labels(volume.database, volume.pvc, occurrence_id, window)
            step.create.append(SnapshotRequest(name, volume.database, volume.pvc, labels))
    return step
