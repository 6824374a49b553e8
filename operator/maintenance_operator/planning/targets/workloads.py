"""A slim, immutable view of a Deployment or StatefulSet: only what maintenance decisions need.

The operator keeps one of these per watched workload instead of the full object (memory target: thousands of
workloads), and every decision in `planning/` works on it, so decisions are testable without a cluster.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.planning.times import format_time, parse_time


class Rollout(Enum):
    COMPLETE = "complete"
    PROGRESSING = "progressing"
    FAILED = "failed"  # the controller gave up (Deployment progress deadline exceeded)


@dataclass(frozen=True, slots=True)
class Workload:
    kind: str
    namespace: str
    name: str
    uid: str
    labels: Mapping[str, str]
    required: str | None
    required_since: datetime | None
    completed_at: datetime | None
    restarted_at: datetime | None
    occurrence: str | None
    restarted_by: str | None
    notice_sent: str | None
    replicas: int
    paused: bool
    recreate: bool
    rollout: Rollout
    generation: int
    pod_selector: Mapping[str, str]
    container: str | None = None  # the first container's name, and its image
    image: str | None = None
    target_image: str | None = None  # a ManagedDatabase upgrade waiting for a window: install this image
    # The pod template revision the workload is rolling out or runs: a Deployment's `deployment.kubernetes.io/
    # revision` (its ReplicaSet carries the same), a StatefulSet's `status.updateRevision` (a ControllerRevision).
    revision: str | None = None
    # When a window last restarted it (from `restarted-by`), even if the user has restarted it since: a restart
    # by the user after the window did the maintenance is not self-service.
    window_restarted_at: datetime | None = None
    # The window that wrote `occurrence` (`MaintenanceWindow/weekly`); None on stamps from before it was written.
    occurrence_window: str | None = None
    # A StatefulSet with `updateStrategy: OnDelete`: a restart replaces its pods only when the window evicts them
    # (see `planning.pod_replacement`).
    on_delete: bool = False
    # Every image of the pod template (init containers too): announcements select by image pattern.
    images: tuple[str, ...] = ()
    # The `Maintenance` announcements covering it, oldest first (`planning.announcements.matching.effective`);
    # never read from the object: derived in memory, so deleting an announcement withdraws it.
    announcements: tuple[str, ...] = ()

    def restarted_in(self, window: str | None, occurrence_id: str) -> bool:
        """Restarted by `window` in that occurrence. Ids alone collide (two windows' occurrences of the same start,
        two run-now requests in one second); a stamp without a window, written by an older operator, counts for any
        window as it did then, so an upgrade restarts nothing again. `window` None: any window's."""
        return self.occurrence == occurrence_id and (
            window is None or self.occurrence_window is None or self.occurrence_window == window
        )

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    @property
    def ref(self) -> str:
        """How `kubectl` names it: `deployment/web`."""
        return f"{self.kind.lower()}/{self.name}"

    @property
    def upgrade_pending(self) -> bool:
        """A database version upgrade is only done once the image changed: no restart alone completes it."""
        return self.target_image is not None and self.image != self.target_image

    @property
    def downtime_expected(self) -> bool:
        """A restart of a single instance, or a Recreate rollout, leaves no pod serving for a while."""
        return self.replicas <= 1 or self.recreate


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) else default


def rollout_state(kind: str, spec: Mapping[str, Any], status: Mapping[str, Any], generation: int) -> Rollout:
    """The same test `kubectl rollout status` applies, from the object alone (no GET of pods)."""
    if _int(status.get("observedGeneration"), -1) < generation:
        return Rollout.PROGRESSING
    want = _int(spec.get("replicas"), 1)
    updated = _int(status.get("updatedReplicas"))
    if kind == "Deployment":
        for cond in status.get("conditions") or ():
            if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
                return Rollout.FAILED
        total = _int(status.get("replicas"))
        available = _int(status.get("availableReplicas"))
        if updated >= want and total <= updated and available >= updated:
            return Rollout.COMPLETE
        return Rollout.PROGRESSING
    # StatefulSet: every replica updated and ready; with RollingUpdate the revisions converged too. OnDelete never
    # moves currentRevision: its pods are updated only once each is gone, so every pod ready proves nothing.
    ready = _int(status.get("readyReplicas"))
    if _on_delete(spec):
        return Rollout.COMPLETE if updated >= want and ready >= want else Rollout.PROGRESSING
    revisions_match = status.get("currentRevision") == status.get("updateRevision")
    if updated >= want and ready >= want and revisions_match:
        return Rollout.COMPLETE
    return Rollout.PROGRESSING


def _on_delete(spec: Mapping[str, Any]) -> bool:
    return (spec.get("updateStrategy") or {}).get("type") == "OnDelete"


