"""Durations written the way Kubernetes users write them (``1h``, ``90m``, ``1h30m``, ``2d``)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from .errors import ScheduleError

_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}
_FORMAT_UNITS = ("d", "h", "m", "s")
_NUMBER = r"(\d+(?:\.\d+)?)"
_DURATION = re.compile("".join(f"(?:{_NUMBER}{unit})?" for unit in _UNITS))
_EXAMPLE = "e.g. '1h', '90m', '1h30m' or '2d'"


def parse_duration(text: str, field: str = "duration") -> timedelta:
    """Parse a non-negative duration; units in the order w, d, h, m, s, each at most once.

    ``field`` names the manifest field in the error, so other duration fields (``noticeBefore``) can reuse this.
    """
    match = _DURATION.fullmatch(text.strip()) if text.strip() else None
    if match is None:
        raise ScheduleError.single(
            field, f"{text!r} is not a duration; use numbers with units w, d, h, m, s (largest first), {_EXAMPLE}"
        )
    try:
        return sum(
            (_UNITS[unit] * float(amount) for unit, amount in zip(_UNITS, match.groups(), strict=True) if amount),
            timedelta(),
        )
    except OverflowError:
        raise ScheduleError.single(field, f"{text!r} is too long; {_EXAMPLE}") from None


def format_duration(td: timedelta) -> str:
    """The shortest canonical spelling parse_duration reads back to the same value (``1h30m``, ``2d``, ``0s``)."""
    if td < timedelta():
        return "-" + format_duration(-td)
    if td == timedelta():
        return "0s"
    parts: list[str] = []
    rest = td
    for unit in _FORMAT_UNITS:
        size = _UNITS[unit]
        count, rest = divmod(rest, size)
        if unit == "s":
            seconds = Decimal(count) + Decimal(rest.microseconds) / Decimal(1_000_000)
            if seconds:
                parts.append(f"{seconds.normalize():f}s")
        elif count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
