"""RFC 3339 parsing and formatting shared by every layer that reads annotations or writes status."""

from datetime import UTC, datetime

from maintenance_operator.api.base import format_time  # the one form every layer writes, status models included

__all__ = ["format_time", "parse_time"]


def parse_time(text: str | None) -> datetime | None:
    """An aware UTC datetime, or None for a missing or malformed value (annotations are user input)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:  # a well-formed time near year 1 or 9999 whose UTC instant a datetime cannot hold
        return None
