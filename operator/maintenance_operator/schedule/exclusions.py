"""Exclusion periods: half-open ``[start, end)`` spans in which no window opens and no new work starts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import Problem

_EXAMPLE = "e.g. '2026-12-24T00:00:00Z' or '2026-12-24T00:00:00+01:00'"


@dataclass(frozen=True)
class Exclusion:
    """A blackout period (e.g. a release freeze); times are timezone-aware, ``end`` is exclusive."""

    start: datetime
    end: datetime
    reason: str = ""

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise ValueError(f"exclusion times must be timezone-aware, got {self.start!r} and {self.end!r}")

    def __contains__(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def covering(exclusions: Iterable[Exclusion], instant: datetime) -> Exclusion | None:
    """The exclusion containing ``instant`` that lasts longest (so callers can skip past it), or None."""
    found = [e for e in exclusions if instant in e]
    return max(found, key=lambda e: e.end) if found else None


def parse_exclusion(index: int, start: str, end: str, reason: str) -> tuple[Exclusion | None, list[Problem]]:
    """Parse one ``{start, end, reason}`` entry (RFC 3339), reporting every problem with its list position."""
    field = f"exclusions[{index}]"
    problems: list[Problem] = []
    parsed_start = _parse_instant(f"{field}.start", start, problems)
    parsed_end = _parse_instant(f"{field}.end", end, problems)
    if parsed_start is None or parsed_end is None:
        return None, problems
    if parsed_end <= parsed_start:
        verb = "ends before it starts" if parsed_end < parsed_start else "is empty (end equals start)"
        problems.append(Problem(field, f"{verb}: start {start!r}, end {end!r}; the end must be later than the start"))
        return None, problems
    return Exclusion(parsed_start, parsed_end, reason), problems


def _parse_instant(field: str, text: str, problems: list[Problem]) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip().upper().replace(" ", "T", 1))
    except ValueError:
        problems.append(Problem(field, f"{text!r} is not an RFC 3339 date-time; {_EXAMPLE}"))
        return None
    if value.utcoffset() is None:
        problems.append(Problem(field, f"{text!r} has no UTC offset; add 'Z' or an offset, {_EXAMPLE}"))
        return None
    return value.astimezone(UTC)
