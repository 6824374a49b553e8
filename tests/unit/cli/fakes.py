"""An in-memory stand-in for `kubeapi.Kube`: objects by namespace, RBAC refusals, and a log of PATCHes and POSTs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.api.rest import Resource
from maintenance_operator.cli.kubeapi import KubeError, describe_failure


@dataclass
class FakeApi:
    objects: dict[Resource, list[dict[str, Any]]] = field(default_factory=dict)
    default_namespace: str = "team-a"
    # (resource plural or "namespaces", namespace or None for cluster-wide) the caller may not list/get/patch.
    forbidden: set[tuple[str, str | None]] = field(default_factory=set)
    patches: list[tuple[Resource, str, str, Mapping[str, Any], str]] = field(default_factory=list)
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    created: list[tuple[Resource, str, Mapping[str, Any]]] = field(default_factory=list)

    def add(self, resource: Resource, obj: dict[str, Any]) -> None:
        self.objects.setdefault(resource, []).append({"kind": resource.kind, **obj})

    def _check(self, verb: str, resource: Resource | str, namespace: str | None, name: str | None = None) -> None:
        plural = resource.plural if isinstance(resource, Resource) else resource
        self.calls.append((verb, plural, namespace))
        if (plural, namespace) in self.forbidden or (plural, "*") in self.forbidden:
            raise KubeError(describe_failure(403, "denied", verb, resource, namespace, name), 403)

    def list_objects(self, resource: Resource, namespace: str | None) -> list[dict[str, Any]]:
        self._check("list", resource, namespace)
        return [
            o for o in self.objects.get(resource, []) if namespace is None or o["metadata"]["namespace"] == namespace
        ]

    def list_namespaces(self) -> list[str]:
        self._check("list", "namespaces", None)
        found = {o["metadata"].get("namespace") for items in self.objects.values() for o in items}
        return sorted(ns for ns in found if ns)  # cluster-scoped objects are in none

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        self._check("get", resource, namespace, name)
        for obj in self.objects.get(resource, []):
            if obj["metadata"]["namespace"] == namespace and obj["metadata"]["name"] == name:
                return obj
        raise KubeError(describe_failure(404, "not found", "get", resource, namespace, name), 404)

    def patch(
        self, resource: Resource, namespace: str, name: str, body: Mapping[str, Any], content_type: str
    ) -> dict[str, Any]:
        self._check("patch", resource, namespace, name)
        obj = self.get(resource, namespace, name)
        self.patches.append((resource, namespace, name, body, content_type))
        return obj

    def create(self, resource: Resource, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST: stored in `namespace` (kept for later reads) and logged; 409 when the name is taken."""
        name = str(body["metadata"]["name"])
        self._check("create", resource, namespace, name)
        if any(
            o["metadata"]["namespace"] == namespace and o["metadata"]["name"] == name
            for o in self.objects.get(resource, [])
        ):
            raise KubeError(describe_failure(409, "already exists", "create", resource, namespace, name), 409)
        self.created.append((resource, namespace, body))
        self.add(resource, {**body, "metadata": {**body["metadata"], "namespace": namespace}})
        return self.objects[resource][-1]


def deployment(
    namespace: str,
    name: str,
    *,
    labels: Mapping[str, str] | None = None,
    reason: str | None = None,
    since: str | None = None,
    replicas: int = 2,
    paused: bool = False,
) -> dict[str, Any]:
    """A Deployment whose rollout is complete, optionally announced for maintenance."""
    annotations = {}
    if reason is not None:
        annotations[names.ANNOTATION_REQUIRED] = reason
    if since is not None:
        annotations[names.ANNOTATION_REQUIRED_SINCE] = since
    return {
        "metadata": {
            "namespace": namespace,
            "name": name,
            "labels": dict(labels or {}),
            "annotations": annotations,
            "generation": 1,
        },
        "spec": {"replicas": replicas, "paused": paused, "selector": {"matchLabels": {"app": name}}},
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "availableReplicas": replicas,
        },
    }


def window(
    namespace: str,
    name: str,
    *,
    kind: str = names.MAINTENANCE_WINDOW,
    schedule: str = "0 14 * * 2",
    selector: Mapping[str, Any] | None = None,
    status: Mapping[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"namespace": namespace, "name": name},
        "spec": {"schedule": schedule, "selector": {} if selector is None else dict(selector), **spec},
        "status": dict(status or {}),
    }


def namespace(name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A Namespace, stored as cluster-scoped objects are (namespace "")."""
    return {"metadata": {"namespace": "", "name": name, "labels": dict(labels or {})}}


def announcement(
    name: str,
    reason: str = "security",
    *,
    description: str = "",
    targets: Mapping[str, Any] | None = None,
    since: str | None = "2026-11-25T00:00:00Z",
    created: str = "2026-11-24T00:00:00Z",
    status: Mapping[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A Maintenance (cluster-scoped: namespace "")."""
    body: dict[str, Any] = {"reason": reason, "description": description, "targets": dict(targets or {}), **spec}
    if since is not None:
        body["requiredSince"] = since
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.MAINTENANCE,
        "metadata": {"namespace": "", "name": name, "creationTimestamp": created, "generation": 1},
        "spec": body,
        "status": dict(status or {}),
    }
