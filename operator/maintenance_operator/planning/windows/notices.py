"""Advance notices: which targets must be told, per lead time and occurrence, that a window will restart them.

`noticeBefore` gives one or more lead times (`[168h, 24h, 1h]`). Each target gets one notice per lead time and
occurrence, recorded in its `maintenance.ops.dev/notice-sent` annotation, so a restarted operator (or a new
leader) never repeats one. Lead times that passed together (a window created 2 h before its start, an operator
that was down) make one notice, for the latest of them: a burst of stale notices tells nobody anything.

The record keeps, for the one occurrence it is about, which lead times were told with Events (`e`) and which the
webhook acknowledged with a 2xx (`w`): `20261201T1400Z 7d=ew 1d=e`. It is bounded by the spec's lead times (at
most `MAX_LEAD_TIMES`); a record of another occurrence counts as nothing. A bare occurrence id is what operators
before lead times wrote: it counts as the longest lead time told and delivered.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from maintenance_operator import schedule as sched
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.windows.restarts import Policy, is_due

MAX_LEAD_TIMES = 10

Key = tuple[str, str, str]


@dataclass(frozen=True)
class NoticeRecord:
    occurrence: str
    told: frozenset[timedelta] = frozenset()  # lead times whose Events went out
    delivered: frozenset[timedelta] = frozenset()  # lead times the webhook acknowledged
    legacy: bool = False  # a bare occurrence id: told and delivered for the longest lead time

    def with_told(self, lead: timedelta) -> "NoticeRecord":
        return replace(self, told=self.told | {lead})

    def with_delivered(self, lead: timedelta) -> "NoticeRecord":
        return replace(self, delivered=self.delivered | {lead})

    def has_told(self, lead: timedelta, leads: Sequence[timedelta]) -> bool:
        """Told for this lead time or a later (shorter) one: nothing older is worth telling any more."""
        return any(t <= lead for t in self._with_legacy(self.told, leads))

    def has_delivered(self, lead: timedelta, leads: Sequence[timedelta]) -> bool:
        return any(t <= lead for t in self._with_legacy(self.delivered, leads))

    def _with_legacy(self, done: frozenset[timedelta], leads: Sequence[timedelta]) -> frozenset[timedelta]:
        return done | {max(leads)} if self.legacy and leads else done


def parse_record(value: str | None) -> NoticeRecord | None:
    """The annotation's record; None when absent or unreadable (then every due notice is sent)."""
    words = (value or "").split()
    if not words:
        return None
    told: set[timedelta] = set()
    delivered: set[timedelta] = set()
    for word in words[1:]:
        lead_text, _, flags = word.partition("=")
        try:
            lead = sched.parse_duration(lead_text)
        except sched.ScheduleError:
            continue
        if "e" in flags:
            told.add(lead)
        if "w" in flags:
            delivered.add(lead)
    return NoticeRecord(words[0], frozenset(told), frozenset(delivered), legacy=len(words) == 1)


def format_record(record: NoticeRecord, leads: Sequence[timedelta]) -> str:
    """The annotation value; only the spec's lead times are kept, so it stays bounded."""
    entries = []
    for lead in sorted(set(leads), reverse=True):
        flags = ("e" if lead in record.told else "") + ("w" if lead in record.delivered else "")
        if flags:
            entries.append(f"{sched.format_duration(lead)}={flags}")
    if record.legacy and not entries:
        return record.occurrence
    return " ".join([record.occurrence, *entries])


def merge(occurrence: str, *records: NoticeRecord | None) -> NoticeRecord:
    """What is known to be done for `occurrence`, from the annotation and from this process's own writes."""
    mine = [r for r in records if r is not None and r.occurrence == occurrence]
    return NoticeRecord(
        occurrence,
        frozenset().union(*(r.told for r in mine)),
        frozenset().union(*(r.delivered for r in mine)),
        legacy=any(r.legacy for r in mine),
    )


@dataclass(frozen=True)
class NoticePlan:
    lead: timedelta | None = None  # the lead time being announced now (the shortest one passed)
    tell: list[Workload] = field(default_factory=list)  # Events now
    deliver: list[Workload] = field(default_factory=list)  # the webhook batch for `lead`
    deliver_until: datetime | None = None  # retries of that batch stop here: the next lead time, or the start
    next_due: datetime | None = None  # when the next lead time passes (the next pass that may notify)
    records: dict[Key, NoticeRecord] = field(default_factory=dict)  # what is done, per target


def lead_times(values: Iterable[timedelta]) -> list[timedelta]:
    """Distinct lead times, longest first."""
    return sorted(set(values), reverse=True)


def plan_notices(
    targets: Iterable[Workload],
    occurrence_id: str,
    occurrence_start: datetime,
    leads: Sequence[timedelta],
    policy: Policy,
    now: datetime,
    *,
    webhook: bool,
    written: Mapping[Key, NoticeRecord] | None = None,
    delivering: frozenset[Key] = frozenset(),
) -> NoticePlan:
    """What to tell and deliver now; `written` is what this process recorded and the cache may not show yet,
    `delivering` the targets of a webhook batch still being retried."""
    ordered = lead_times(leads)
    passed = [lead for lead in ordered if now >= occurrence_start - lead]
    upcoming = [occurrence_start - lead for lead in ordered if now < occurrence_start - lead]
    next_due = min(upcoming, default=None)
    if not passed:
        return NoticePlan(next_due=next_due)
    lead = passed[-1]
    later = [lead_ for lead_ in ordered if lead_ < lead]
    until = occurrence_start - later[0] if later else occurrence_start
    plan = NoticePlan(lead=lead, deliver_until=until, next_due=next_due)
    for w in targets:
        if not is_due(w, policy) or w.paused:
            continue
        record = merge(occurrence_id, parse_record(w.notice_sent), (written or {}).get(w.key))
        plan.records[w.key] = record
        if not record.has_told(lead, ordered):
            plan.tell.append(w)
        if webhook and now < until and w.key not in delivering and not record.has_delivered(lead, ordered):
            plan.deliver.append(w)
    return plan
