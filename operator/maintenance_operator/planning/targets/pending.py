"""Is maintenance pending on a workload, and has it been done (by a window or by the user)?

Everything is derived from the workload's own annotations and rollout state, so the operator can be killed at
any moment and a new process reaches the same answers.
"""

from dataclasses import dataclass
from datetime import datetime

from maintenance_operator.planning.targets.workloads import Rollout, Workload


@dataclass(frozen=True, slots=True)
class Pending:
    reason: str
    since: datetime


def needs_since_stamp(w: Workload) -> bool:
    """Announced without `required-since`: the operator stamps the time it first saw it."""
    return w.required is not None and w.required_since is None


def done_by_restart(w: Workload) -> bool:
    """A restart (any kind: `kubectl rollout restart`, ours) after the announcement, fully rolled out.

    Never for a pending database upgrade: only the new image completes that.
    """
    since = w.required_since
    return (
        not w.upgrade_pending
        and since is not None
        and w.restarted_at is not None
        and w.restarted_at >= since
        and w.rollout is Rollout.COMPLETE
    )


def is_done(w: Workload) -> bool:
    since = w.required_since
    if since is None or w.upgrade_pending:
        return False
    return (w.completed_at is not None and w.completed_at >= since) or done_by_restart(w)


def pending(w: Workload) -> Pending | None:
    """The announced maintenance still to do, or None."""
    if w.required is None or w.required_since is None or is_done(w):
        return None
    return Pending(w.required, w.required_since)


def done_by_window(w: Workload) -> bool:
    """A window restarted it after the announcement: the maintenance is the window's, whatever came later."""
    since = w.required_since
    return since is not None and w.window_restarted_at is not None and w.window_restarted_at >= since


def completion_to_record(w: Workload) -> str | None:
    """How maintenance was completed if the operator has not recorded it yet: `self-service` or the window.

    None once a window has restarted it for this announcement: a later restart by the user (the window's
    `restarted-by` no longer matches restartedAt) completes nothing new and is not credited.
    """
    since = w.required_since
    if w.required is None or since is None or (w.completed_at is not None and w.completed_at >= since):
        return None
    if done_by_restart(w):
        if w.restarted_by:
            return w.restarted_by
        return None if done_by_window(w) else "self-service"
    return None


def may_be_self_served(w: Workload) -> bool:
    """Worth a look at its revision: pending, settled, and not something a restart annotation already explains."""
    return pending(w) is not None and w.rollout is Rollout.COMPLETE and not w.paused and not w.upgrade_pending


def self_served(w: Workload, revision_created: datetime | None) -> bool:
    """Self-service by redeploy or pod replacement: every pod runs a template revision made after the notice.

    `revision_created` is when the workload's current revision (`Workload.revision`) was created; a complete
    rollout leaves no pod of another revision (see `planning.revisions`). No pods proves nothing; and both times
    have second precision, so a revision of the announcement's own second may be older: not credited.
    """
    since = w.required_since
    return (
        may_be_self_served(w)
        and w.restarted_by is None
        and not done_by_window(w)
        and w.replicas > 0
        and since is not None
        and revision_created is not None
        and revision_created > since
    )
