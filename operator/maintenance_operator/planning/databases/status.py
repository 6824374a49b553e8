"""What a ManagedDatabase shows and asks of its StatefulSet: phase, version, pending maintenance, conditions.

Pure, so the texts users read and the rules (an upgrade waits for a window unless applyImmediately; a refused
version never touches the running database) are table-tested. Pending maintenance is carried by the StatefulSet's
annotations, so the MaintenanceWindow handles a database through exactly the code path of any StatefulSet. The status
is built as `ManagedDatabaseStatus`, so it is what the CRD schema declares.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.api.base import Condition
from maintenance_operator.api.database import BackupRef, ManagedDatabaseStatus, PendingMaintenance
from maintenance_operator.planning.backups.handling import BackupHandling
from maintenance_operator.planning.databases.engines import engine
from maintenance_operator.planning.databases.pending import version_update_reason
from maintenance_operator.planning.databases.versions import Refused, UpgradePending, VersionDecision
from maintenance_operator.planning.targets.pending import is_done, pending
from maintenance_operator.planning.targets.workloads import Rollout, Workload
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows.status import condition

VERSION_ACCEPTED = "VersionAccepted"


def image_version(image: str | None) -> str | None:
    """The tag of `repo:tag` (ignoring a registry port), i.e. the version the StatefulSet runs."""
    if not image:
        return None
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1].split("@", 1)[0] if ":" in last else None


def upgrade_reason(decision: UpgradePending) -> str:
    return version_update_reason(decision.from_version, decision.to_version)


def announced_done(live: Workload | None, db_since: datetime | None) -> bool:
    """The database's announced maintenance was done on its StatefulSet (by a window or by the user)."""
    return (
        live is not None
        and db_since is not None
        and live.required_since is not None
        and live.required_since >= db_since
        and is_done(live)
    )


def maintenance_annotations(
    decision: VersionDecision,
    apply_immediately: bool,
    db_required: str | None,
    db_since: datetime | None,
    live: Workload | None,
    engine_name: str,
    now: datetime,
) -> dict[str, str]:
    """The StatefulSet's `required`, `required-since` and `target-image` annotations; empty when nothing is due.

    `required-since` stays what it was while the reason is unchanged, so a re-apply never makes done work pending.
    """
    reasons: list[str] = []
    out: dict[str, str] = {}
    if isinstance(decision, UpgradePending) and not apply_immediately:
        reasons.append(upgrade_reason(decision))
        out[names.ANNOTATION_TARGET_IMAGE] = engine(engine_name).image_ref(decision.to_version)
    if db_required:
        reasons.append(db_required)
    if not reasons:
        return {}
    reason = "; ".join(reasons)
    if live is not None and live.required == reason and live.required_since is not None:
        since = live.required_since
    elif db_required and db_since is not None and len(reasons) == 1:
        since = db_since
    else:
        since = now
    out[names.ANNOTATION_REQUIRED] = reason
    out[names.ANNOTATION_REQUIRED_SINCE] = format_time(since)
    return out


@dataclass(frozen=True)
class WindowSlot:
    """The MaintenanceWindow that would handle the database, and when its occurrence starts."""

    window: str
    start: datetime
    suspended: bool = False  # the window keeps the database, but starts nothing until it is resumed


def phase(live: Workload | None, current_version: str | None, blocked: bool) -> str:
    if blocked and live is None:
        return "Failed"
    if live is None or (current_version is None and live.rollout is not Rollout.COMPLETE):
        return "Provisioning"
    if live.rollout is Rollout.COMPLETE:
        return "Ready"
    return "Upgrading"


def ready_condition(
    previous: Sequence[Mapping[str, Any]],
    state: str,
    summary: str,
    problem: tuple[str, str] | None,
    now: datetime,
    generation: int | None,
) -> Condition:
    """Ready: what keeps the database from being created or served, else whether it serves (`summary`: how)."""
    if problem is not None:
        return condition(previous, names.CONDITION_READY, False, problem[0], problem[1], now, generation)
    if state == "Ready":
        return condition(previous, names.CONDITION_READY, True, "Running", summary, now, generation)
    message = "creating the database" if state == "Provisioning" else "rolling out a new version or restart"
    return condition(previous, names.CONDITION_READY, False, state, message, now, generation)


