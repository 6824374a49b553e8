"""Validation errors that name the offending field, so users can fix their manifest in one go."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field (``field`` uses the CRD spelling, e.g. ``timeZone``, ``exclusions[1]``)."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ScheduleError(ValueError):
    """One or more problems; raised with all of them so a manifest needs only one round of fixes."""

    problems: tuple[Problem, ...]

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        if not self.problems:
            raise ValueError("ScheduleError needs at least one problem")
        super().__init__("; ".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, field: str, message: str) -> ScheduleError:
        return cls([Problem(field, message)])
