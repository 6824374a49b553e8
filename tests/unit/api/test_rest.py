"""The shared REST vocabulary: the paths kube/ and the CLI send, spelled once."""

import pytest

from maintenance_operator.api import names, rest
from maintenance_operator.kube import paths


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (rest.DEPLOYMENTS.path("shop", "web"), "/apis/apps/v1/namespaces/shop/deployments/web"),
        (rest.STATEFULSETS.path(), "/apis/apps/v1/statefulsets"),
        (rest.PODS.path("shop", "db-0", "eviction"), "/api/v1/namespaces/shop/pods/db-0/eviction"),
        (rest.NAMESPACES.path(), "/api/v1/namespaces"),
        (rest.VOLUME_SNAPSHOT_CLASSES.path(None, "csi"), "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses/csi"),
        (rest.LEASES.path("ops", "leader"), "/apis/coordination.k8s.io/v1/namespaces/ops/leases/leader"),
        (
            rest.BACKUP_WINDOWS.path("shop", "nightly", "status"),
            "/apis/maintenance.ops.dev/v1alpha1/namespaces/shop/backupwindows/nightly/status",
        ),
    ],
)
def test_paths(path: str, expected: str) -> None:
    assert path == expected


def test_names_and_api_versions() -> None:
    assert (rest.DEPLOYMENTS.name, rest.SECRETS.name) == ("deployments.apps", "secrets")
    assert (rest.PODS.api_version, rest.VOLUME_SNAPSHOTS.api_version) == ("v1", names.SNAPSHOT_API_VERSION)
    assert rest.MANAGED_DATABASES.api_version == names.API_VERSION


def test_the_operators_path_helpers_are_the_vocabulary() -> None:
    """kube.paths keeps its names for the handlers; what it returns is what it returned before the move."""
    assert paths.workload("StatefulSet", "shop", "db") == "/apis/apps/v1/namespaces/shop/statefulsets/db"
    assert (
        paths.custom(names.MAINTENANCE_WINDOW, "shop")
        == "/apis/maintenance.ops.dev/v1alpha1/namespaces/shop/maintenancewindows"
    )
    assert paths.custom(names.MANAGED_DATABASE, "shop", "orders", "status") == (
        "/apis/maintenance.ops.dev/v1alpha1/namespaces/shop/manageddatabases/orders/status"
    )
    assert paths.core("events", "shop") == "/api/v1/namespaces/shop/events"
    assert paths.core("secrets", "shop", "hook") == "/api/v1/namespaces/shop/secrets/hook"
    assert paths.volume_snapshot("shop", "s1") == "/apis/snapshot.storage.k8s.io/v1/namespaces/shop/volumesnapshots/s1"
    claim: dict[str, object] = {
        "kind": "PersistentVolumeClaim",
        "metadata": {"namespace": "shop", "name": "data-orders-0"},
    }
    assert paths.for_manifest(claim) == "/api/v1/namespaces/shop/persistentvolumeclaims/data-orders-0"
    service: dict[str, object] = {"kind": "Service", "metadata": {"namespace": "shop", "name": "orders"}}
    assert paths.for_manifest(service) == "/api/v1/namespaces/shop/services/orders"


def test_an_unknown_kind_is_refused_not_guessed() -> None:
    with pytest.raises(KeyError):
        paths.workload("DaemonSet", "shop", "agent")
    with pytest.raises(KeyError):
        paths.core("widgets", "shop")
