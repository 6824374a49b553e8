"""Prometheus metrics: what the alert rules (deploy/prometheus/rules.yaml) and the dashboard (deploy/grafana/) read."""

import contextlib

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from maintenance_operator.planning.announcements.progress import Progress

# Without this every counter and histogram child also exports a `<name>_created` series (its creation time): as many
# series again, which no rule or dashboard reads. It is process-wide, so it covers kube/client.py's counter too.
disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated

WINDOW = ("namespace", "window")

next_window_start = Gauge(
    "maintenance_window_next_start_timestamp_seconds", "Start of the next occurrence (Unix time).", WINDOW
)
window_open = Gauge("maintenance_window_open", "1 while an occurrence of the window is open.", WINDOW)
pending_targets = Gauge(
    "maintenance_pending_targets",
    "Targets with maintenance still to do, by why they wait (in-progress, outside-window, paused, ...).",
    (*WINDOW, "reason"),
)
restarts = Counter("maintenance_restarts_total", "Maintenance restarts by result.", (*WINDOW, "result"))
restart_duration = Histogram(
    "maintenance_restart_duration_seconds",
    "From the restart PATCH to the completed rollout.",
    WINDOW,
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
missed_windows = Counter(
    "maintenance_window_missed_total",
    "Occurrences that closed while the operator was down and left pending targets undone.",
    WINDOW,
)
notices = Counter("maintenance_notices_total", "Advance notices sent (one per target and occurrence).", WINDOW)
self_service = Counter(
    "maintenance_self_service_total", "Maintenance completed by the users themselves.", ("namespace", "kind")
)
invalid_windows = Gauge("maintenance_window_invalid", "1 while the window's spec is invalid.", WINDOW)
# Per batch and per POST: a batch is one lead time's notice of one occurrence, retried until a 2xx or until it is
# superseded, so attempts minus deliveries are the retries, and `failed` deliveries are notices no receiver got.
webhook_deliveries = Counter(
    "maintenance_notice_webhook_deliveries_total",
    "Notice webhook batches by outcome: delivered (a 2xx, recorded) or failed (no 2xx before the batch was "
    "superseded by the next lead time or the occurrence's start).",
    (*WINDOW, "result"),
)
webhook_attempts = Counter(
    "maintenance_notice_webhook_attempts_total",
    "Notice webhook POSTs by result: accepted (2xx), refused (another HTTP status), error (no answer in time, a "
    "connection error, or the signing key unreadable, so nothing was sent).",
    (*WINDOW, "result"),
)


def forget_window(namespace: str, window: str) -> None:
    """Drop a deleted MaintenanceWindow's series (gauges, counters, histogram), so that dashboards show no ghosts
    and windows that come and go leave nothing behind in the process."""
    _forget(
        (next_window_start, window_open, invalid_windows, restarts, restart_duration, missed_windows, notices),
        namespace,
        window,
    )
    _forget((webhook_deliveries, webhook_attempts), namespace, window)
    set_pending(namespace, window, {})


def forget_backup_window(namespace: str, window: str) -> None:
    """Drop a deleted BackupWindow's series."""
    _forget((snapshots, missed_backups, retention_deletions), namespace, window)


def _forget(families: tuple[Counter | Gauge | Histogram, ...], namespace: str, window: str) -> None:
    for family in families:
        family.remove_by_labels({"namespace": namespace, "window": window})


_pending_reasons: dict[tuple[str, str], set[str]] = {}  # the reasons exported per window; a forgotten one leaves


def set_pending(namespace: str, window: str, by_reason: dict[str, int]) -> None:
    key = (namespace, window)
    for gone in _pending_reasons.get(key, set()) - set(by_reason):
        pending_targets.remove(namespace, window, gone)
    for reason, count in by_reason.items():
        pending_targets.labels(namespace, window, reason).set(count)
    if by_reason:
        _pending_reasons[key] = set(by_reason)
    else:
        _pending_reasons.pop(key, None)


databases = Gauge("maintenance_databases", "ManagedDatabases by engine and phase.", ("engine", "phase"))
database_upgrades_pending = Gauge(
    "maintenance_database_upgrades_pending", "ManagedDatabases with a version upgrade waiting.", ("engine",)
)
_databases: dict[tuple[str, str], tuple[str, str, bool]] = {}


def set_database(namespace: str, name: str, engine: str, phase: str, upgrade_pending: bool) -> None:
    """Record one database's state and recompute the aggregates (a handful of series, whatever the count)."""
    _databases[(namespace, name)] = (engine, phase, upgrade_pending)
    _export_databases()


def forget_database(namespace: str, name: str) -> None:
    """A deleted database leaves the aggregates and loses its last-backup series, which would otherwise age on
    and make BackupTooOld fire for a database that no longer exists."""
    _databases.pop((namespace, name), None)
    _export_databases()
    with contextlib.suppress(KeyError):
        last_backup.remove(namespace, name)


def _export_databases() -> None:
    by_phase: dict[tuple[str, str], int] = {}
    upgrades: dict[str, int] = {}
    for engine, phase, upgrade in _databases.values():
        by_phase[(engine, phase)] = by_phase.get((engine, phase), 0) + 1
        upgrades[engine] = upgrades.get(engine, 0) + int(upgrade)
    databases.clear()
    for (engine, phase), count in by_phase.items():
        databases.labels(engine, phase).set(count)
    database_upgrades_pending.clear()
    for engine, count in upgrades.items():
        database_upgrades_pending.labels(engine).set(count)


snapshots = Counter(
    "maintenance_backup_snapshots_total", "VolumeSnapshots by result (created, ready, failed).", (*WINDOW, "result")
)
last_backup = Gauge(
    "maintenance_backup_last_success_timestamp_seconds",
    "Creation time of the newest ready snapshot of the database (Unix time).",
    ("namespace", "database"),
)
backup_configured = Gauge(
    "maintenance_database_backup_configured",
    "1 while a backup window (a BackupWindow of its namespace or a ClusterBackupWindow) backs up the database, "
    "0 while none does (its BackupConfigured condition is False).",
    ("namespace", "name"),
)


def forget_backup_configured(namespace: str, name: str) -> None:
    with contextlib.suppress(KeyError):
        backup_configured.remove(namespace, name)


missed_backups = Counter("maintenance_backup_missed_total", "Occurrences that ended without a backup.", WINDOW)
retention_deletions = Counter(
    "maintenance_backup_retention_deletions_total", "Snapshots deleted by retention, by reason.", (*WINDOW, "reason")
)

announcement_targets = Gauge(
    "maintenance_announcement_targets",
    "Targets a Maintenance announcement covers, by state (total, done-by-window, done-by-self-service, pending, "
    "failed, overdue; failed and overdue ones are pending too).",
    ("announcement", "state"),
)
ANNOUNCEMENT_STATES = ("total", "done-by-window", "done-by-self-service", "pending", "failed", "overdue")


def set_announcement(name: str, p: Progress) -> None:
    counts = (p.total, p.done_by_window, p.done_by_self_service, p.pending, p.failed, p.overdue)
    for state, count in zip(ANNOUNCEMENT_STATES, counts, strict=True):
        announcement_targets.labels(name, state).set(count)


def forget_announcement(name: str) -> None:
    for state in ANNOUNCEMENT_STATES:
        with contextlib.suppress(KeyError):
            announcement_targets.remove(name, state)


leader = Gauge("maintenance_operator_leader", "1 while this replica holds the leader Lease and acts, else 0.")
cache_synced = Gauge(
    "maintenance_operator_cache_synced", "1 once the workload cache has completed its first LIST of everything."
)
