"""Stable occurrence ids: work is made idempotent by tagging it with the occurrence it belongs to."""

from __future__ import annotations

from datetime import UTC, datetime

ID_FORMAT = "%Y%m%dT%H%MZ"


def occurrence_id(start: datetime) -> str:
    """The scheduled start in UTC to the minute (``20261201T1400Z``); independent of zone and DST by design."""
    if start.utcoffset() is None:
        raise ValueError(f"occurrence start must be timezone-aware, got {start!r}")
    return start.astimezone(UTC).strftime(ID_FORMAT)


def parse_occurrence_id(value: str) -> datetime:
    """The UTC start an id names (for status and the CLI); ValueError if it is not an id."""
    return datetime.strptime(value, ID_FORMAT).replace(tzinfo=UTC)
