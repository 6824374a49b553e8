"""Leader election between replicas sharing the fake API: one leader, hand-over, expiry, and the write fence."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from maintenance_operator.handlers.leader_election import LeaderElection
from maintenance_operator.kube.client import WRITES_REFUSED, NotLeaderError
from maintenance_operator.planning.leases import Timing
from tests.unit.kube.fake_api import FakeKubeClient, FakeState

TIMING = Timing(lease_duration=0.6, renew_deadline=0.4, retry_period=0.05)
LEASES = "/apis/coordination.k8s.io/v1/namespaces/ops/leases"


class Replica:
    def __init__(self, state: FakeState, identity: str, clock: Callable[[], float] | None = None) -> None:
        self.client = FakeKubeClient(state)
        self.lost: list[str] = []
        self.election = LeaderElection(
            self.client,
            "ops",
            "maintenance-operator",
            identity,
            TIMING,
            self.lost.append,
            monotonic=clock or time.monotonic,
        )
        self.client.may_write = self.election.may_write
        self.task: asyncio.Task[None] | None = None

    def start(self) -> Replica:
        self.task = asyncio.create_task(self.election.run())
        return self

    async def kill(self) -> None:
        """As SIGKILL: it stops renewing and releases nothing."""
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@contextlib.asynccontextmanager
async def replicas(*identities: str) -> AsyncIterator[list[Replica]]:
    state = FakeState()
    started = []
    for identity in identities:
        started.append(Replica(state, identity).start())
        await asyncio.sleep(0.01)  # the first one named is the first candidate
    try:
        yield started
    finally:
        for r in started:
            await r.kill()


def holder(r: Replica) -> str:
    lease = r.client.state.collections[LEASES]["maintenance-operator"]
    return str(lease["spec"]["holderIdentity"])


async def test_one_leader_and_a_standby_that_never_writes() -> None:
    async with replicas("a", "b") as (a, b):
        await asyncio.wait_for(a.election.leading.wait(), 1)
        await asyncio.sleep(TIMING.lease_duration * 2)  # long past a lease duration: a keeps renewing
        assert holder(a) == "a"
        assert a.election.may_write() and not b.election.may_write()
        writes_by_b = [m for m, p in a.client.state.requests if m != "GET"]
        assert writes_by_b.count("POST") == 1  # a created it; b only read
        with pytest.raises(NotLeaderError):
            await b.client.request("PATCH", "/api/v1/namespaces/ops/configmaps/x", body={})


async def test_release_hands_over_within_one_retry_period() -> None:
    async with replicas("a", "b") as (a, b):
        await asyncio.wait_for(a.election.leading.wait(), 1)
        await a.kill()
        await a.election.release()
        loop = asyncio.get_running_loop()
        released_at = loop.time()
        await asyncio.wait_for(b.election.leading.wait(), 1)
        assert loop.time() - released_at < TIMING.retry_period * 3
        assert holder(b) == "b" and not a.election.may_write()


async def test_a_second_release_waits_for_the_first_one_to_be_written() -> None:
    """A signal starts the release; the cleanup's call must not return (and the client close) before it is sent."""
    async with replicas("a") as (a,):
        await asyncio.wait_for(a.election.leading.wait(), 1)
        await a.kill()
        answer = asyncio.Event()
        send = a.client._send

        async def slow(method: str, path: str, *rest: Any) -> dict[str, Any]:
            if method == "PUT":
                await answer.wait()  # the API server has not answered the release yet
            return await send(method, path, *rest)

        a.client._send = slow  # type: ignore[method-assign,assignment]
        first = asyncio.create_task(a.election.release())
        await asyncio.sleep(0.01)
        second = asyncio.create_task(a.election.release())
        await asyncio.sleep(0.01)
        assert not second.done(), "the second call returned before the Lease was written"
        answer.set()
        await asyncio.wait_for(asyncio.gather(first, second), 1)
        assert holder(a) in ("", "None")


async def test_a_killed_leader_is_replaced_only_after_its_lease_expired() -> None:
    async with replicas("a", "b") as (a, b):
        await asyncio.wait_for(a.election.leading.wait(), 1)
        await a.kill()
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        await asyncio.wait_for(b.election.leading.wait(), 3)
        waited = loop.time() - killed_at
        on_the_wire = max(1, round(TIMING.lease_duration))  # leaseDurationSeconds is whole seconds
        assert on_the_wire - TIMING.retry_period <= waited < on_the_wire + 10 * TIMING.retry_period
        lease = b.client.state.collections[LEASES]["maintenance-operator"]
        assert lease["spec"]["leaseTransitions"] == 1


async def test_a_leader_that_cannot_renew_stops_before_its_lease_expires() -> None:
    async with replicas("a") as (a,):
        await asyncio.wait_for(a.election.leading.wait(), 1)
        a.client.state.failing_methods.add("PUT")
        loop = asyncio.get_running_loop()
        failing_since = loop.time()
        deadline = failing_since + TIMING.lease_duration
        while not a.lost:
            assert loop.time() < deadline, "still acting when its Lease could expire"
            await asyncio.sleep(0.01)
        assert not a.election.may_write() and "not renewed" in a.lost[0]


async def test_a_frozen_leader_may_not_write_the_moment_it_runs_again() -> None:
    now = [0.0]
    state = FakeState()
    a = Replica(state, "a", clock=lambda: now[0]).start()
    try:
        await asyncio.wait_for(a.election.leading.wait(), 1)
        assert a.election.may_write()
        now[0] += TIMING.lease_duration + 5  # SIGSTOP for longer than the Lease, then SIGCONT
        refused = WRITES_REFUSED._value.get()
        with pytest.raises(NotLeaderError):
            await a.client.request("PATCH", "/apis/apps/v1/namespaces/x/deployments/web", body={})
        assert WRITES_REFUSED._value.get() == refused + 1
        assert ("PATCH", "/apis/apps/v1/namespaces/x/deployments/web") not in state.requests
        await asyncio.wait_for(_lost(a), 1)  # and its loop notices and gives up without renewing
        assert "not renewed" in a.lost[0]
    finally:
        await a.kill()


async def _lost(r: Replica) -> None:
    while not r.lost:
        await asyncio.sleep(0.01)


async def test_someone_else_taking_the_lease_is_a_loss() -> None:
    async with replicas("a") as (a,):
        await asyncio.wait_for(a.election.leading.wait(), 1)
        lease = a.client.state.collections[LEASES]["maintenance-operator"]
        lease["spec"]["holderIdentity"] = "intruder"
        a.client.state.put(LEASES, lease)
        await asyncio.wait_for(_lost(a), 1)
        assert "intruder" in a.lost[0]


async def test_releasing_while_running_is_a_hand_over_not_a_loss() -> None:
    async with replicas("a") as (a,):
        await asyncio.wait_for(a.election.leading.wait(), 1)
        await a.election.release()
        await asyncio.sleep(TIMING.retry_period * 4)
        assert a.lost == [] and not a.election.may_write()
        assert holder(a) == "None"
