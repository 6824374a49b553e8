"""Months of occurrences keep a MaintenanceWindow's memory bounded (issue 13): what a window remembers to report
each finished restart, missed occurrence and stopped pass once is pruned as it stops mattering, and nothing is
reported twice for it; against the fake API, through the real cache."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from maintenance_operator.api import names
from maintenance_operator.api.windows import MaintenanceWindowSpec
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.task_loop import STOPS_KEPT, TaskLoop
from maintenance_operator.handlers.window_runner import WindowRunner
from maintenance_operator.kube.client import ApiError
from tests.unit.handlers.fake_runtime import Clock, clock_of, fake_runtime, state_of, until
from tests.unit.kube.fake_api import FakeState

NS = "unit-test-bounded"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
WINDOWS = f"/apis/maintenance.ops.dev/v1alpha1/namespaces/{NS}/maintenancewindows"
EVENTS = f"/api/v1/namespaces/{NS}/events"
START = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    async with fake_runtime(NS, Clock(START)) as rt:
        yield rt


def deployment(name: str) -> dict[str, Any]:
    """Rolled out, and complete again as soon as it is restarted (the fake does not bump the generation)."""
    return {
        "metadata": {"name": name, "namespace": NS, "generation": 1, "labels": {"tier": "soak"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
    }


def window_body(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "maintenance.ops.dev/v1alpha1",
        "kind": "MaintenanceWindow",
        "metadata": {
            "name": "soak",
            "namespace": NS,
            "uid": "uid-soak",
            "generation": 1,
            "creationTimestamp": "2026-12-01T00:00:00Z",
        },
        "spec": {"schedule": "0 14 * * *", "duration": "1h", "selector": {"matchLabels": {"tier": "soak"}}, **spec},
    }


def told(state: FakeState, reason: str) -> Counter[str]:
    """The Events of `reason` by the object they are about."""
    return Counter(
        e["involvedObject"]["name"] for e in state.collections.get(EVENTS, {}).values() if e["reason"] == reason
    )


def event_posts(state: FakeState) -> int:
    """Every Event POST reaches the fake, including a repeat (answered 409 and not stored)."""
    return sum(1 for method, path in state.requests if method == "POST" and path == EVENTS)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"namespace": NS, "window": "soak", **labels}) or 0.0


async def start(rt: Runtime, targets: int, **spec: Any) -> WindowRunner:
    state = state_of(rt)
    for i in range(targets):
        state.put(DEPLOYMENTS, deployment(f"app-{i:02d}"))
    state.put(WINDOWS, window_body(**spec))
    await rt.cache.start()
    await asyncio.wait_for(rt.cache.synced.wait(), 2)
    runner = WindowRunner(rt, copy.deepcopy(state.collections[WINDOWS]["soak"]))
    rt.window_runners[runner.uid] = runner
    return runner


async def run_now(rt: Runtime, runner: WindowRunner, trigger: str) -> str:
    """One run-now occurrence to its end: opened, every target restarted, each restart seen and reported."""
    state = state_of(rt)
    clock_of(rt).at += timedelta(seconds=2)  # run-now ids are to the second
    body = state.collections[WINDOWS]["soak"]
    body["metadata"].setdefault("annotations", {})[names.ANNOTATION_RUN_NOW] = trigger
    state.put(WINDOWS, body)
    runner.update(copy.deepcopy(body))
    await runner._pass()
    occurrence = runner._status["currentOccurrence"]["id"]
    await until(lambda: all(w.occurrence == occurrence for w in rt.workloads(NS)))
    await runner._pass()
    return str(occurrence)


async def test_reports_stay_one_per_target_over_many_run_now_occurrences(runtime: Runtime) -> None:
    targets, occurrences = 6, 40
    runner = await start(runtime, targets, policy="Always", concurrency=targets)
    state = state_of(runtime)
    try:
        for n in range(occurrences):
            last = await run_now(runtime, runner, f"t{n}")
            assert len(runner._reported) <= targets, "one entry per target, whatever the occurrences"
        assert runner._reported == {w.key: last for w in runtime.workloads(NS)}
        await runner._pass()  # the last occurrence again: nothing new to report
        await runtime.drain_background(timeout=1.0)
        completed = told(state, "MaintenanceCompleted")
        assert completed == {f"app-{i:02d}": occurrences for i in range(targets)}
        assert sample("maintenance_restarts_total", result="succeeded") == targets * occurrences
        assert event_posts(state) == len(state.collections[EVENTS]), "no Event was sent twice"
    finally:
        await runner.stop()


async def test_deleted_targets_are_forgotten_once_the_next_occurrence_is_followed(runtime: Runtime) -> None:
    runner = await start(runtime, 4, policy="Always", concurrency=4)
    state = state_of(runtime)
    try:
        await run_now(runtime, runner, "first")
        assert len(runner._reported) == 4
        for name in ("app-00", "app-01"):
            state.emit(DEPLOYMENTS, "DELETED", state.collections[DEPLOYMENTS][name])
        await until(lambda: len(runtime.workloads(NS)) == 2)
        await runner._pass()  # the same occurrence: a deleted target's entry may still be needed
        assert len(runner._reported) == 4
        await run_now(runtime, runner, "second")
        assert sorted(k[2] for k in runner._reported) == ["app-02", "app-03"]
    finally:
        await runner.stop()


async def test_missed_occurrences_are_told_and_counted_once_and_then_forgotten(runtime: Runtime) -> None:
    """Hourly occurrences pass while the operator is 'down' (the clock jumps); each pass decides what was missed
    since `handledThrough`. A pass whose status write fails decides the same again and tells nothing twice."""
    clock = clock_of(runtime)
    clock.at = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    runner = await start(runtime, 1, schedule="@hourly", duration="5m", policy="Always", noticeBefore="1m")
    state = state_of(runtime)
    try:
        await runner._pass()  # handledThrough: the 00:00 occurrence, closed
        jumps = 30
        for n in range(jumps):
            clock.at += timedelta(hours=3)  # 3 occurrences missed each time
            if n % 5 == 0:
                state.failing_methods.add("PATCH")  # the status write fails: the same decision again
                with pytest.raises(ApiError):
                    await runner._pass()
                state.failing_methods.clear()
            await runner._pass()
            assert len(runner._told.get("MaintenanceMissed", ())) <= 3
            assert len(runner._missed_counted) <= 3
        await runner._pass()
        assert runner._told.get("MaintenanceMissed", set()) == set() and runner._missed_counted == set()
        await runtime.drain_background(timeout=1.0)
        assert told(state, "MaintenanceMissed") == {"soak": 3 * jumps}
        assert sample("maintenance_window_missed_total") == 3 * jumps
        assert event_posts(state) == len(state.collections[EVENTS]), "no Event was sent twice"
    finally:
        await runner.stop()


class Refusing(TaskLoop):
    kind = "ManagedDatabase"

    async def _pass(self) -> datetime | None:
        return None


async def test_stopped_passes_remember_only_the_recent_texts_and_tell_each_once(runtime: Runtime) -> None:
    state = state_of(runtime)
    databases = f"/apis/maintenance.ops.dev/v1alpha1/namespaces/{NS}/manageddatabases"
    state.put(databases, {"metadata": {"name": "db", "namespace": NS, "uid": "uid-db", "generation": 1}})
    task = Refusing(runtime, copy.deepcopy(state.collections[databases]["db"]))
    persistent = ApiError(422, "PATCH", "/apis/apps/v1/x", "always the same", "Invalid")
    for n in range(3 * STOPS_KEPT):
        await task._pass_refused(ApiError(422, "PATCH", "/apis/apps/v1/x", f"value {n} is invalid", "Invalid"))
        await task._pass_refused(persistent)  # a stop that lasts stays among the recent ones
        assert len(task._logged_stops) <= STOPS_KEPT
        assert len(task._told["Refused"]) <= STOPS_KEPT
    await runtime.drain_background(timeout=1.0)
    refused = [e["message"] for e in state.collections[EVENTS].values() if e["reason"] == "Refused"]
    assert len(refused) == 3 * STOPS_KEPT + 1 and len(set(refused)) == len(refused)
    assert event_posts(state) == len(state.collections[EVENTS]), "the lasting stop was told once"


async def test_spec_problems_keep_the_current_generations_keys_only(runtime: Runtime) -> None:
    runner = await start(runtime, 0)
    state = state_of(runtime)
    hook = {"url": "https://hooks.example/x", "secretKeyRef": {"name": "notice-webhook", "key": "k"}}
    spec = MaintenanceWindowSpec.model_validate({"selector": {}, "noticeWebhook": hook})  # its host is not allowed
    try:
        for generation in range(1, 31):
            for _ in range(2):  # a pass retried: the same problem is not told again
                await runner._invalid(f"generation {generation}: spec.schedule is wrong", generation, START)
                problem = runner._notice_problem(spec, START, generation)
            assert runner._told["InvalidSpec"] == {f"invalid{generation}"}
            assert runner._told["NoticeWebhookRefused"] == {f"{generation}{problem}"}
        await runtime.drain_background(timeout=1.0)
        reasons = Counter(e["reason"] for e in state.collections[EVENTS].values())
        assert (reasons["InvalidSpec"], reasons["NoticeWebhookRefused"]) == (30, 30)
        assert event_posts(state) == len(state.collections[EVENTS]), "no Event was sent twice"
    finally:
        await runner.stop()
