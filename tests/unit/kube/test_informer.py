"""The informer against the fake API: chunked LIST, watch, bookmarks, 410 relist, back-off, unreadable objects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

from maintenance_operator.kube.client import ApiError
from maintenance_operator.kube.informer import Collection, Informer
from tests.unit.kube.fake_api import FakeKubeClient, FakeState

PATH = "/apis/apps/v1/namespaces/shop/deployments"


def obj(name: str, replicas: Any = 1) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}"}, "spec": {"replicas": replicas}}


def reduce(o: Mapping[str, Any]) -> tuple[str, int]:
    replicas = o["spec"]["replicas"]
    if not isinstance(replicas, int):
        raise TypeError(f"replicas is {replicas!r}")
    return (o["metadata"]["name"], replicas)


async def until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


class Harness:
    def __init__(self, state: FakeState, page_size: int = 2) -> None:
        self.state = state
        self.changes: list[tuple[Any, Any]] = []
        self.informer: Informer[tuple[str, int]] = Informer(
            FakeKubeClient(state),
            Collection(PATH),
            reduce,
            lambda old, new: self.changes.append((old, new)),
            page_size=page_size,
            backoff=(0.01, 0.02),
        )

    def names(self) -> set[str]:
        return {name for name, _ in self.informer.items.values()}


@contextlib.asynccontextmanager
async def running(state: FakeState, page_size: int = 2) -> AsyncIterator[Harness]:
    harness = Harness(state, page_size)
    task = asyncio.create_task(harness.informer.run())
    try:
        yield harness
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def seeded(count: int) -> FakeState:
    state = FakeState()
    for i in range(count):
        state.put(PATH, obj(f"d{i}"))
    return state


async def test_first_list_is_chunked_and_complete_before_synced() -> None:
    state = seeded(5)
    async with running(state) as h:
        await asyncio.wait_for(h.informer.synced.wait(), 2)
        assert h.names() == {f"d{i}" for i in range(5)}
        lists = [p for m, p in state.requests if m == "GET"]
        assert len(lists) == 3  # 5 objects, 2 per page


async def test_watch_applies_changes_and_resumes_from_the_last_resource_version() -> None:
    state = seeded(1)
    async with running(state) as h:
        await asyncio.wait_for(h.informer.synced.wait(), 2)
        state.emit(PATH, "ADDED", obj("new"))
        state.emit(PATH, "MODIFIED", obj("d0", replicas=3))
        await until(lambda: ("d0", 3) in h.informer.items.values() and "new" in h.names())
        state.emit(PATH, "DELETED", obj("new"))
        await until(lambda: "new" not in h.names())
        assert h.changes[-1] == (("new", 1), None)
        # A bookmark moves the resume point without changing anything.
        state.queue(PATH).put_nowait({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "999"}}})
        state.queue(PATH).put_nowait(None)  # the server ends the watch
        await until(lambda: ("WATCH", f"{PATH}?resourceVersion=999") in state.requests)
        assert sum(1 for m, _ in state.requests if m == "GET") == 1  # resumed, not relisted


async def test_410_gone_relists_and_reports_what_vanished_meanwhile() -> None:
    state = seeded(3)
    async with running(state) as h:
        await asyncio.wait_for(h.informer.synced.wait(), 2)
        # While the watch was away: d1 deleted, d2 changed, d9 created; then the watch expires.
        state.collections[PATH].pop("d1")
        state.put(PATH, obj("d2", replicas=5))
        state.put(PATH, obj("d9"))
        state.queue(PATH).put_nowait({"type": "ERROR", "object": {"code": 410, "message": "too old"}})
        await until(lambda: h.informer.relists == 2)
        assert h.names() == {"d0", "d2", "d9"}
        assert (("d1", 1), None) in h.changes
        assert (("d2", 1), ("d2", 5)) in h.changes
        assert (None, ("d9", 1)) in h.changes


async def test_an_expired_continue_token_restarts_the_list() -> None:
    state = seeded(5)
    state.expire_continue = True
    async with running(state) as h:
        await asyncio.wait_for(h.informer.synced.wait(), 2)
        assert h.names() == {f"d{i}" for i in range(5)}


async def test_failures_back_off_and_retry_instead_of_dropping_the_watch() -> None:
    state = seeded(2)
    state.list_failures = 2
    async with running(state) as h:
        await asyncio.wait_for(h.informer.synced.wait(), 2)
        state.queue(PATH).put_nowait(ApiError(500, "WATCH", PATH, "connection reset"))
        state.emit(PATH, "ADDED", obj("after-the-failure"))
        await until(lambda: "after-the-failure" in h.names())


async def test_an_unreadable_object_is_logged_once_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    state = seeded(2)
    state.put(PATH, obj("broken", replicas="three"))
    with caplog.at_level(logging.WARNING, logger="maintenance_operator.kube.informer"):
        async with running(state) as h:
            await asyncio.wait_for(h.informer.synced.wait(), 2)
            state.emit(PATH, "MODIFIED", obj("broken", replicas="four"))
            state.emit(PATH, "ADDED", obj("fine"))
            await until(lambda: "fine" in h.names())
    assert h.names() == {"d0", "d1", "fine"}
    assert sum("broken" in r.getMessage() for r in caplog.records) == 1


async def test_unreadable_objects_deleted_while_no_watch_ran_are_forgotten_at_the_relist(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Objects that come and go unreadable over months leave nothing behind; one still listed is not logged again."""
    state = seeded(1)
    with caplog.at_level(logging.WARNING, logger="maintenance_operator.kube.informer"):
        async with running(state) as h:
            await asyncio.wait_for(h.informer.synced.wait(), 2)
            for round_ in range(1, 21):
                state.put(PATH, obj(f"broken-{round_}", replicas="many"))
                state.collections[PATH].pop(f"broken-{round_ - 1}", None)  # gone while the watch was away
                state.queue(PATH).put_nowait({"type": "ERROR", "object": {"code": 410, "message": "too old"}})
                relists = round_ + 1
                await until(lambda: h.informer.relists == relists)  # noqa: B023 - awaited here, in this round
                assert h.informer._unreducible == {f"uid-broken-{round_}"}
    assert sum("broken" in r.getMessage() for r in caplog.records) == 20, "each logged once"


async def test_a_collection_that_is_not_served_counts_as_synced_and_empty() -> None:
    state = FakeState(not_served={PATH})
    async with running(state) as h:
        await asyncio.wait_for(h.informer.synced.wait(), 2)
        assert not h.informer.served
        assert h.informer.items == {}
