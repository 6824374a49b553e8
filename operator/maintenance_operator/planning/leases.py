"""Leader election on a coordination.k8s.io/v1 Lease: client-go's rules, pure, with both clocks passed in.

A candidate never trusts the holder's `renewTime` against its own wall clock (clocks differ between nodes): it
takes a Lease over only when the record has not changed for `leaseDurationSeconds` of its own monotonic time since
it last saw it change. A leader stops acting when its last successful renewal is older than the renew deadline,
which is shorter than the Lease duration, so it has stopped before anyone may take over.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from maintenance_operator.planning.times import parse_time

RELEASED_DURATION = 1  # seconds, as client-go writes on release: the next candidate need not wait


@dataclass(frozen=True, slots=True)
class Timing:
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def problem(self) -> str | None:
        """client-go's constraints: the leader must give up before the Lease expires, and retry within it."""
        if not self.lease_duration > self.renew_deadline:
            return "the lease duration must be longer than the renew deadline"
        if not self.renew_deadline > self.retry_period * 1.2:
            return "the renew deadline must be longer than 1.2 times the retry period"
        if self.retry_period <= 0:
            return "the retry period must be positive"
        return None


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    holder: str  # "" once released
    duration: float
    acquired: datetime | None
    renewed: datetime | None
    transitions: int


def record_from(obj: Mapping[str, Any]) -> LeaseRecord:
    spec = obj.get("spec") or {}
    duration = spec.get("leaseDurationSeconds")
    transitions = spec.get("leaseTransitions")
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        duration=float(duration) if isinstance(duration, int) else 0.0,
        acquired=parse_time(spec.get("acquireTime")),
        renewed=parse_time(spec.get("renewTime")),
        transitions=transitions if isinstance(transitions, int) else 0,
    )


def _micro_time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_spec(record: LeaseRecord) -> dict[str, Any]:
    return {
        "holderIdentity": record.holder or None,
        "leaseDurationSeconds": max(1, round(record.duration)),
        "acquireTime": _micro_time(record.acquired),
        "renewTime": _micro_time(record.renewed),
        "leaseTransitions": record.transitions,
    }


def may_acquire(record: LeaseRecord | None, me: str, unchanged_since: float, now: float) -> bool:
    """No Lease yet, released, ours, or unchanged for its whole duration since we last saw it change."""
    if record is None or not record.holder or record.holder == me:
        return True
    return now - unchanged_since >= record.duration


def acquired(record: LeaseRecord | None, me: str, timing: Timing, now: datetime) -> LeaseRecord:
    if record is not None and record.holder == me:
        return replace(record, renewed=now, duration=timing.lease_duration)
    transitions = 0 if record is None else record.transitions + 1
    return LeaseRecord(me, timing.lease_duration, now, now, transitions)


def renewed(record: LeaseRecord, now: datetime) -> LeaseRecord:
    return replace(record, renewed=now)


def released(record: LeaseRecord, now: datetime) -> LeaseRecord:
    return replace(record, holder="", duration=RELEASED_DURATION, renewed=now)


def may_act(last_renewal: float | None, now: float, timing: Timing) -> bool:
    """True while the last successful renewal (monotonic, taken before the request was sent) is fresh enough."""
    return last_renewal is not None and now - last_renewal < timing.renew_deadline
