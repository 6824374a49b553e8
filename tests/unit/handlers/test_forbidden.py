"""A permission the operator's ServiceAccount lacks: named (verb, resource, namespace) in the log, once, and in
the Ready condition of the resource whose work needed it; against the fake API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.task_loop import TaskLoop
from maintenance_operator.handlers.window_runner import WindowRunner
from maintenance_operator.kube.client import Forbidden
from maintenance_operator.kube.permissions import Permission, needed
from tests.unit.handlers.fake_runtime import fake_runtime, state_of, until

NS = "team-a"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
WINDOWS = f"/apis/maintenance.ops.dev/v1alpha1/namespaces/{NS}/maintenancewindows"
SNAPSHOTS = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots"
NOW = datetime(2026, 12, 1, 12, 10, tzinfo=UTC)
PATCH_DEPLOYMENTS = "forbidden: the operator's ServiceAccount may not patch deployments.apps in namespace team-a"


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("PATCH", f"{DEPLOYMENTS}/web", Permission("patch", "deployments", "apps", NS)),
        ("POST", SNAPSHOTS, Permission("create", "volumesnapshots", "snapshot.storage.k8s.io", NS)),
        ("GET", f"{SNAPSHOTS}?labelSelector=x", Permission("list", "volumesnapshots", "snapshot.storage.k8s.io", NS)),
        ("WATCH", DEPLOYMENTS, Permission("watch", "deployments", "apps", NS)),
        (
            "PATCH",
            f"{WINDOWS}/w/status",
            Permission("patch", "maintenancewindows", "maintenance.ops.dev", NS, "status"),
        ),
        ("POST", f"/api/v1/namespaces/{NS}/secrets", Permission("create", "secrets", "", NS)),
        ("DELETE", f"/api/v1/namespaces/{NS}/secrets/s", Permission("delete", "secrets", "", NS)),
        ("GET", "/api/v1/namespaces/team-a", Permission("get", "namespaces", "", None)),
        (
            "GET",
            "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses/c",
            Permission("get", "volumesnapshotclasses", "snapshot.storage.k8s.io", None),
        ),
    ],
)
def test_the_permission_comes_from_the_request(method: str, path: str, permission: Permission) -> None:
    assert needed(method, path) == permission


def test_the_message_names_verb_resource_with_group_and_namespace() -> None:
    assert needed("PATCH", f"{DEPLOYMENTS}/web").denied() == PATCH_DEPLOYMENTS
    status = needed("PATCH", f"{WINDOWS}/w/status").denied()
    assert status.endswith("may not patch maintenancewindows.maintenance.ops.dev/status in namespace team-a")
    assert (
        needed("GET", "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses")
        .denied()
        .endswith("may not list volumesnapshotclasses.snapshot.storage.k8s.io cluster-wide")
    )


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    async with fake_runtime(NS, lambda: NOW) as rt:
        yield rt


def ready(obj: dict[str, Any]) -> dict[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next(c for c in conditions if c["type"] == "Ready")


def window_body() -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "MaintenanceWindow",
        "metadata": {"name": "weekly", "namespace": NS, "uid": "uid-weekly", "generation": 1},
        "spec": {"schedule": "0 12 * * *", "duration": "1h", "selector": {"matchLabels": {"tier": "web"}}},
    }


async def test_a_restart_refused_with_403_names_the_permission_in_condition_and_log_once(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    state = state_of(runtime)
    deployment = {
        "metadata": {
            "name": "web",
            "namespace": NS,
            "uid": "uid-web",
            "generation": 1,
            "labels": {"tier": "web"},
            "annotations": {
                "maintenance.ops.dev/required": "security",
                "maintenance.ops.dev/required-since": "2026-12-01T10:00:00Z",
            },
        },
        "spec": {"replicas": 2, "selector": {"matchLabels": {"tier": "web"}}},
        "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2},
    }
    state.put(DEPLOYMENTS, deployment)
    state.put(WINDOWS, window_body())
    state.forbidden.add(("PATCH", DEPLOYMENTS))
    await runtime.cache.start()
    await asyncio.wait_for(runtime.cache.synced.wait(), 2)
    runner = WindowRunner(runtime, window_body())
    with caplog.at_level(logging.INFO):
        await runner._pass()
        await runner._pass()  # the next pass keeps the condition and does not log again
    condition = ready(state.collections[WINDOWS]["weekly"])
    assert (condition["status"], condition["reason"], condition["message"]) == ("False", "Forbidden", PATCH_DEPLOYMENTS)
    assert [r.getMessage() for r in caplog.records if "forbidden" in r.getMessage()] == [
        f"MaintenanceWindow {NS}/weekly: {PATCH_DEPLOYMENTS}"
    ]
    await runtime.drain_background(timeout=1.0)
    assert [m for m, p in state.requests if m == "PATCH" and p.startswith(DEPLOYMENTS)] == ["PATCH"]


class SnapshotTask(TaskLoop):
    """A pass whose work needs one write the operator may not send, as a BackupWindow's VolumeSnapshot POST."""

    kind = "BackupWindow"

    async def _pass(self) -> datetime | None:
        await self.runtime.client.request("POST", SNAPSHOTS, body={"metadata": {"name": "s"}})
        await self.write_status({"conditions": [{"type": "Ready", "status": "True", "reason": "Scheduled"}]})
        return None


async def test_a_pass_stopped_by_403_sets_ready_false_until_the_permission_is_granted(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    state = state_of(runtime)
    backups = f"/apis/maintenance.ops.dev/v1alpha1/namespaces/{NS}/backupwindows"
    body = {"metadata": {"name": "daily", "namespace": NS, "uid": "uid-daily", "generation": 3}}
    state.put(backups, dict(body))
    state.forbidden.add(("POST", SNAPSHOTS))
    runtime.acting.set()
    task = SnapshotTask(runtime, body)
    message = (
        "forbidden: the operator's ServiceAccount may not create volumesnapshots.snapshot.storage.k8s.io "
        "in namespace team-a"
    )
    with caplog.at_level(logging.INFO):
        task.start()
        try:
            await until(lambda: "status" in state.collections[backups]["daily"])
            condition = ready(state.collections[backups]["daily"])
            assert (condition["status"], condition["reason"], condition["message"]) == ("False", "Forbidden", message)
            assert condition["observedGeneration"] == 3
            assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
                f"BackupWindow {NS}/daily: {message}"
            ]
            assert not [r for r in caplog.records if r.exc_info], "no traceback for a missing permission"
            state.forbidden.clear()
            task.wake()  # (the real loop retries after its back-off)
            await until(lambda: ready(state.collections[backups]["daily"])["status"] == "True", timeout=10)
        finally:
            await task.stop()


def test_forbidden_keeps_the_servers_text() -> None:
    err = Forbidden("PATCH", f"{DEPLOYMENTS}/web", 'deployments.apps "web" is forbidden: ...', "Forbidden")
    assert err.status == 403 and err.message == PATCH_DEPLOYMENTS
    assert err.server_message.startswith('deployments.apps "web" is forbidden')
