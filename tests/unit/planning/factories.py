"""Builders for planning tests: slim `Workload` values and raw objects shaped the way the API server returns them.

Raw builders fill in what the API server defaults (strategy, selector, template, conditions) so a test states only
what it is about. Status defaults to a finished, healthy rollout; `progressing_status` and friends change that.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.planning.targets.workloads import Rollout, Workload
from maintenance_operator.planning.times import format_time

# The platform default window: Tuesday 1 December 2026, 14:00-15:00 UTC.
WINDOW_START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
OCCURRENCE = "20261201T1400Z"
PREVIOUS_OCCURRENCE = "20261124T1400Z"
WINDOW = "MaintenanceWindow/weekly"
# Announced three days before the window.
ANNOUNCED = WINDOW_START - timedelta(days=3)


def workload(
    name: str = "web",
    *,
    kind: str = "Deployment",
    namespace: str = "shop",
    replicas: int = 3,
    rollout: Rollout = Rollout.COMPLETE,
    **changes: Any,
) -> Workload:
    """A settled, healthy, HA workload with nothing announced; keyword arguments override any field."""
    base = Workload(
        kind=kind,
        namespace=namespace,
        name=name,
        uid=f"uid-{namespace}-{kind}-{name}",
        labels={"app": name},
        required=None,
        required_since=None,
        completed_at=None,
        restarted_at=None,
        occurrence=None,
        restarted_by=None,
        notice_sent=None,
        replicas=replicas,
        paused=False,
        recreate=False,
        rollout=rollout,
        generation=1,
        pod_selector={"app": name},
        container=name,
        image=f"registry.example/{name}:1.0",
        images=(f"registry.example/{name}:1.0",),
    )
    return replace(base, **changes)


def pending_workload(
    name: str = "web", *, reason: str = "security", since: datetime = ANNOUNCED, **changes: Any
) -> Workload:
    """A workload with maintenance announced at `since` and not done yet."""
    return workload(name, required=reason, required_since=since, **changes)


def restarted(w: Workload, at: datetime, occurrence: str = OCCURRENCE, *, window: str | None = WINDOW) -> Workload:
    """What the watch shows right after a window's restart patch: the new template annotations, rollout started."""
    return replace(
        w,
        restarted_at=at,
        occurrence=occurrence,
        restarted_by=window,
        rollout=Rollout.PROGRESSING,
        generation=w.generation + 1,
    )


# ---------------------------------------------------------------------------------------------------------------
# Raw API objects


def _meta(
    name: str,
    namespace: str,
    generation: int,
    labels: dict[str, str] | None,
    annotations: dict[str, str] | None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": f"0b6f1c2e-{name}",
        "resourceVersion": "4711",
        "generation": generation,
        "creationTimestamp": "2026-11-01T09:00:00Z",
        "labels": labels if labels is not None else {"app": name},
    }
    if annotations:
        meta["annotations"] = annotations
    return meta


def _template(name: str, annotations: dict[str, str] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"creationTimestamp": None, "labels": {"app": name}}
    if annotations:
        meta["annotations"] = annotations
    return {
        "metadata": meta,
        "spec": {
            "containers": [{"name": name, "image": f"registry.example/{name}:1.0", "imagePullPolicy": "IfNotPresent"}],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
        },
    }


