"""Kubernetes Events: how the operator tells users what it did and what is coming."""

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from maintenance_operator.kube import paths
from maintenance_operator.kube.client import ApiError, KubeClient
from maintenance_operator.planning.times import format_time

COMPONENT = "maintenance-operator"


def event_body(
    involved: Mapping[str, str],
    reason: str,
    message: str,
    now: datetime,
    *,
    warning: bool,
    key: str,
) -> dict[str, Any]:
    """An Event about a cluster-scoped object is kept in `default`: the API server accepts no other namespace."""
    digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:12]
    at = format_time(now)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{involved['name'][:200]}.{digest}", "namespace": involved.get("namespace") or "default"},
        "involvedObject": dict(involved),
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": COMPONENT,
        "firstTimestamp": at,
        "lastTimestamp": at,
        "count": 1,
    }


def ref(api_version: str, kind: str, namespace: str, name: str, uid: str = "") -> dict[str, str]:
    """`namespace` "" for a cluster-scoped object (its reference then has none)."""
    out = {"apiVersion": api_version, "kind": kind, "name": name}
    if namespace:
        out["namespace"] = namespace
    if uid:
        out["uid"] = uid
    return out


async def emit(
    client: KubeClient,
    involved: Mapping[str, str],
    reason: str,
    message: str,
    now: datetime,
    *,
    warning: bool = False,
    key: str | None = None,
) -> bool:
    """Post an Event; with `key`, the same key never makes a second Event (409 means already told).

    Returns False when the Event already existed. Failures to post are not fatal to the work itself.
    """
    body = event_body(involved, reason, message, now, warning=warning, key=key or f"{reason}{message}{now}")
    try:
        await client.request("POST", paths.core("events", body["metadata"]["namespace"]), body=body)
    except ApiError as err:
        if err.status == 409:
            return False
        raise
    return True
