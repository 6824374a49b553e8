"""The value types of the schedule package: a validated window schedule and its occurrences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .exclusions import Exclusion
from .validation import validate_window


@dataclass(frozen=True)
class Occurrence:
    """One window: ``start <= t < end`` in UTC; ``id`` is the UTC start, stable across restarts and zones."""

    start: datetime
    end: datetime
    id: str


@dataclass(frozen=True)
class WindowSchedule:
    """Schedule (cron, giving the start in ``zone``), elapsed ``duration``, exclusions and the suspend switch."""

    schedule: str
    duration: timedelta
    zone: ZoneInfo
    exclusions: tuple[Exclusion, ...] = ()
    suspend: bool = False

    @classmethod
    def parse(
        cls,
        schedule: str,
        duration: str,
        time_zone: str = "UTC",
        exclusions: Sequence[tuple[str, str, str]] = (),
        suspend: bool = False,
    ) -> WindowSchedule:
        """Build from manifest strings; raises ScheduleError listing all problems at once."""
        parsed_duration, zone, parsed_exclusions = validate_window(schedule, duration, time_zone, exclusions)
        return cls(schedule.strip(), parsed_duration, zone, parsed_exclusions, suspend)
