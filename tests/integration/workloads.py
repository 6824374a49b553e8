"""Manifests and probes for the workloads integration tests create."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.cluster.cluster import LocalCluster


def deployment(
    name: str,
    labels: dict[str, str],
    replicas: int = 1,
    annotations: dict[str, str] | None = None,
    pod_spec: dict[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels, "annotations": annotations or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}], **(pod_spec or {})},
            },
            **spec,
        },
    }


def statefulset(
    name: str, labels: dict[str, str], replicas: int = 1, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "labels": labels, "annotations": annotations or {}},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]},
            },
        },
    }


def starting_soon() -> tuple[datetime, dict[str, str]]:
    """The next minute boundary far enough ahead for a window to be applied and its status written first, and the
    spec fields of a daily 5-minute window starting there (the shortest a window may be)."""
    now = datetime.now(UTC)
    start = (now + timedelta(seconds=75 if now.second >= 45 else 60)).replace(second=0, microsecond=0)
    return start, {"schedule": f"{start.minute} {start.hour} * * *", "duration": "5m"}


def away_from_now() -> str:
    """A daily schedule whose occurrence starts 11-12 hours from now, in any time zone a test names.

    Tests that rely on run-now, or only on notices and statuses, must not meet a real occurrence: the defaults
    (Tuesday 14:00 and daily 13:00 UTC, an hour long) are open whenever a run happens to be then.
    """
    return f"0 {(datetime.now(UTC).hour + 12) % 24} * * *"


def with_schedule(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with the away schedule unless it names one; `schedule=None` keeps the kind's default."""
    spec = {"schedule": away_from_now(), **spec}
    return {k: v for k, v in spec.items() if not (k == "schedule" and v is None)}


def window(name: str, selector: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "MaintenanceWindow",
        "metadata": {"name": name},
        "spec": {"selector": selector, **with_schedule(spec)},
    }


def apply(cluster: LocalCluster, namespace: str, *objects: dict[str, Any]) -> None:
    doc = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(doc))


def get(cluster: LocalCluster, namespace: str, ref: str) -> dict[str, Any]:
    obj: dict[str, Any] = cluster.kubectl_json("get", "-n", namespace, ref)
    return obj


def wait_rolled_out(cluster: LocalCluster, namespace: str, *refs: str) -> None:
    for ref in refs:
        cluster.kubectl("rollout", "status", "-n", namespace, ref, "--timeout=90s")


def revisions(cluster: LocalCluster, namespace: str, name: str) -> int:
    """How many pod templates a Deployment has had: ReplicaSets, one per restart (history is kept)."""
    listing = cluster.kubectl_json("get", "replicasets", "-n", namespace, "-l", f"app={name}")
    return len(listing["items"])


def controller_revisions(cluster: LocalCluster, namespace: str, name: str) -> int:
    listing = cluster.kubectl_json("get", "controllerrevisions", "-n", namespace, "-l", f"app={name}")
    return len(listing["items"])


def events_for(cluster: LocalCluster, namespace: str, name: str, reason: str) -> list[dict[str, Any]]:
    listing = cluster.kubectl_json(
        "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name},reason={reason}"
    )
    items: list[dict[str, Any]] = listing["items"]
    return items


def controller_revisions_of(cluster: LocalCluster, namespace: str, statefulset: str) -> int:
    """ControllerRevisions owned by a StatefulSet (one per distinct pod template), whatever its labels."""
    listing = cluster.kubectl_json("get", "controllerrevisions", "-n", namespace)
    return sum(
        1
        for item in listing["items"]
        if any(o.get("name") == statefulset for o in item["metadata"].get("ownerReferences", []))
    )
