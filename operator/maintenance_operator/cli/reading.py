"""Read resource types in one namespace or all, keeping what the caller may read and naming what it may not.

`-A` first tries one cluster-wide LIST per type. When RBAC refuses it, the types are read namespace by namespace
(the namespaces listed if allowed, else the context's namespace only), and every refusal is recorded instead of
failing, so a user with access to a few namespaces still gets their rows.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from maintenance_operator.api.rest import Resource
from maintenance_operator.cli.kubeapi import Api, KubeError
from maintenance_operator.cli.output import structured

PARALLEL_READS = 8


@dataclass(frozen=True)
class Unreadable:
    """What could not be read in a namespace (None: namespaces other than those read, which could not be listed)."""

    namespace: str | None
    resources: tuple[str, ...]
    reason: str

    def wire(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "resources": list(self.resources), "reason": self.reason}

    def __str__(self) -> str:
        if self.namespace is None:
            return f"could not read other namespaces: {self.reason}"
        return f"could not read {', '.join(self.resources)} in namespace {self.namespace}: {self.reason}"


@dataclass
class Listing:
    """What was read; a verb adds `extra` (keys beside the rows in `-o json|yaml`) and `notes` (warnings)."""

    items: dict[Resource, list[dict[str, Any]]] = field(default_factory=dict)
    unreadable: list[Unreadable] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def readable(self, resource: Resource, namespace: str) -> bool:
        return not any(u.namespace == namespace and resource.name in u.resources for u in self.unreadable)

    def warn(self) -> None:
        for entry in [*self.unreadable, *self.notes]:
            print(f"warning: {entry}", file=sys.stderr)


def _try_list(api: Api, resource: Resource, namespace: str | None) -> list[dict[str, Any]] | KubeError:
    try:
        return api.list_objects(resource, namespace)
    except KubeError as err:
        if err.forbidden:
            return err
        raise


def read(api: Api, resources: Sequence[Resource], namespace: str | None, optional: Sequence[Resource] = ()) -> Listing:
    """Every object of `resources` in `namespace` (None: all namespaces) that the caller may list.

    In one named namespace, a refusal fails the command (KubeError) unless the resource is `optional`.
    """
    listing = Listing({r: [] for r in resources})
    if namespace is not None:
        for resource in resources:
            if resource in optional:
                _read_namespaces(api, [resource], [namespace], listing)
            else:
                listing.items[resource] = api.list_objects(resource, namespace)
        return listing
    refused = []
    for resource in resources:
        result = _try_list(api, resource, None)
        if isinstance(result, KubeError):
            refused.append(resource)
        else:
            listing.items[resource] = result
    if refused:
        try:
            namespaces = api.list_namespaces()
        except KubeError as err:
            if not err.forbidden:
                raise
            namespaces = [api.default_namespace]
            reason = f"you may not list namespaces; only namespace {api.default_namespace} was read"
            listing.unreadable.append(Unreadable(None, ("namespaces",), reason))
        _read_namespaces(api, refused, namespaces, listing)
    return listing


def _read_namespaces(api: Api, resources: Sequence[Resource], namespaces: Sequence[str], listing: Listing) -> None:
    pairs = [(ns, r) for ns in namespaces for r in resources]
    with ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(pairs) or 1)) as pool:
        results = list(pool.map(lambda pair: _try_list(api, pair[1], pair[0]), pairs))
    refused: dict[str, list[str]] = {}
    for (ns, resource), result in zip(pairs, results, strict=True):
        if isinstance(result, KubeError):
            refused.setdefault(ns, []).append(resource.name)
        else:
            listing.items[resource] += result
    listing.unreadable += [Unreadable(ns, tuple(names), "forbidden") for ns, names in refused.items()]


def show(
    items: list[dict[str, Any]],
    listing: Listing,
    output: str,
    render: Callable[[list[dict[str, Any]]], str],
    nothing: str,
    extra: dict[str, Any] | None = None,
    warnings: Sequence[str] = (),
) -> None:
    """Print rows (table, or `{items, unreadable, **listing.extra, **extra}` as JSON/YAML), then every warning
    on stderr."""
    if output != "table":
        unreadable = [u.wire() for u in listing.unreadable]
        print(structured({"items": items, "unreadable": unreadable, **listing.extra, **(extra or {})}, output))
    elif items:
        print(render(items))
    else:
        print(nothing, file=sys.stderr)
    listing.warn()
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def where(namespace: str | None) -> str:
    return "any namespace you may read" if namespace is None else f"namespace {namespace}"
