"""REST paths of the resources the operator touches."""

from maintenance_operator.api import names

_APPS = {"Deployment": "deployments", "StatefulSet": "statefulsets"}


def workload(kind: str, namespace: str, name: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/{_APPS[kind]}/{name}"


def custom(kind: str, namespace: str, name: str = "", subresource: str = "") -> str:
    path = f"/apis/{names.GROUP}/{names.VERSION}/namespaces/{namespace}/{names.PLURALS[kind]}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


def core(resource: str, namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/{resource}" + (f"/{name}" if name else "")


_CORE = {"Service": "services", "Secret": "secrets", "PersistentVolumeClaim": "persistentvolumeclaims"}


def for_manifest(manifest: dict[str, object]) -> str:
    """The object's own path, from its apiVersion, kind, namespace and name (the kinds the operator writes)."""
    kind = str(manifest["kind"])
    meta = manifest["metadata"]
    assert isinstance(meta, dict)
    namespace, name = str(meta["namespace"]), str(meta["name"])
    if kind in _APPS:
        return workload(kind, namespace, name)
    return core(_CORE[kind], namespace, name)


def volume_snapshot(namespace: str, name: str) -> str:
    return f"/apis/{names.SNAPSHOT_API_VERSION}/namespaces/{namespace}/volumesnapshots/{name}"
