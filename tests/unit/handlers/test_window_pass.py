"""One MaintenanceWindow pass against the fake API: the restarts it sends count as in flight in the status it
writes at once, and a PATCH that failed leaves its target failed (and due) in the occurrence, never resent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.window_runner import WindowRunner
from tests.unit.handlers.fake_runtime import fake_runtime, state_of
from tests.unit.planning.factories import deployment

NS = "team-w"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
WINDOWS = f"/apis/maintenance.ops.dev/v1alpha1/namespaces/{NS}/maintenancewindows"
NOW = datetime(2026, 12, 1, 12, 10, tzinfo=UTC)  # inside the 12:00-13:00 occurrence


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    async with fake_runtime(NS, lambda: NOW) as rt:
        yield rt


def window_body(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "MaintenanceWindow",
        "metadata": {"name": "daily", "namespace": NS, "uid": "uid-daily", "generation": 1},
        "spec": {"schedule": "0 12 * * *", "duration": "1h", "selector": {"matchLabels": {"tier": "web"}}, **spec},
    }


DUE = {"maintenance.ops.dev/required": "security", "maintenance.ops.dev/required-since": "2026-12-01T10:00:00Z"}


async def started(runtime: Runtime, *names: str, **spec: Any) -> WindowRunner:
    state = state_of(runtime)
    for name in names:
        state.put(DEPLOYMENTS, deployment(name, namespace=NS, replicas=2, labels={"tier": "web"}, annotations=DUE))
    state.put(WINDOWS, window_body(**spec))
    await runtime.cache.start()
    await asyncio.wait_for(runtime.cache.synced.wait(), 2)
    return WindowRunner(runtime, window_body(**spec))


def restart_patches(runtime: Runtime) -> list[str]:
    return [p.rpartition("/")[2] for m, p in state_of(runtime).requests if m == "PATCH" and p.startswith(DEPLOYMENTS)]


def pending(runtime: Runtime) -> dict[str, str]:
    status = state_of(runtime).collections[WINDOWS]["daily"]["status"]
    return {p["name"]: p["waiting"] for p in status.get("pending", [])}


async def test_a_restart_sent_counts_as_in_flight_in_the_status_of_its_pass(runtime: Runtime) -> None:
    """The pass does not plan again after its PATCHes: what the watch shows meanwhile (the fake API's rollout
    completes at once) is the next pass's, which the watch event wakes."""
    runner = await started(runtime, "a", "b")
    await runner._pass()
    assert restart_patches(runtime) == ["a"], "concurrency 1"
    assert pending(runtime) == {"a": "in-progress", "b": "waiting-for-concurrency"}
    assert state_of(runtime).collections[WINDOWS]["daily"]["status"]["lastRun"]["result"] == "Running"
    await runner._pass()
    assert restart_patches(runtime) == ["a", "b"], "a's rollout completed: its slot goes to b"


async def test_a_failed_patch_leaves_its_target_failed_and_stops_the_occurrence(runtime: Runtime) -> None:
    runner = await started(runtime, "a", "b")
    state_of(runtime).answers[("PATCH", f"{DEPLOYMENTS}/a")] = 500
    await runner._pass()
    assert pending(runtime) == {"a": "rollout-failed", "b": "stopped-after-failure"}
    run = state_of(runtime).collections[WINDOWS]["daily"]["status"]["lastRun"]
    assert (run["failed"], run["result"]) == (1, "Failed")
    await runner._pass()
    assert restart_patches(runtime) == ["a"], "not resent in the occurrence, and nothing else started"
    await runtime.drain_background(timeout=1.0)
    reasons = [s.body.get("reason") for s in state_of(runtime).sent if s.method == "POST" and "events" in s.path]
    assert reasons.count("RestartFailed") == 1 and reasons.count("MaintenanceFailed") == 1


async def test_a_failed_patch_leaves_its_slot_to_the_next_target_on_continue(runtime: Runtime) -> None:
    runner = await started(runtime, "a", "b", onFailure="Continue")
    state_of(runtime).answers[("PATCH", f"{DEPLOYMENTS}/a")] = 500
    await runner._pass()
    assert pending(runtime) == {"a": "rollout-failed", "b": "starting"}, "started in the next pass"
    await runner._pass()
    assert restart_patches(runtime) == ["a", "b"]