def deployment_status(
    *,
    replicas: int = 3,
    observed_generation: int = 1,
    total: int | None = None,
    updated: int | None = None,
    ready: int | None = None,
    available: int | None = None,
    progressing_reason: str = "NewReplicaSetAvailable",
) -> dict[str, Any]:
    """A Deployment status; each count defaults to `replicas` (a finished rollout)."""
    total = replicas if total is None else total
    updated = replicas if updated is None else updated
    ready = replicas if ready is None else ready
    available = replicas if available is None else available
    progressing_status = "False" if progressing_reason == "ProgressDeadlineExceeded" else "True"
    status: dict[str, Any] = {
        "observedGeneration": observed_generation,
        "conditions": [
            {
                "type": "Available",
                "status": "True" if available >= replicas else "False",
                "reason": "MinimumReplicasAvailable",
                "lastUpdateTime": "2026-11-01T09:00:10Z",
                "lastTransitionTime": "2026-11-01T09:00:10Z",
            },
            {
                "type": "Progressing",
                "status": progressing_status,
                "reason": progressing_reason,
                "message": "ReplicaSet has successfully progressed.",
                "lastUpdateTime": "2026-11-01T09:00:10Z",
                "lastTransitionTime": "2026-11-01T09:00:00Z",
            },
        ],
    }
    # The API server omits zero counts.
    for field, value in (
        ("replicas", total),
        ("updatedReplicas", updated),
        ("readyReplicas", ready),
        ("availableReplicas", available),
    ):
        if value:
            status[field] = value
    if total > available:
        status["unavailableReplicas"] = total - available
    return status


def deployment(
    name: str = "web",
    *,
    namespace: str = "shop",
    replicas: int = 3,
    generation: int = 1,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    template_annotations: dict[str, str] | None = None,
    strategy: str = "RollingUpdate",
    paused: bool = False,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An apps/v1 Deployment as `kubectl get -o json` shows it; status defaults to a finished rollout."""
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": _template(name, template_annotations),
        "strategy": (
            {"type": "Recreate"}
            if strategy == "Recreate"
            else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
        ),
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }
    if paused:
        spec["paused"] = True
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, namespace, generation, labels, annotations),
        "spec": spec,
        "status": status
        if status is not None
        else deployment_status(replicas=replicas, observed_generation=generation),
    }


def statefulset_status(
    *,
    replicas: int = 1,
    observed_generation: int = 1,
    updated: int | None = None,
    ready: int | None = None,
    current_revision: str = "db-7d9f8c6b5",
    update_revision: str = "db-7d9f8c6b5",
) -> dict[str, Any]:
    """A StatefulSet status; counts default to `replicas` and the revisions to converged."""
    updated = replicas if updated is None else updated
    ready = replicas if ready is None else ready
    status: dict[str, Any] = {
        "observedGeneration": observed_generation,
        "replicas": replicas,
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "collisionCount": 0,
        "availableReplicas": ready,
    }
    if ready:
        status["readyReplicas"] = ready
    if updated:
        status["updatedReplicas"] = updated
    if current_revision == update_revision:
        status["currentReplicas"] = updated
    elif replicas - updated:
        status["currentReplicas"] = replicas - updated
    return status


def statefulset(
    name: str = "db",
    *,
    namespace: str = "shop",
    replicas: int = 1,
    generation: int = 1,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    template_annotations: dict[str, str] | None = None,
    update_strategy: str = "RollingUpdate",
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An apps/v1 StatefulSet as `kubectl get -o json` shows it; status defaults to a finished rollout."""
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(name, namespace, generation, labels, annotations),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "serviceName": name,
            "template": _template(name, template_annotations),
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": (
                {"type": "OnDelete"}
                if update_strategy == "OnDelete"
                else {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
            ),
            "revisionHistoryLimit": 10,
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        },
        "status": status
        if status is not None
        else statefulset_status(replicas=replicas, observed_generation=generation),
    }


def announcement(reason: str = "security", since: datetime | str | None = ANNOUNCED) -> dict[str, str]:
    """The annotations `kubectl maintenance require` puts on a workload."""
    out = {names.ANNOTATION_REQUIRED: reason}
    if since is not None:
        out[names.ANNOTATION_REQUIRED_SINCE] = since if isinstance(since, str) else format_time(since)
    return out


def restart_annotations(at: datetime, occurrence: str | None = None) -> dict[str, str]:
    """Pod-template annotations after a restart: kubectl's restartedAt, plus the occurrence when a window did it."""
    out = {names.ANNOTATION_RESTARTED_AT: format_time(at)}
    if occurrence is not None:
        out[names.ANNOTATION_OCCURRENCE] = occurrence
    return out
