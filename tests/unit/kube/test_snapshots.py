"""kube.snapshots: only the operator's own are listed, a repeated create is no duplicate, a gone one is no error."""

import pytest

from maintenance_operator.kube import snapshots
from maintenance_operator.kube.client import ApiError
from maintenance_operator.planning.backups.snapshots import SnapshotRequest
from tests.unit.kube.fake_api import FakeKubeClient, FakeState, Sent

SNAPSHOTS = "/apis/snapshot.storage.k8s.io/v1/namespaces/shop/volumesnapshots"
REQUEST = SnapshotRequest("orders-20261201t1300z", "orders", "data-orders-0", {"app.kubernetes.io/managed-by": "x"})


async def test_list_managed_selects_by_the_managed_by_label(client: FakeKubeClient, state: FakeState) -> None:
    state.put(SNAPSHOTS, {"metadata": {"name": "s1"}})
    assert [s["metadata"]["name"] for s in await snapshots.list_managed(client, "shop")] == ["s1"]
    assert state.sent == [
        Sent(
            "GET",
            SNAPSHOTS,
            None,
            "application/json",
            {"limit": "500", "labelSelector": "app.kubernetes.io/managed-by=maintenance-operator"},
        )
    ]


async def test_create_posts_the_manifest_once(client: FakeKubeClient, state: FakeState) -> None:
    assert await snapshots.create(client, "shop", REQUEST, "csi-snapclass") is True
    assert await snapshots.create(client, "shop", REQUEST, "csi-snapclass") is False  # 409: the same occurrence
    assert [(s.method, s.path) for s in state.sent] == [("POST", SNAPSHOTS)] * 2
    assert state.sent[0].body == {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {
            "name": "orders-20261201t1300z",
            "namespace": "shop",
            "labels": {"app.kubernetes.io/managed-by": "x"},
        },
        "spec": {"source": {"persistentVolumeClaimName": "data-orders-0"}, "volumeSnapshotClassName": "csi-snapclass"},
    }


async def test_delete_tolerates_a_snapshot_already_gone(client: FakeKubeClient, state: FakeState) -> None:
    state.put(SNAPSHOTS, {"metadata": {"name": "s1"}})
    await snapshots.delete(client, "shop", "s1")
    await snapshots.delete(client, "shop", "s1")  # 404
    assert state.requests == [("DELETE", f"{SNAPSHOTS}/s1")] * 2
    assert "s1" not in state.collections[SNAPSHOTS]
    state.answers[("DELETE", f"{SNAPSHOTS}/s2")] = 500
    with pytest.raises(ApiError):
        await snapshots.delete(client, "shop", "s2")


async def test_class_exists_reads_the_cluster_scoped_class(client: FakeKubeClient, state: FakeState) -> None:
    classes = "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses"
    state.put(classes, {"metadata": {"name": "csi"}})
    assert await snapshots.class_exists(client, "csi") is True
    assert await snapshots.class_exists(client, "missing") is False
    assert state.requests == [("GET", f"{classes}/csi"), ("GET", f"{classes}/missing")]
    state.answers[("GET", f"{classes}/csi")] = 500
    with pytest.raises(ApiError):
        await snapshots.class_exists(client, "csi")
