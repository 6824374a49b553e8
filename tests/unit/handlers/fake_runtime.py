"""The one Runtime the reconciler tests run against: the project's fake API behind the real cache, on a clock the
test sets. Each test file says only its namespace and its clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.kube.cache import ClusterCache
from tests.unit.kube.fake_api import FakeKubeClient, FakeState


class Clock:
    """A clock the test moves by setting `at`."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@asynccontextmanager
async def fake_runtime(
    namespace: str | Sequence[str],
    clock: Callable[[], datetime],
    *,
    acting: bool = False,
    state: FakeState | None = None,
) -> AsyncIterator[Runtime]:
    """A Runtime over a fresh (or the given) fake API, its cache watching `namespace` (or each of several); its
    cache and background tasks are stopped afterwards."""
    client = FakeKubeClient(state if state is not None else FakeState())
    watched = [namespace] if isinstance(namespace, str) else list(namespace)
    rt = Runtime(client=client, cache=ClusterCache(client, watched), clock=clock)
    if acting:
        rt.acting.set()
    try:
        yield rt
    finally:
        await rt.cache.stop()
        await rt.drain_background(timeout=1.0)


def state_of(rt: Runtime) -> FakeState:
    assert isinstance(rt.client, FakeKubeClient)
    return rt.client.state


def clock_of(rt: Runtime) -> Clock:
    assert isinstance(rt.clock, Clock)
    return rt.clock


async def until(predicate: Callable[[], Any], timeout: float = 2.0) -> None:
    """Polls with a deadline: what the code under test does in its own tasks."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)
