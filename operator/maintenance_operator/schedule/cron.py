"""Parse 5-field cron expressions and tell which days of a month they match.

Semantics follow Kubernetes CronJobs (robfig/cron's standard parser), so a schedule means here what it means in a
CronJob:

- fields: minute (0-59), hour (0-23), day-of-month (1-31), month (1-12 or jan-dec), day-of-week (0-7 or sun-sat,
  0 and 7 are Sunday); each a list of ``*``, ``a``, ``a-b``, with an optional ``/step``; ``a/step`` means
  ``a-max/step``; ``?`` is ``*`` in the two day fields;
- macros: ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``, ``@hourly``;
- day-of-month and day-of-week: when both are restricted a day matching *either* matches; a field counts as
  unrestricted when one of its list items is ``*`` or ``?`` without a step above 1 (so ``*/2`` restricts, ``1-31``
  restricts), exactly like robfig/cron.

Time zones, DST and occurrences live elsewhere: this module works on wall-clock dates and times only.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

from .errors import Problem, ScheduleError

FIELD = "schedule"
EXAMPLE = "'0 14 * * 2' (Tuesdays at 14:00)"
_FIELD_ORDER = "minute hour day-of-month month day-of-week"

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTHS = {
    name: i
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_WEEKDAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]
    example: str
    allows_question_mark: bool = False
    last: int | None = None  # where `*` and `a/step` end, if not at ``high`` (day-of-week: 6, 7 only as a value)

    @property
    def open_end(self) -> int:
        return self.high if self.last is None else self.last


_FIELDS = (
    _Field("minute", 0, 59, {}, "'0' or '*/15'"),
    _Field("hour", 0, 23, {}, "'14' or '9-17'"),
    _Field("day-of-month", 1, 31, {}, "'1' or '1,15'", allows_question_mark=True),
    _Field("month", 1, 12, _MONTHS, "'1-12' or 'jan,jul'"),
    _Field("day-of-week", 0, 7, _WEEKDAYS, "'2' or 'mon-fri' (0 and 7 are Sunday)", allows_question_mark=True, last=6),
)

_ITEM = re.compile(r"(?P<low>[^-/]+)(?:-(?P<high>[^-/]+))?(?:/(?P<step>[^-/]*))?")


class _FieldError(Exception):
    """Internal: what is wrong with one field, turned into a Problem by the caller."""


@dataclass(frozen=True)
class CronSpec:
    """A parsed schedule: the sets of values each field allows (day-of-week 0 = Sunday)."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    dom_restricted: bool
    dow_restricted: bool
    _month_memo: dict[tuple[int, int], tuple[int, ...]] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False
    )

    @cached_property
    def times(self) -> tuple[int, ...]:
        """Matching wall-clock times of day as minutes after midnight, ascending."""
        return tuple(h * 60 + m for h in self.hours for m in self.minutes)

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        """Matching days of one month, ascending; memoised because occurrence iteration asks repeatedly."""
        key = (year, month)
        found = self._month_memo.get(key)
        if found is None:
            found = self._compute_days(year, month)
            if len(self._month_memo) > 4096:
                self._month_memo.clear()
            self._month_memo[key] = found
        return found

    def _compute_days(self, year: int, month: int) -> tuple[int, ...]:
        if month not in self.months:
            return ()
        first_weekday, length = calendar.monthrange(year, month)
        first_cron_weekday = (first_weekday + 1) % 7  # calendar: Monday = 0; cron: Sunday = 0
        by_dom = {d for d in self.days if d <= length}
        by_dow = {d for d in range(1, length + 1) if (first_cron_weekday + d - 1) % 7 in self.weekdays}
        chosen = by_dom | by_dow if self.dom_restricted and self.dow_restricted else by_dom & by_dow
        return tuple(sorted(chosen))


