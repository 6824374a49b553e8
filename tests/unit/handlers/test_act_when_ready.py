"""Nothing acts on a partial view: the Runtime starts acting once the workload cache has synced."""

import asyncio
from datetime import UTC, datetime

from maintenance_operator.handlers.cache_events import CacheEvents
from tests.unit.handlers.fake_runtime import fake_runtime, until

NS = "unit-test-act"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


async def test_acting_waits_for_the_first_complete_list() -> None:
    async with fake_runtime(NS, lambda: NOW) as runtime:
        task = asyncio.create_task(CacheEvents(runtime).act_when_ready(None))
        await asyncio.sleep(0.05)
        assert not runtime.acting.is_set(), "the cache has not synced"
        await runtime.cache.start()
        await until(runtime.acting.is_set)
        await task
