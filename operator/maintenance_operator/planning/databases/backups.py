"""What a ManagedDatabase's status says of its backups: the newest snapshot one can restore from.

Pure, and computed by the database's own task from the snapshot cache, so the status has one writer; the
BackupWindows only take the snapshots (and say when they next will).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from maintenance_operator.api.database import BackupRef
from maintenance_operator.planning.backups.snapshots import SnapshotRecord, label_value


def last_backup(
    database: str, records: Iterable[SnapshotRecord], previous: Mapping[str, Any] | None
) -> BackupRef | None:
    """The newest usable snapshot of `database` with a creation time; else what the status said before.

    The previous value is kept because the cache may not show the snapshot yet (just after a start) or any more
    (deleted by retention or by hand): the last backup taken stays a fact until a newer one replaces it.
    """
    label = label_value(database)
    dated = [(r.created, r.name) for r in records if r.database == label and r.usable and r.created is not None]
    if dated:
        created, name = max(dated)
        return BackupRef(time=created, snapshot=name)
    return _previous(previous)


def _previous(previous: Mapping[str, Any] | None) -> BackupRef | None:
    """The status's `lastBackup` as read from the cluster; None when absent or not what the schema declares."""
    if not previous:
        return None
    try:
        return BackupRef.model_validate(previous)
    except ValidationError:
        return None
