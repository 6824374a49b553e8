"""Validate a window's manifest fields together, so one error lists every problem with a valid example."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from .cron import parse_cron
from .duration import format_duration, parse_duration
from .errors import Problem, ScheduleError
from .exclusions import Exclusion, parse_exclusion
from .gaps import min_gap
from .zones import load_zone

MIN_DURATION = timedelta(minutes=5)

_T = TypeVar("_T")


def validate_window(
    schedule: str, duration: str, time_zone: str, exclusions: Sequence[tuple[str, str, str]]
) -> tuple[timedelta, ZoneInfo, tuple[Exclusion, ...]]:
    """Parse and cross-check the fields; raise ScheduleError with all problems found, in field order."""
    problems: list[Problem] = []
    spec = _collect(problems, parse_cron, schedule)
    gap = None if spec is None else min_gap(spec)
    if spec is not None and gap is None:
        problems.append(
            Problem(
                "schedule",
                f"{spec.expression!r} never matches a date (its day-of-month never occurs in its months); "
                "e.g. '0 14 28 2 *' rather than '0 14 30 2 *'",
            )
        )
    parsed_duration = _collect(problems, parse_duration, duration)
    if parsed_duration is not None:
        problems.extend(_check_duration(parsed_duration, gap, schedule.strip()))
    zone = _collect(problems, load_zone, time_zone)
    parsed_exclusions: list[Exclusion] = []
    for index, (start, end, reason) in enumerate(exclusions):
        exclusion, found = parse_exclusion(index, start, end, reason)
        problems.extend(found)
        if exclusion is not None:
            parsed_exclusions.append(exclusion)
    if problems:
        raise ScheduleError(problems)
    assert parsed_duration is not None and zone is not None  # no problems means every field parsed
    return parsed_duration, zone, tuple(parsed_exclusions)


def _collect(problems: list[Problem], parse: Callable[[str], _T], text: str) -> _T | None:
    try:
        return parse(text)
    except ScheduleError as err:
        problems.extend(err.problems)
        return None


def _check_duration(duration: timedelta, gap: timedelta | None, schedule: str) -> list[Problem]:
    """At least 5m, and shorter than the shortest gap between starts (when the schedule is valid)."""
    text = format_duration(duration)
    if duration < MIN_DURATION:
        return [Problem("duration", f"{text!r} is shorter than the minimum of 5m; e.g. '1h'")]
    if gap is None or duration < gap:
        return []
    if gap <= MIN_DURATION:
        return [
            Problem(
                "duration",
                f"{text!r} must be shorter than the {format_duration(gap)} between two starts of {schedule!r}, "
                "but at least 5m; start less often, e.g. '*/15 * * * *'",
            )
        ]
    example = format_duration(max(MIN_DURATION, _whole_minutes(gap / 2)))
    return [
        Problem(
            "duration",
            f"{text!r} is not shorter than the {format_duration(gap)} between two starts of {schedule!r}; "
            f"windows may not overlap, e.g. {example!r}",
        )
    ]


def _whole_minutes(td: timedelta) -> timedelta:
    return timedelta(minutes=td // timedelta(minutes=1))
