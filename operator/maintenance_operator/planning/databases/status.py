"""What a ManagedDatabase shows and asks of its StatefulSet: phase, version, pending maintenance, conditions.

Pure, so the texts users read and the rules (an upgrade waits for a window unless applyImmediately; a refused
version never touches the running database) are table-tested. Pending maintenance is carried by the StatefulSet's
annotations, so the MaintenanceWindow handles a database through exactly the code path of any StatefulSet.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from maintenance_operator.api import names
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
) -> dict[str, Any]:
    """The whole status; `problem` (reason, message) is what keeps the database from being created or served."""
    conditions: Sequence[Mapping[str, Any]] = previous.get("conditions") or []
    current = image_version(live.image) if live is not None and live.rollout is Rollout.COMPLETE else None
    current = current or previous.get("currentVersion")
    state = phase(live, current, problem is not None)
    if problem is not None:
        ready = condition(conditions, names.CONDITION_READY, False, problem[0], problem[1], now, generation)
    elif state == "Ready":
        message = f"{title} {current} serves at {endpoint}"
        ready = condition(conditions, names.CONDITION_READY, True, "Running", message, now, generation)
    else:
        message = "creating the database" if state == "Provisioning" else "rolling out a new version or restart"
        ready = condition(conditions, names.CONDITION_READY, False, state, message, now, generation)

    entries: list[dict[str, Any]] = []
    due = pending(live) if live is not None else None
    where = f"in window {slot.window} at {format_time(slot.start)}" if slot else "no window selects it"
    if slot is not None and slot.suspended:
        where += f" ({slot.window} is suspended: nothing starts until it is resumed)"
    if due is not None:
        for reason in due.reason.split("; "):
            entry: dict[str, Any] = {"reason": reason}
            if isinstance(decision, UpgradePending) and reason == upgrade_reason(decision):
                entry |= {"fromVersion": decision.from_version, "toVersion": decision.to_version}
            if slot is not None:
                entry |= {"window": slot.window, "windowStart": format_time(slot.start)}
            entries.append(entry)
    if isinstance(decision, UpgradePending):
        how = "applying now (applyImmediately)" if apply_immediately else where
        upgrade = condition(
            conditions,
            names.CONDITION_UPGRADE_PENDING,
            True,
            "ApplyingNow" if apply_immediately else "WaitingForWindow",
            f"{decision.from_version} -> {decision.to_version}: {how}",
            now,
            generation,
        )
    else:
        upgrade = condition(
            conditions, names.CONDITION_UPGRADE_PENDING, False, "UpToDate", "no version change pending", now, generation
        )
    if isinstance(decision, Refused):
        accepted = condition(
            conditions, VERSION_ACCEPTED, False, decision.reason.value, decision.message, now, generation
        )
    else:
        accepted = condition(
            conditions, VERSION_ACCEPTED, True, "Accepted", "the requested version is runnable", now, generation
        )
    out: dict[str, Any] = {
        "observedGeneration": generation,
        "phase": state,
        "endpoint": endpoint,
        "pendingMaintenance": entries,
        "conditions": [ready, upgrade, accepted],
    }
    if current is not None:
        out["currentVersion"] = current
    if entries:
        out["pendingSummary"] = f"{'; '.join(e['reason'] for e in entries)}: {where}"
    if slot is not None:
        out["nextMaintenanceWindow"] = format_time(slot.start)
    for kept in ("lastBackup", "nextBackupWindow"):  # written by the BackupWindow
        if kept in previous:
            out[kept] = previous[kept]
    return out
