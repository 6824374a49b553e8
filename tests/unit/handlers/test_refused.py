"""A pass stopped by a 422 (an object the spec makes is invalid) sets Ready=False with the API server's words
instead of retrying silently behind a traceback: fuzzing found a database stuck without a condition this way."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.handlers.task_loop import TaskLoop
from maintenance_operator.kube.client import ApiError
from tests.unit.handlers.fake_runtime import fake_runtime, until
from tests.unit.handlers.test_forbidden import NS, ready
from tests.unit.kube.fake_api import FakeState

DATABASES = f"/apis/maintenance.ops.dev/v1alpha1/namespaces/{NS}/manageddatabases"
STATEFULSET = f"/apis/apps/v1/namespaces/{NS}/statefulsets/db"
NOW = datetime(2026, 12, 1, 12, 10, tzinfo=UTC)
SERVER = 'StatefulSet.apps "db" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "x"'


class RefusedTask(TaskLoop):
    """A pass whose StatefulSet the API server refuses, until the spec is fixed."""

    kind = "ManagedDatabase"
    fixed = False

    async def _pass(self) -> datetime | None:
        if not self.fixed:
            raise ApiError(422, "PATCH", STATEFULSET, SERVER, "Invalid")
        await self.write_status({"conditions": [{"type": "Ready", "status": "True", "reason": "Running"}]})
        return None


async def test_a_pass_refused_with_422_sets_ready_false_with_the_servers_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = FakeState()
    body = {"metadata": {"name": "db", "namespace": NS, "uid": "uid-db", "generation": 2}}
    state.put(DATABASES, dict(body))
    async with fake_runtime(NS, lambda: NOW, acting=True, state=state) as runtime:
        await _refused_then_fixed(runtime, state, body, caplog)


async def _refused_then_fixed(
    runtime: Runtime, state: FakeState, body: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    task = RefusedTask(runtime, body)
    with caplog.at_level(logging.INFO):
        task.start()
        try:
            await until(lambda: "status" in state.collections[DATABASES]["db"])
            condition = ready(state.collections[DATABASES]["db"])
            assert (condition["status"], condition["reason"]) == ("False", "Refused")
            assert condition["message"].endswith(f"PATCH {STATEFULSET}: 422 Invalid: {SERVER}")
            assert condition["observedGeneration"] == 2
            assert not [r for r in caplog.records if r.exc_info], "a refusal is reported, not a traceback"
            task.fixed = True
            task.wake()
            await until(lambda: ready(state.collections[DATABASES]["db"])["status"] == "True", timeout=10)
        finally:
            await task.stop()
