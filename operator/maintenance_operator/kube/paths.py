"""REST paths of the resources the operator touches, by kind or plural as its callers name them.

Thin names over the shared vocabulary (`api.rest`), kept so the handlers' calls read as before.
"""

from maintenance_operator.api import rest


def workload(kind: str, namespace: str, name: str) -> str:
    return rest.WORKLOADS[kind].path(namespace, name)


def custom(kind: str, namespace: str, name: str = "", subresource: str = "") -> str:
    return rest.CUSTOM[kind].path(namespace, name, subresource)


def core(resource: str, namespace: str, name: str = "") -> str:
    """`resource` is the core group's plural (`pods`, `events`, `secrets`, ...)."""
    return rest.CORE[resource].path(namespace, name)


def for_manifest(manifest: dict[str, object]) -> str:
    """The object's own path, from its kind, namespace and name."""
    meta = manifest["metadata"]
    assert isinstance(meta, dict)
    return rest.BY_KIND[str(manifest["kind"])].path(str(meta["namespace"]), str(meta["name"]))


def volume_snapshot(namespace: str, name: str) -> str:
    return rest.VOLUME_SNAPSHOTS.path(namespace, name)
