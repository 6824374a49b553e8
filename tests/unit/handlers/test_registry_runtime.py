"""The kopf handlers act on the Runtime the registry was built with: there is no process-global to install."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import kopf

from maintenance_operator.api import names
from maintenance_operator.handlers.database_runner import DatabaseRunner
from maintenance_operator.handlers.registry import build_registry
from maintenance_operator.kube.credentials import Credentials
from tests.unit.handlers.fake_runtime import fake_runtime, state_of

NS = "unit-test-registry"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
BODY: dict[str, Any] = {
    "apiVersion": names.API_VERSION,
    "kind": names.MANAGED_DATABASE,
    "metadata": {"name": "orders", "namespace": NS, "uid": "uid-orders", "generation": 1},
    "spec": {"engine": "postgresql", "version": "16.4", "storage": {"size": "1Gi"}},
}

BODY_OBJ = kopf.Body(cast(kopf.RawBody, BODY))


def handlers(registry: kopf.OperatorRegistry) -> dict[str, Any]:
    found = [*registry._watching.get_all_handlers(), *registry._activities.get_all_handlers()]
    return {h.fn.__name__: h.fn for h in found}


async def test_a_database_event_starts_and_stops_a_task_in_the_given_runtime() -> None:
    cleaned: list[bool] = []

    async def on_cleanup() -> None:
        cleaned.append(True)

    async with fake_runtime(NS, lambda: NOW) as runtime:
        registry = build_registry(runtime, Credentials(server="https://fake.invalid"), on_cleanup)
        fns = handlers(registry)
        await fns["managed_database_event"](type="ADDED", body=BODY_OBJ)
        assert isinstance(runtime.database_runners.get("uid-orders"), DatabaseRunner)
        await fns["managed_database_event"](type="DELETED", body=BODY_OBJ)
        assert runtime.database_runners == {}
        await runtime.drain_background(timeout=1.0)
        deleted = state_of(runtime).collections.get(f"/api/v1/namespaces/{NS}/events", {}).values()
        assert [e["reason"] for e in deleted] == ["Deleted"]
        await fns["managed_database_event"](type="ADDED", body=BODY_OBJ)
        await fns["shutdown"]()
        assert runtime.database_runners == {} and cleaned == [True]