def parse_cron(expression: str) -> CronSpec:
    """Parse a schedule; raise ScheduleError listing every bad field with an example of a valid value."""
    text = expression.strip()
    lowered = text.lower()
    if lowered.startswith(("cron_tz=", "tz=")):
        raise ScheduleError.single(FIELD, f"{text!r} embeds a time zone; put it in timeZone instead, e.g. {EXAMPLE}")
    if text.startswith("@"):
        return _parse_macro(text, lowered)
    parts = text.split()
    if len(parts) != 5:
        raise ScheduleError.single(FIELD, _field_count_message(text, len(parts)))
    problems: list[Problem] = []
    parsed: list[tuple[frozenset[int], bool]] = []
    for spec_field, part in zip(_FIELDS, parts, strict=True):
        try:
            parsed.append(_parse_field(spec_field, part.lower()))
        except _FieldError as err:
            problems.append(Problem(FIELD, f"{spec_field.name} {part!r}: {err}; e.g. {spec_field.example}"))
    if problems:
        raise ScheduleError(problems)
    (minutes, _), (hours, _), (days, dom_star), (months, _), (weekdays, dow_star) = parsed
    return CronSpec(
        expression=text,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=days,
        months=months,
        weekdays=frozenset(d % 7 for d in weekdays),
        dom_restricted=not dom_star,
        dow_restricted=not dow_star,
    )


@lru_cache(maxsize=512)
def compile_cron(expression: str) -> CronSpec:
    """Cached parse_cron: occurrence queries recompile the same few schedules constantly."""
    return parse_cron(expression)


def _parse_macro(text: str, lowered: str) -> CronSpec:
    expansion = MACROS.get(lowered)
    if expansion is None:
        known = ", ".join(MACROS)
        raise ScheduleError.single(
            FIELD, f"unknown macro {text!r}; use one of {known} or a 5-field cron, e.g. {EXAMPLE}"
        )
    return replace(parse_cron(expansion), expression=text)


def _field_count_message(text: str, count: int) -> str:
    if count == 0:
        return f"is empty; give 5 fields ({_FIELD_ORDER}), e.g. {EXAMPLE}"
    if count == 6:
        return f"{text!r} has 6 fields, but seconds are not supported; use 5 fields ({_FIELD_ORDER}), e.g. {EXAMPLE}"
    return f"{text!r} has {count} fields; use 5 fields ({_FIELD_ORDER}), e.g. {EXAMPLE}"


def _parse_field(spec_field: _Field, text: str) -> tuple[frozenset[int], bool]:
    """Return the allowed values and whether the field is unrestricted in the robfig/cron sense."""
    values: set[int] = set()
    star = False
    for item in text.split(","):
        item_values, item_star = _parse_item(spec_field, item)
        values |= item_values
        star = star or item_star
    return frozenset(values), star


def _parse_item(spec_field: _Field, item: str) -> tuple[set[int], bool]:
    if not item:
        raise _FieldError("has an empty list item")
    match = _ITEM.fullmatch(item)
    if match is None:
        raise _FieldError(f"{item!r} is not a value, range (a-b), list (a,b) or step (*/n)")
    low_text, high_text, step_text = match.group("low", "high", "step")
    step = _parse_step(step_text)
    if low_text in ("*", "?"):
        if low_text == "?" and not spec_field.allows_question_mark:
            raise _FieldError("'?' is only allowed in day-of-month and day-of-week")
        if high_text is not None:
            raise _FieldError(f"{item!r} is not a value, range (a-b), list (a,b) or step (*/n)")
        return set(range(spec_field.low, spec_field.open_end + 1, step)), step == 1
    low = _parse_value(spec_field, low_text)
    if high_text is not None:
        high = _parse_value(spec_field, high_text)
    elif step_text is None:
        high = low
    else:
        if low > spec_field.open_end:
            low = spec_field.low  # day-of-week `7/n` starts on Sunday like `0/n` (as croniter reads it)
        high = spec_field.open_end
    if high < low:
        wrapped = f"{low}-{spec_field.high},{spec_field.low}-{high}"
        raise _FieldError(f"range {low}-{high} runs backwards (to wrap around, list both parts: {wrapped!r})")
    return set(range(low, high + 1, step)), False


def _parse_step(text: str | None) -> int:
    if text is None:
        return 1
    if not text.isdigit() or int(text) == 0:
        raise _FieldError(f"step {text!r} must be a whole number of at least 1")
    return int(text)


def _parse_value(spec_field: _Field, text: str) -> int:
    if text in spec_field.names:
        return spec_field.names[text]
    if not text.isdigit():
        unsupported = " (L, W and # are not supported)" if any(c in text for c in "lw#") else ""
        raise _FieldError(f"{text!r} is not a number{' or name' if spec_field.names else ''}{unsupported}")
    value = int(text)
    if not spec_field.low <= value <= spec_field.high:
        raise _FieldError(f"{value} is out of range {spec_field.low}-{spec_field.high}")
    return value
