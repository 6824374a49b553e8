"""A Maintenance's task against the fake API: it makes the covered workloads pending in the runtime (without a
write to them), windows restart them, its status counts from the workloads, a bad spec is Ready=False, and
stopping it withdraws what it made pending."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.handlers.announcement_runner import AnnouncementRunner
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.window_runner import WindowRunner
from tests.unit.handlers.fake_runtime import fake_runtime, state_of
from tests.unit.planning.factories import deployment

NS = "team-m"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
NAMESPACES = "/api/v1/namespaces"
MAINTENANCES = "/apis/maintenance.ops.dev/v1alpha1/maintenances"
WINDOWS = f"/apis/maintenance.ops.dev/v1alpha1/namespaces/{NS}/maintenancewindows"
NOW = datetime(2026, 12, 1, 12, 10, tzinfo=UTC)  # inside the 12:00-13:00 occurrence


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    async with fake_runtime(NS, lambda: NOW, acting=True) as rt:
        yield rt


def maintenance_body(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "Maintenance",
        "metadata": {"name": "cve", "uid": "uid-cve", "generation": 1, "creationTimestamp": "2026-12-01T11:00:00Z"},
        "spec": {"reason": "security", "description": "base image fix", **spec},
    }


WINDOW = {
    "apiVersion": "maintenance.ops.dev/v1alpha1",
    "kind": "MaintenanceWindow",
    "metadata": {"name": "daily", "namespace": NS, "uid": "uid-daily", "generation": 1},
    "spec": {"schedule": "0 12 * * *", "duration": "1h", "selector": {}, "concurrency": 5},
}


async def synced(runtime: Runtime, *deployments: dict[str, Any]) -> None:
    state = state_of(runtime)
    state.put(NAMESPACES, {"metadata": {"name": NS, "uid": "uid-ns", "labels": {"team": "m"}}})
    for d in deployments:
        state.put(DEPLOYMENTS, d)
    await runtime.cache.start()
    await asyncio.wait_for(runtime.cache.synced.wait(), 2)


def status_of(runtime: Runtime) -> dict[str, Any]:
    status: dict[str, Any] = state_of(runtime).collections[MAINTENANCES]["cve"].get("status") or {}
    return status


async def test_covered_workloads_are_pending_restarted_by_a_window_and_counted(runtime: Runtime) -> None:
    await synced(runtime, deployment("web", namespace=NS, labels={"tier": "web"}), deployment("api", namespace=NS))
    body = maintenance_body(
        targets={"namespaceSelector": {"matchLabels": {"team": "m"}}, "selector": {"matchLabels": {"tier": "web"}}}
    )
    state_of(runtime).put(MAINTENANCES, body)
    runner = AnnouncementRunner(runtime, body)
    pending = {w.name: (w.required, w.announcements) for w in runtime.workloads(NS) if w.required}
    assert pending == {"web": ("security", ("cve",))}, "taken into use on the event, before any pass"
    await runner._pass()
    status = status_of(runtime)
    assert (status["total"], status["pending"], status["doneByWindow"]) == (1, 1, 0)
    assert status["left"] == [{"namespace": NS, "count": 1, "targets": ["deployment/web"]}]
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [
        ("Ready", "True"),
        ("Complete", "False"),
        ("Overdue", "False"),
    ]

    state_of(runtime).put(WINDOWS, WINDOW)
    window = WindowRunner(runtime, WINDOW)
    await window._pass()
    patched = [p for m, p in state_of(runtime).requests if m == "PATCH" and p.startswith(DEPLOYMENTS)]
    # Its restart alone: the announcement itself wrote nothing to either target.
    assert patched == [f"{DEPLOYMENTS}/web"], "the window restarts what the announcement made pending"
    await runner.stop()
    assert runtime.announcements == {}


async def test_an_unusable_selector_is_ready_false_and_covers_nothing(runtime: Runtime) -> None:
    await synced(runtime, deployment("web", namespace=NS))
    body = maintenance_body(targets={"selector": {"matchExpressions": [{"key": "tier", "operator": "In"}]}})
    state_of(runtime).put(MAINTENANCES, body)
    runner = AnnouncementRunner(runtime, body)
    assert runtime.announcements == {}
    await runner._pass()
    [ready] = status_of(runtime)["conditions"]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "InvalidSpec")
    assert "spec.targets.selector" in ready["message"]
    assert not any(w.required for w in runtime.workloads(NS))


async def test_a_selector_that_matches_nothing_is_accepted_and_counts_zero(runtime: Runtime) -> None:
    await synced(runtime, deployment("web", namespace=NS))
    body = maintenance_body(targets={"namespaceSelector": {"matchLabels": {"team": "nobody"}}})
    state_of(runtime).put(MAINTENANCES, body)
    runner = AnnouncementRunner(runtime, body)
    await runner._pass()
    status = status_of(runtime)
    assert (status["total"], status["pending"]) == (0, 0)
    complete = next(c for c in status["conditions"] if c["type"] == "Complete")
    assert complete["message"].startswith("no target matches")


async def test_notices_name_each_announcement_with_its_description(runtime: Runtime) -> None:
    await synced(runtime, deployment("web", namespace=NS))
    AnnouncementRunner(runtime, maintenance_body())
    [web] = runtime.workloads(NS)
    assert runtime.announced_by(web) == " Announced by Maintenance cve: base image fix."
    [plain] = runtime.cache.workloads(NS)
    assert runtime.announced_by(plain) == "", "a workload no announcement covers"
