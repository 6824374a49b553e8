"""A ManagedDatabase's once-told Events are kept for the current generation and the latest upgrade only (issue
13), and each is still told once; against the fake API."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from maintenance_operator.handlers.database_runner import DatabaseRunner
from maintenance_operator.handlers.runtime import Runtime
from tests.unit.handlers.fake_runtime import fake_runtime
from tests.unit.handlers.test_bounded_windows import event_posts
from tests.unit.kube.fake_api import FakeState

NS = "unit-test-bounded"
DATABASES = f"/apis/maintenance.ops.dev/v1alpha1/namespaces/{NS}/manageddatabases"
EVENTS = f"/api/v1/namespaces/{NS}/events"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


async def test_failures_and_upgrades_keep_one_key_each_and_tell_each_once() -> None:
    state = FakeState()
    async with fake_runtime(NS, lambda: NOW, state=state) as runtime:
        await _fail_and_upgrade(runtime, state)


async def _fail_and_upgrade(runtime: Runtime, state: FakeState) -> None:
    state.put(DATABASES, {"metadata": {"name": "db", "namespace": NS, "uid": "uid-db", "generation": 1}})
    runner = DatabaseRunner(runtime, copy.deepcopy(state.collections[DATABASES]["db"]))
    generations = 30
    for generation in range(1, generations + 1):
        for _ in range(2):  # a pass retried (its status write failed): the same failure is not told again
            await runner._fail("InvalidSpec", f"spec of generation {generation} is wrong", generation, NOW)
        assert runner._told["InvalidSpec"] == {f"fail{generation}"}
        before, after = f"16.{generation}", f"16.{generation + 1}"
        for _ in range(2):  # seen again while the status that says `after` is not written yet
            runner._status["currentVersion"] = before
            runner._announce_transitions({"currentVersion": after}, "PostgreSQL", NOW)
        assert runner._told["Upgraded"] == {f"upgraded{after}"}
    await runtime.drain_background(timeout=1.0)
    reasons = [e["reason"] for e in state.collections[EVENTS].values()]
    assert (reasons.count("InvalidSpec"), reasons.count("Upgraded")) == (generations, generations)
    assert event_posts(state) == len(state.collections[EVENTS]), "no Event was sent twice"
