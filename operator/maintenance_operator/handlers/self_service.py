"""Credit maintenance that users did themselves, and stamp announcements that lack a `required-since`.

Runs on every watch event of a Deployment or StatefulSet, but acts (one PATCH, at most one pod LIST) only on
workloads with announced maintenance.
"""

import logging
from datetime import datetime

from maintenance_operator.api import names
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.kube import events, workloads
from maintenance_operator.planning import pending as pend
from maintenance_operator.planning.selectors import to_query
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.workloads import Workload

log = logging.getLogger(__name__)

# (uid, generation) pairs whose pods were already found not all new: re-LIST only after a new rollout.
_checked: dict[str, int] = {}


async def on_workload(runtime: Runtime, w: Workload, now: datetime) -> None:
    if w.required is None:
        _checked.pop(w.uid, None)
        return
    client = runtime.client
    if pend.needs_since_stamp(w):
        await workloads.annotate(
            client, w.kind, w.namespace, w.name, {names.ANNOTATION_REQUIRED_SINCE: format_time(now)}
        )
        return
    how = pend.completion_to_record(w)
    if how is None and pend.may_be_self_served(w) and w.restarted_by is None and w.pod_selector:
        if _checked.get(w.uid) == w.generation:
            return
        since = w.required_since
        assert since is not None
        created = await workloads.pod_creation_times(client, w.namespace, to_query({"matchLabels": w.pod_selector}))
        if pend.all_pods_newer(created, since):
            how = "self-service"
        else:
            _checked[w.uid] = w.generation
    if how != "self-service":
        return
    await record_self_service(runtime, w, now)


async def record_self_service(runtime: Runtime, w: Workload, now: datetime) -> None:
    await workloads.annotate(
        runtime.client,
        w.kind,
        w.namespace,
        w.name,
        {names.ANNOTATION_COMPLETED_AT: format_time(now), names.ANNOTATION_COMPLETED_BY: "self-service"},
    )
    _checked.pop(w.uid, None)
    metrics.self_service.labels(w.namespace, w.kind).inc()
    log.info("%s/%s: maintenance (%s) completed by self-service", w.namespace, w.ref, w.required)
    involved = events.ref("apps/v1", w.kind, w.namespace, w.name, w.uid)
    message = (
        f"maintenance ({w.required}, required since {format_time(w.required_since or now)}) completed by "
        "self-service: every pod was replaced after the announcement and the rollout is complete"
    )
    runtime.spawn(events.emit(runtime.client, involved, "MaintenanceCompleted", message, now))


def forget(uid: str) -> None:
    _checked.pop(uid, None)
