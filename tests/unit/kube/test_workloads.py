"""kube.workloads: the exact PATCH a window's restart sends, and the annotations it records."""

import json
from dataclasses import replace
from datetime import UTC, datetime

from maintenance_operator.kube import workloads
from tests.unit.kube.fake_api import FakeKubeClient, FakeState
from tests.unit.planning.factories import workload

NOW = datetime(2026, 12, 1, 14, 0, 5, tzinfo=UTC)
DEPLOYMENTS = "/apis/apps/v1/namespaces/shop/deployments"
STATEFULSETS = "/apis/apps/v1/namespaces/shop/statefulsets"


async def test_restart_is_one_strategic_merge_patch_stamped_with_window_and_occurrence(
    client: FakeKubeClient, state: FakeState
) -> None:
    state.put(DEPLOYMENTS, {"metadata": {"name": "web"}, "spec": {"template": {}}})
    patched = await workloads.restart(client, workload("web"), "MaintenanceWindow/weekly", "20261201T1400Z", NOW)
    [sent] = state.sent
    assert (sent.method, sent.path, sent.content_type) == (
        "PATCH",
        f"{DEPLOYMENTS}/web",
        "application/strategic-merge-patch+json",
    )
    assert json.dumps(sent.body) == (
        '{"metadata": {"annotations": {"maintenance.ops.dev/restarted-by": "MaintenanceWindow/weekly '
        '2026-12-01T14:00:05Z"}}, "spec": {"template": {"metadata": {"annotations": {'
        '"kubectl.kubernetes.io/restartedAt": "2026-12-01T14:00:05Z", "maintenance.ops.dev/occurrence": '
        '"20261201T1400Z", "maintenance.ops.dev/occurrence-window": "MaintenanceWindow/weekly"}}}}}'
    )
    assert patched["spec"]["template"]["metadata"]["annotations"]["maintenance.ops.dev/occurrence"] == "20261201T1400Z"


async def test_a_pending_upgrade_rides_on_the_same_patch(client: FakeKubeClient, state: FakeState) -> None:
    state.put(STATEFULSETS, {"metadata": {"name": "db"}, "spec": {"template": {}}})
    db = replace(workload("db", kind="StatefulSet"), container="postgres", target_image="postgres:17.2")
    await workloads.restart(client, db, "MaintenanceWindow/weekly", "20261201T1400Z", NOW)
    [sent] = state.sent
    assert sent.path == f"{STATEFULSETS}/db"
    assert sent.body["spec"]["template"]["spec"] == {"containers": [{"name": "postgres", "image": "postgres:17.2"}]}


async def test_no_image_without_a_pending_upgrade(client: FakeKubeClient, state: FakeState) -> None:
    state.put(STATEFULSETS, {"metadata": {"name": "db"}})
    db = replace(workload("db", kind="StatefulSet"), container="postgres", image="postgres:17.2")
    await workloads.restart(client, db, "MaintenanceWindow/weekly", "20261201T1400Z", NOW)
    assert "spec" not in state.sent[0].body["spec"]["template"]


async def test_annotate_is_a_merge_patch_of_the_workloads_metadata(client: FakeKubeClient, state: FakeState) -> None:
    state.put(DEPLOYMENTS, {"metadata": {"name": "web", "annotations": {"keep": "me"}}})
    await workloads.annotate(client, "Deployment", "shop", "web", {"maintenance.ops.dev/completed-at": "x"})
    [sent] = state.sent
    assert (sent.method, sent.path, sent.content_type) == (
        "PATCH",
        f"{DEPLOYMENTS}/web",
        "application/merge-patch+json",
    )
    assert sent.body == {"metadata": {"annotations": {"maintenance.ops.dev/completed-at": "x"}}}
    assert state.collections[DEPLOYMENTS]["web"]["metadata"]["annotations"] == {
        "keep": "me",
        "maintenance.ops.dev/completed-at": "x",
    }
