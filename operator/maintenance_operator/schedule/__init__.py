"""Window arithmetic: schedule + time zone + duration + exclusions -> occurrences. Pure: ``now`` is an argument.

DST rules are defined in ``zones``, cron semantics in ``cron``, iteration and clipping in ``occurrences``.
"""

from .duration import format_duration, parse_duration
from .errors import Problem, ScheduleError
from .exclusions import Exclusion
from .ids import id_start, occurrence_id, run_now_id, scheduled_start
from .model import Occurrence, WindowSchedule
from .occurrences import next_occurrences, open_occurrence, previous_occurrence
from .state import WindowReason, WindowState, window_state

__all__ = [
    "Exclusion",
    "Occurrence",
    "Problem",
    "ScheduleError",
    "WindowReason",
    "WindowSchedule",
    "WindowState",
    "format_duration",
    "id_start",
    "next_occurrences",
    "occurrence_id",
    "open_occurrence",
    "parse_duration",
    "previous_occurrence",
    "run_now_id",
    "scheduled_start",
    "window_state",
]
