"""Stable occurrence ids: work is made idempotent by tagging it with the occurrence it belongs to."""

from __future__ import annotations

from datetime import UTC, datetime

ID_FORMAT = "%Y%m%dT%H%MZ"
RUN_NOW_ID_FORMAT = "%Y%m%dT%H%M%SZ"  # to the second: run-now and on-demand requests start at any instant


def occurrence_id(start: datetime) -> str:
    """The scheduled start in UTC to the minute (``20261201T1400Z``); independent of zone and DST by design."""
    if start.utcoffset() is None:
        raise ValueError(f"occurrence start must be timezone-aware, got {start!r}")
    return start.astimezone(UTC).strftime(ID_FORMAT)


def run_now_id(start: datetime) -> str:
    """A run-now occurrence's id: its start to the second, so two requests within one second are one occurrence."""
    return start.astimezone(UTC).strftime(RUN_NOW_ID_FORMAT)


def id_start(value: str | None) -> datetime | None:
    """The start any occurrence id names (scheduled or run-now); None for anything else."""
    return scheduled_start(value or "") or _parse(value or "", RUN_NOW_ID_FORMAT)


def _parse(value: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(value, fmt).replace(tzinfo=UTC)
    except ValueError:
        return None


def scheduled_start(value: str) -> datetime | None:
    """The start a scheduled occurrence's id names; None for anything else (a run-now id has seconds)."""
    return _parse(value, ID_FORMAT)