def restart_stamp(window: str, restarted_at: str) -> str:
    """The `restarted-by` annotation a window's restart writes: which window, and the restartedAt it set.

    Keeping restartedAt in it tells a window's restart from a later `kubectl rollout restart` by the user, which
    changes restartedAt but not this annotation.
    """
    return f"{window} {restarted_at}"


def restart_patch(
    now: datetime, occurrence: tuple[str, str] | None = None, new_image: tuple[str, str] | None = None
) -> dict[str, Any]:
    """`kubectl rollout restart`'s strategic-merge patch (a new restartedAt in the pod template replaces every pod),
    which the CLI's self-service restart sends as it is.

    A window's restart passes `occurrence` (window, occurrence id): both are stamped beside restartedAt, and
    `restarted-by` on the workload, so a restart is never repeated for that occurrence (nor mistaken for another
    window's occurrence of the same id). `new_image` (container, image) installs a database's pending upgrade in the
    same PATCH, hence one rollout.
    """
    at = format_time(now)
    annotations = {names.ANNOTATION_RESTARTED_AT: at}
    if occurrence is not None:
        window, occurrence_id = occurrence
        annotations |= {names.ANNOTATION_OCCURRENCE: occurrence_id, names.ANNOTATION_OCCURRENCE_WINDOW: window}
    template: dict[str, Any] = {"metadata": {"annotations": annotations}}
    if new_image is not None:
        container, image = new_image
        template["spec"] = {"containers": [{"name": container, "image": image}]}
    patch: dict[str, Any] = {"spec": {"template": template}}
    if occurrence is not None:
        patch = {"metadata": {"annotations": {names.ANNOTATION_RESTARTED_BY: restart_stamp(window, at)}}, **patch}
    return patch


def _restarted_by(stamp: str | None, restarted_at: datetime | None) -> str | None:
    window, _, at = (stamp or "").partition(" ")
    return window if window and restarted_at is not None and parse_time(at) == restarted_at else None


def _window_restart_time(stamp: str | None) -> datetime | None:
    window, _, at = (stamp or "").partition(" ")
    return parse_time(at) if window else None


def workload_from_object(kind: str, body: Mapping[str, Any]) -> Workload:
    """Build the slim view from a watch event body; tolerant of any missing field."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    annotations = meta.get("annotations") or {}
    template_annotations = ((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}
    generation = _int(meta.get("generation"))
    required = (annotations.get(names.ANNOTATION_REQUIRED) or "").strip() or None  # blank: not announced
    restarted_at = parse_time(template_annotations.get(names.ANNOTATION_RESTARTED_AT))
    return Workload(
        kind=kind,
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        labels=dict(meta.get("labels") or {}),
        required=required,
        required_since=parse_time(annotations.get(names.ANNOTATION_REQUIRED_SINCE)),
        completed_at=parse_time(annotations.get(names.ANNOTATION_COMPLETED_AT)),
        restarted_at=restarted_at,
        occurrence=template_annotations.get(names.ANNOTATION_OCCURRENCE),
        occurrence_window=template_annotations.get(names.ANNOTATION_OCCURRENCE_WINDOW) or None,
        restarted_by=_restarted_by(annotations.get(names.ANNOTATION_RESTARTED_BY), restarted_at),
        window_restarted_at=_window_restart_time(annotations.get(names.ANNOTATION_RESTARTED_BY)),
        notice_sent=annotations.get(names.ANNOTATION_NOTICE_SENT),
        replicas=_int(spec.get("replicas"), 1),
        paused=bool(spec.get("paused")),
        recreate=(spec.get("strategy") or {}).get("type") == "Recreate",
        rollout=rollout_state(kind, spec, status, generation),
        generation=generation,
        pod_selector=dict((spec.get("selector") or {}).get("matchLabels") or {}),
        container=_first_container(spec).get("name"),
        image=_first_container(spec).get("image"),
        target_image=annotations.get(names.ANNOTATION_TARGET_IMAGE) or None,
        revision=_revision(kind, annotations, status),
        on_delete=kind == "StatefulSet" and _on_delete(spec),
        images=_images(spec),
    )


def _revision(kind: str, annotations: Mapping[str, Any], status: Mapping[str, Any]) -> str | None:
    if kind == "Deployment":
        value = annotations.get(names.ANNOTATION_DEPLOYMENT_REVISION)
    else:
        value = status.get("updateRevision")
    return value if isinstance(value, str) and value else None


def _first_container(spec: Mapping[str, Any]) -> Mapping[str, str]:
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    first = containers[0] if containers and isinstance(containers[0], Mapping) else {}
    return {k: v for k, v in first.items() if k in ("name", "image") and isinstance(v, str)}


def _images(spec: Mapping[str, Any]) -> tuple[str, ...]:
    pod = (spec.get("template") or {}).get("spec") or {}
    found: list[str] = []
    for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        image = c.get("image") if isinstance(c, Mapping) else None
        if isinstance(image, str) and image and image not in found:
            found.append(image)
    return tuple(found)
