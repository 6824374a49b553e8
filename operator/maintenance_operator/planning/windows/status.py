"""The status a MaintenanceWindow shows: next occurrences, open or not, and why each pending target waits.

Pure, so the exact text users read (and the condition transitions) is table-tested. Each status is built as the
kind's api model and written as `StatusModel.written()`, so it is what the CRD schema declares. The shared parts are
keyword arguments of those models (`schedule_fields`, `invalid_fields`; None: not written), each kind's
builder adds its own.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.base import Condition
from maintenance_operator.api.windows import (
    HandledElsewhere,
    MaintenanceWindowStatus,
    OccurrenceRef,
    PendingTarget,
    RunSummary,
)
from maintenance_operator.planning.targets.pending import pending
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows.occurrence import OpenOccurrence
from maintenance_operator.planning.windows.restarts import Step

MAX_LISTED = 100  # status stays small (etcd object size); the count covers the rest
MISSED_SHOWN = 20  # status.missedOccurrences keeps the most recent ones
MISSED = "Missed"  # lastRun.result of an occurrence that closed while the operator was down
NEXT_SHOWN = 5
FORBIDDEN = "Forbidden"  # the Ready reason when the operator's ServiceAccount lacks a permission the work needs


def condition(
    previous: Sequence[Mapping[str, Any]],
    type_: str,
    ok: bool,
    reason: str,
    message: str,
    now: datetime,
    generation: int | None,
) -> Condition:
    """A metav1.Condition whose lastTransitionTime moves only when its status flips."""
    status = "True" if ok else "False"
    old = next((c for c in previous if c.get("type") == type_), None)
    since = old["lastTransitionTime"] if old and old.get("status") == status else now
    return Condition.of(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=since,
        observed_generation=generation,
    )


def ready_first(ready: Condition, conditions: Sequence[Condition]) -> list[Condition]:
    """`ready` in front of the other conditions, which stay as they are."""
    return [ready, *(c for c in conditions if c.type != names.CONDITION_READY)]


def not_ready(
    status: Mapping[str, Any], reason: str, message: str, now: datetime, generation: int | None
) -> dict[str, Any]:
    """`status` with Ready=False for `reason` in front of its other conditions, which stay as they are.

    For what stops a resource's work without making its spec wrong: a webhook that may not be called, a
    permission the operator's ServiceAccount lacks. `status` is any kind's, as last written.
    """
    conditions = status.get("conditions") or []
    ready = condition(conditions, names.CONDITION_READY, False, reason, message, now, generation).written()
    return {**status, "conditions": [ready, *(c for c in conditions if c.get("type") != names.CONDITION_READY)]}


def occurrence(o: sched.Occurrence) -> OccurrenceRef:
    return OpenOccurrence(o).ref()


def pending_entries(
    step: Step, listed: int = MAX_LISTED, *, with_namespace: bool = False
) -> tuple[int, list[PendingTarget]]:
    """How many targets are still to do in this or a later occurrence, and the first `listed` of them with why
    each is not done yet (only those are built: a status lists at most MAX_LISTED). `with_namespace`: a cluster
    window's entries name their namespace."""
    rows = [(w, "in-progress") for w in step.in_flight]
    rows += [(w, "rollout-failed") for w in step.failed]
    rows += [(w, "starting") for w in step.start]
    rows += [(w, step.wait_reasons[w.key].value) for w in step.waiting]
    entries: list[PendingTarget] = []
    for w, why in rows[:listed]:
        p = pending(w)
        entries.append(
            PendingTarget.of(
                kind=w.kind,
                name=w.name,
                namespace=w.namespace if with_namespace else None,
                reason=p.reason if p else "policy: Always",
                downtime_expected=w.downtime_expected,
                waiting=why,
                since=p.since if p else None,
                announcements=list(w.announcements) or None,
            )
        )
    return len(rows), entries


def elsewhere_entries(
    elsewhere: Sequence[tuple[Workload, str]], listed: int = MAX_LISTED, *, with_namespace: bool = False
) -> tuple[int, list[HandledElsewhere]]:
    """How many due targets another window handles, and the first `listed`, each with that window, in a stable
    order."""
    entries = []
    for w, window in sorted(elsewhere, key=lambda e: (e[0].namespace, e[0].kind, e[0].name))[:listed]:
        p = pending(w)
        entries.append(
            HandledElsewhere.of(
                kind=w.kind,
                name=w.name,
                namespace=w.namespace if with_namespace else None,
                reason=p.reason if p else "policy: Always",
                window=window,
            )
        )
    return len(elsewhere), entries


def invalid_fields(previous: Mapping[str, Any], generation: int | None, problem: str, now: datetime) -> dict[str, Any]:
    """An invalid spec replaces everything schedule-derived: Ready=False with the precise message.

    No occurrence is due while the spec is invalid, so `handledThrough` moves to now: fixing the spec later does not
    report that time's occurrences (or all since the window's creation) as missed. Misses reported stay listed.
    """
    conditions = previous.get("conditions") or []
    return dict(
        observed_generation=generation,
        open=False,
        conditions=[condition(conditions, names.CONDITION_READY, False, "InvalidSpec", problem, now, generation)],
        handled_through=now,
        missed_occurrences=previous.get("missedOccurrences") or None,
    )


