"""kube.status: status and annotation writes of the operator's own resources, and the merge patch it computes."""

from maintenance_operator.kube import status
from tests.unit.kube.fake_api import FakeKubeClient, FakeState, Sent

WINDOWS = "/apis/maintenance.ops.dev/v1alpha1/namespaces/shop/maintenancewindows"


async def test_patch_status_writes_the_subresource_and_returns_the_object(
    client: FakeKubeClient, state: FakeState
) -> None:
    state.put(WINDOWS, {"metadata": {"name": "weekly"}, "status": {"old": 1}})
    written = await status.patch_status(client, "MaintenanceWindow", "shop", "weekly", {"nextWindow": "x"})
    assert state.sent == [
        Sent("PATCH", f"{WINDOWS}/weekly/status", {"status": {"nextWindow": "x"}}, "application/merge-patch+json", None)
    ]
    assert written["status"] == {"old": 1, "nextWindow": "x"}
    assert written["metadata"]["resourceVersion"] == state.collections[WINDOWS]["weekly"]["metadata"]["resourceVersion"]


async def test_patch_annotations_removes_those_set_to_none(client: FakeKubeClient, state: FakeState) -> None:
    state.put(WINDOWS, {"metadata": {"name": "weekly", "annotations": {"maintenance.ops.dev/run-now": "1", "k": "v"}}})
    await status.patch_annotations(client, "MaintenanceWindow", "shop", "weekly", {"maintenance.ops.dev/run-now": None})
    assert state.sent == [
        Sent(
            "PATCH",
            f"{WINDOWS}/weekly",
            {"metadata": {"annotations": {"maintenance.ops.dev/run-now": None}}},
            "application/merge-patch+json",
            None,
        )
    ]
    assert state.collections[WINDOWS]["weekly"]["metadata"]["annotations"] == {"k": "v"}


def test_merge_patch_is_the_difference_only() -> None:
    old = {"a": 1, "gone": 2, "nested": {"x": 1, "y": 2}, "same": {"z": 3}}
    new = {"a": 5, "nested": {"x": 1, "y": 3}, "same": {"z": 3}, "added": [1]}
    assert status.merge_patch(old, new) == {"gone": None, "a": 5, "nested": {"y": 3}, "added": [1]}
    assert status.merge_patch(new, new) == {}
