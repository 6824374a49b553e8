"""Credit maintenance that users did themselves, and stamp announcements that lack a `required-since`.

Runs on every change of a cached Deployment or StatefulSet (and of their template revisions), but writes only
for workloads with announced maintenance: one PATCH, and never a read (the template revision's creation time
comes from the cache, see `planning.revisions`).
"""

import logging
from datetime import datetime

from maintenance_operator.api import names
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.kube import events, workloads
from maintenance_operator.planning.targets import pending as pend
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.times import format_time

log = logging.getLogger(__name__)


class SelfService:
    """One per process; remembers which announcements it already wrote for."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        # uid -> the announcement (required-since, or "stamp") already written for: the watch may deliver older
        # versions of the workload before our own PATCH shows, and those must not write again. Pruned as
        # workloads move on or go.
        self._written: dict[str, str] = {}

    def check(self, w: Workload, now: datetime) -> None:
        """Decide from the cached workload alone; spawn the one PATCH it needs, if any."""
        written = self._written
        if w.required is None:
            written.pop(w.uid, None)
            return
        if pend.needs_since_stamp(w):
            if written.get(w.uid) != "stamp":
                written[w.uid] = "stamp"
                self.runtime.spawn(self._stamp_since(w, now))
            return
        marker = format_time(w.required_since) if w.required_since else ""
        how = pend.completion_to_record(w)
        if how is None and pend.self_served(w, self.runtime.cache.revision_created(w)):
            how = "self-service"
        if how != "self-service":
            if written.get(w.uid) not in (None, marker):
                written.pop(w.uid, None)  # a new announcement: the old record no longer applies
            return
        if written.get(w.uid) == marker:
            return
        written[w.uid] = marker
        self.runtime.spawn(self._record(w, now))

    def forget(self, uid: str) -> None:
        self._written.pop(uid, None)

    async def _stamp_since(self, w: Workload, now: datetime) -> None:
        try:
            await workloads.annotate(
                self.runtime.client, w.kind, w.namespace, w.name, {names.ANNOTATION_REQUIRED_SINCE: format_time(now)}
            )
        except Exception:
            self._written.pop(w.uid, None)  # let the next event try again
            raise

    async def _record(self, w: Workload, now: datetime) -> None:
        runtime = self.runtime
        try:
            await workloads.annotate(
                runtime.client,
                w.kind,
                w.namespace,
                w.name,
                {names.ANNOTATION_COMPLETED_AT: format_time(now), names.ANNOTATION_COMPLETED_BY: "self-service"},
            )
        except Exception:
            self._written.pop(w.uid, None)
            raise
        metrics.self_service.labels(w.namespace, w.kind).inc()
        log.info("%s/%s: maintenance (%s) completed by self-service", w.namespace, w.ref, w.required)
        involved = events.ref("apps/v1", w.kind, w.namespace, w.name, w.uid)
        message = (
            f"maintenance ({w.required}, required since {format_time(w.required_since or now)}) completed by "
            "self-service: every pod was replaced after the announcement and the rollout is complete"
        )
        runtime.spawn(events.emit(runtime.client, involved, "MaintenanceCompleted", message, now))
