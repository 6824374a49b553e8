"""The status a Maintenance shows: its progress counted from the cluster, and Ready, Complete and Overdue.

Pure, so the text users read and each condition's transitions are table-tested.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.api.platform import MaintenanceStatus, NamespaceLeft, NodeProgressStatus
from maintenance_operator.planning.announcements.matching import Announcement
from maintenance_operator.planning.announcements.progress import Progress
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows.status import condition


def maintenance_status(
    previous: Mapping[str, Any],
    generation: int | None,
    a: Announcement,
    p: Progress,
    now: datetime,
    nodes: Sequence[NodeProgressStatus] | None = None,
) -> dict[str, Any]:
    """`nodes`: a node announcement's nodes, each with its progress (None: not a node announcement)."""
    before = previous.get("conditions") or []
    if p.total == 0:
        complete_message = "no target matches (yet): a workload that comes to match is covered at once"
    elif p.complete:
        complete_message = f"all {p.total} targets done"
    else:
        complete_message = f"{p.pending} of {p.total} targets pending"
    if a.deadline is None:
        overdue_message = "no deadline"
    elif p.past_deadline:
        overdue_message = f"{p.overdue} targets still pending after the deadline {format_time(a.deadline)}"
    else:
        overdue_message = f"deadline {format_time(a.deadline)}"
    conditions = [
        condition(before, names.CONDITION_READY, True, "Resolved", "targets resolved", now, generation),
        condition(
            before,
            names.CONDITION_COMPLETE,
            p.complete,
            "Done" if p.complete else "Pending",
            complete_message,
            now,
            generation,
        ),
        condition(
            before,
            names.CONDITION_OVERDUE,
            p.past_deadline,
            "PastDeadline" if p.past_deadline else "InTime",
            overdue_message,
            now,
            generation,
        ),
    ]
    return MaintenanceStatus.of(
        observed_generation=generation,
        required_since=a.since,
        total=p.total,
        done_by_window=p.done_by_window,
        done_by_self_service=p.done_by_self_service,
        pending=p.pending,
        failed=p.failed,
        overdue=p.overdue,
        left=[NamespaceLeft.of(namespace=x.namespace, count=x.count, targets=x.targets) for x in p.left],
        left_namespaces=p.left_namespaces,
        nodes=list(nodes) if nodes is not None else None,
        affected=sorted(f"{ns}/{kind}/{name}" for kind, ns, name in a.affected) if a.affected is not None else None,
        conditions=conditions,
    ).written()


def invalid_status(previous: Mapping[str, Any], generation: int | None, problem: str, now: datetime) -> dict[str, Any]:
    """Ready=False with the precise message; nothing is covered while the spec cannot be used."""
    before = previous.get("conditions") or []
    return MaintenanceStatus.of(
        observed_generation=generation,
        conditions=[condition(before, names.CONDITION_READY, False, "InvalidSpec", problem, now, generation)],
    ).written()