def version_conditions(
    previous: Sequence[Mapping[str, Any]],
    decision: VersionDecision,
    apply_immediately: bool,
    where: str,
    now: datetime,
    generation: int | None,
) -> list[Condition]:
    """UpgradePending (and where the upgrade will happen) and VersionAccepted."""
    if isinstance(decision, UpgradePending):
        how = "applying now (applyImmediately)" if apply_immediately else where
        upgrade = condition(
            previous,
            names.CONDITION_UPGRADE_PENDING,
            True,
            "ApplyingNow" if apply_immediately else "WaitingForWindow",
            f"{decision.from_version} -> {decision.to_version}: {how}",
            now,
            generation,
        )
    else:
        upgrade = condition(
            previous, names.CONDITION_UPGRADE_PENDING, False, "UpToDate", "no version change pending", now, generation
        )
    if isinstance(decision, Refused):
        accepted = condition(
            previous, VERSION_ACCEPTED, False, decision.reason.value, decision.message, now, generation
        )
    else:
        accepted = condition(
            previous, VERSION_ACCEPTED, True, "Accepted", "the requested version is runnable", now, generation
        )
    return [upgrade, accepted]


NO_BACKUP_WINDOW = "NoBackupWindow"


def backup_condition(
    previous: Sequence[Mapping[str, Any]], found: BackupHandling, now: datetime, generation: int | None
) -> Condition:
    """BackupConfigured: True naming the window(s) that back it up; False (NoBackupWindow) when none does."""
    if found.configured:
        reason = "BackupWindow" if found.windows else "ClusterBackupWindow"
        message = f"backed up by {', '.join(found.refs)}"
        return condition(previous, names.CONDITION_BACKUP_CONFIGURED, True, reason, message, now, generation)
    return condition(
        previous, names.CONDITION_BACKUP_CONFIGURED, False, NO_BACKUP_WINDOW, found.why_none, now, generation
    )


def pending_entries(
    live: Workload | None, decision: VersionDecision, slot: WindowSlot | None
) -> list[PendingMaintenance]:
    """The StatefulSet's pending maintenance, one entry per reason; a version change says from and to what."""
    due = pending(live) if live is not None else None
    if due is None:
        return []
    entries = []
    for reason in due.reason.split("; "):
        upgrade = isinstance(decision, UpgradePending) and reason == upgrade_reason(decision)
        entries.append(
            PendingMaintenance.of(
                reason=reason,
                from_version=decision.from_version if isinstance(decision, UpgradePending) and upgrade else None,
                to_version=decision.to_version if isinstance(decision, UpgradePending) and upgrade else None,
                window=slot.window if slot is not None else None,
                window_start=slot.start if slot is not None else None,
            )
        )
    return entries


def database_status(
    *,
    previous: Mapping[str, Any],
    generation: int | None,
    title: str,
    live: Workload | None,
    decision: VersionDecision,
    apply_immediately: bool,
    slot: WindowSlot | None,
    endpoint: str,
    problem: tuple[str, str] | None,
    now: datetime,
    last_backup: BackupRef | None = None,
    next_backup_window: datetime | None = None,
    backup: BackupHandling | None = None,
) -> dict[str, Any]:
    """The whole status; `problem` (reason, message) is what keeps the database from being created or served;
    `backup` who backs it up (None: not known, as for a spec that cannot be read)."""
    conditions: Sequence[Mapping[str, Any]] = previous.get("conditions") or []
    current = image_version(live.image) if live is not None and live.rollout is Rollout.COMPLETE else None
    current = current or previous.get("currentVersion")
    state = phase(live, current, problem is not None)
    ready = ready_condition(conditions, state, f"{title} {current} serves at {endpoint}", problem, now, generation)
    where = f"in window {slot.window} at {format_time(slot.start)}" if slot else "no window selects it"
    if slot is not None and slot.suspended:
        where += f" ({slot.window} is suspended: nothing starts until it is resumed)"
    entries = pending_entries(live, decision, slot)
    backed_up = [backup_condition(conditions, backup, now, generation)] if backup is not None else []
    return ManagedDatabaseStatus.of(
        observed_generation=generation,
        phase=state,
        endpoint=endpoint,
        pending_maintenance=entries,
        conditions=[
            ready,
            *version_conditions(conditions, decision, apply_immediately, where, now, generation),
            *backed_up,
        ],
        current_version=current,
        pending_summary=f"{'; '.join(e.reason for e in entries)}: {where}" if entries else None,
        next_maintenance_window=slot.start if slot is not None else None,
        last_backup=last_backup,
        next_backup_window=next_backup_window,
    ).written()