def schedule_fields(
    previous: Mapping[str, Any],
    generation: int | None,
    upcoming: Sequence[sched.Occurrence],
    current: OpenOccurrence | None,
    now: datetime,
) -> dict[str, Any]:
    """What every window kind shows: next occurrences, whether one is open, and the Ready/WindowOpen conditions."""
    conditions = previous.get("conditions") or []
    return dict(
        observed_generation=generation,
        next_window=upcoming[0].start if upcoming else None,
        next_occurrences=[occurrence(o) for o in upcoming[:NEXT_SHOWN]],
        open=current is not None,
        current_occurrence=current.ref() if current is not None else None,
        conditions=[
            condition(conditions, names.CONDITION_READY, True, "Scheduled", "schedule is valid", now, generation),
            condition(
                conditions,
                names.CONDITION_WINDOW_OPEN,
                current is not None,
                "Open" if current is not None else "Closed",
                f"occurrence {current.id} until {format_time(current.end)}" if current is not None else "",
                now,
                generation,
            ),
        ],
    )


def missed_list(previous: Mapping[str, Any], missed: Sequence[str]) -> list[str]:
    """`status.missedOccurrences`: the ones listed before plus the new ones, each once, the most recent kept."""
    before = list(previous.get("missedOccurrences", []))
    return [*before, *(m for m in missed if m not in before)][-MISSED_SHOWN:]


def missed_condition(
    previous: Mapping[str, Any],
    type_: str,
    run: Mapping[str, Any] | None,
    bad_results: Sequence[str],
    good_reason: str,
    now: datetime,
    generation: int | None,
) -> Condition:
    """A window kind's "missed" condition: True while its last run's result is one of `bad_results`."""
    bad = run is not None and run.get("result") in bad_results
    message = f"occurrence {run['occurrence']}: {run.get('result')}" if run is not None else "no occurrence yet"
    reason = str(run["result"]) if bad and run is not None else good_reason
    return condition(previous.get("conditions") or [], type_, bad, reason, message, now, generation)


def maintenance_status(
    *,
    previous: Mapping[str, Any],
    generation: int | None,
    upcoming: Sequence[sched.Occurrence],
    current: OpenOccurrence | None,
    step: Step | None,
    problem: str | None,
    now: datetime,
    last_run: RunSummary | Mapping[str, Any] | None,
    notice_problem: str | None = None,
    elsewhere: Sequence[tuple[Workload, str]] = (),
    forbidden: str | None = None,
    handled_through: datetime | None = None,
    missed: Sequence[str] = (),
    with_namespace: bool = False,
) -> dict[str, Any]:
    """The full status object; `problem` (an invalid spec) replaces everything schedule-derived.

    `notice_problem` (the webhook may not or cannot be called) makes Ready=False with its message, but the
    schedule, restarts and Event notices go on: only the webhook's requests are not sent. `forbidden` (a restart
    the operator may not send) makes Ready=False the same way, and wins: nothing else fixes it. `elsewhere` are the
    due targets (target, handling window) another window handles: listed apart from `pending`, so each pending
    target is counted once, by the window that will do it. `missed` are occurrences newly found to have passed
    while the operator was down (`planning.missed`); `MaintenanceMissed` is True while the last run is one.
    """
    if problem is not None:
        invalid = invalid_fields(previous, generation, problem, now)
        return MaintenanceWindowStatus.of(**invalid, pending_count=0, handled_elsewhere_count=0).written()
    pending_count, entries = pending_entries(step, with_namespace=with_namespace) if step is not None else (0, [])
    elsewhere_count, others = elsewhere_entries(elsewhere, with_namespace=with_namespace)
    scheduled = schedule_fields(previous, generation, upcoming, current, now)
    for reason, message in (("NoticeWebhookRefused", notice_problem), (FORBIDDEN, forbidden)):
        if message is not None:
            # Against the previous status, so lastTransitionTime stays while the problem lasts (no write a pass).
            before = previous.get("conditions") or []
            ready = condition(before, names.CONDITION_READY, False, reason, message, now, generation)
            scheduled["conditions"] = ready_first(ready, scheduled["conditions"])
    if isinstance(last_run, RunSummary):
        last_run = last_run.written()
    run = dict(last_run) if last_run is not None else previous.get("lastRun")
    scheduled["conditions"].append(
        missed_condition(previous, names.CONDITION_MAINTENANCE_MISSED, run, (MISSED,), "Handled", now, generation)
    )
    return MaintenanceWindowStatus.of(
        **scheduled,
        pending_count=pending_count,
        pending=entries,
        handled_elsewhere_count=elsewhere_count,
        handled_elsewhere=others,
        last_run=run,
        handled_through=handled_through or previous.get("handledThrough"),
        missed_occurrences=missed_list(previous, missed) or None,
    ).written()
