"""kube.permissions reads every path of the shared vocabulary back as the RBAC rule it needs."""

import pytest

from maintenance_operator.api import rest
from maintenance_operator.kube.permissions import Permission, needed


@pytest.mark.parametrize("resource", list(rest.BY_KIND.values()), ids=lambda r: r.kind)
def test_every_resource_path_names_its_rbac_resource_and_group(resource: rest.Resource) -> None:
    assert needed("GET", resource.path("shop")) == Permission("list", resource.plural, resource.group, "shop")
    assert needed("PATCH", resource.path("shop", "x")) == Permission("patch", resource.plural, resource.group, "shop")
    assert needed("GET", resource.path()) == Permission("list", resource.plural, resource.group, None)


def test_subresources_and_cluster_scoped_objects() -> None:
    assert str(needed("POST", rest.PODS.path("shop", "db-0", "eviction"))) == "create pods/eviction in namespace shop"
    assert str(needed("GET", rest.VOLUME_SNAPSHOT_CLASSES.path(None, "csi"))) == (
        "get volumesnapshotclasses.snapshot.storage.k8s.io cluster-wide"
    )
    assert str(needed("DELETE", rest.VOLUME_SNAPSHOTS.path("shop"))) == (
        "deletecollection volumesnapshots.snapshot.storage.k8s.io in namespace shop"
    )
