"""Shared test helpers for the schedule tests."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(text: str) -> datetime:
    """A UTC instant from an ISO text without offset, to keep tables short."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
