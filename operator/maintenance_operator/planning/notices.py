"""Advance notices: which targets must be told, once per occurrence, that a window will restart them."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from maintenance_operator.planning.restarts import Policy, is_due
from maintenance_operator.planning.workloads import Workload


def notice_due_from(start: datetime, notice_before: timedelta) -> datetime:
    return start - notice_before


def notices_due(
    targets: Iterable[Workload],
    occurrence_id: str,
    occurrence_start: datetime,
    notice_before: timedelta,
    policy: Policy,
    now: datetime,
) -> list[Workload]:
    """Due targets not yet told about this occurrence, once we are within `noticeBefore` of its start."""
    if now < notice_due_from(occurrence_start, notice_before):
        return []
    return [w for w in targets if w.notice_sent != occurrence_id and is_due(w, policy) and not w.paused]
