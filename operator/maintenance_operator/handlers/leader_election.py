"""Leader election on a Lease: both replicas keep warm caches, only the leader acts and writes.

The leader renews every retry period. It may write only while its last successful renewal (taken before the
request was sent) is younger than the renew deadline; `KubeClient.may_write` checks exactly that before every
write, so a leader frozen past its Lease (SIGSTOP, a stalled node) sends nothing when it runs again. Losing the
Lease, or failing to renew it in time, calls `on_lost`: the process stops and exits non-zero, and a fresh
replica comes back as a standby. `release()` on a clean shutdown lets the standby take over within one retry.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from maintenance_operator.handlers import metrics
from maintenance_operator.kube import leases
from maintenance_operator.kube.client import ApiError, KubeClient
from maintenance_operator.planning.leases import (
    LeaseRecord,
    Timing,
    acquired,
    may_acquire,
    may_act,
    record_from,
    released,
    renewed,
)

log = logging.getLogger(__name__)


class LostLease(Exception):
    """Someone else holds the Lease now."""


class LeaderElection:
    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        name: str,
        identity: str,
        timing: Timing,
        on_lost: Callable[[str], None],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.timing = timing
        self._on_lost = on_lost
        self._monotonic = monotonic
        self._wall = wall
        self.leading = asyncio.Event()
        self.lost = False
        self.released = False
        self._lease: dict[str, Any] | None = None
        self._last_renewal: float | None = None
        self._seen: tuple[str, float] | None = None  # (resourceVersion, when we saw it change)
        self._releasing: asyncio.Future[None] | None = None
        metrics.leader.set(0)

    @property
    def where(self) -> str:
        return f"Lease {self.namespace}/{self.name}"

    @property
    def state(self) -> str:
        """`leading`, `standby` (not yet, or not again, the holder), `lost` or `released` (both: stopping)."""
        if self.lost or self.released:
            return "lost" if self.lost else "released"
        return "leading" if self.leading.is_set() else "standby"

    def may_write(self) -> bool:
        return self.leading.is_set() and not self.lost and may_act(self._last_renewal, self._monotonic(), self.timing)

    async def run(self) -> None:
        log.info("%s: standing by as %s until the Lease is free", self.where, self.identity)
        while not await self._try_acquire():
            await asyncio.sleep(self.timing.retry_period)
        self.leading.set()
        metrics.leader.set(1)
        log.info("%s: acquired by %s; this replica now acts", self.where, self.identity)
        while not self.released:
            await asyncio.sleep(self.timing.retry_period)
            if self.released:
                return
            assert self._last_renewal is not None
            remaining = self.timing.renew_deadline - (self._monotonic() - self._last_renewal)
            if remaining <= 0:
                self._lose(f"not renewed for {self.timing.renew_deadline:.0f} s")
                return
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that arrives as
                # the renewal completes, and the loop would then outlive its task's cancel().
                async with asyncio.timeout(remaining):
                    await self._renew()
            except LostLease as err:
                self._lose(str(err))
                return
            except (TimeoutError, ApiError, OSError) as err:
                log.warning("%s: renewal failed (%s); retrying", self.where, err or type(err).__name__)

    def _lose(self, why: str) -> None:
        if self.released:  # our own hand-over, not a loss
            return
        self.lost = True
        self.leading.clear()
        metrics.leader.set(0)
        log.error("%s: lost by %s (%s); stopping all work and exiting", self.where, self.identity, why)
        self._on_lost(why)

    async def _try_acquire(self) -> bool:
        try:
            current = await leases.get(self.client, self.namespace, self.name)
            now = self._monotonic()
            if current is None:
                return await self._write(None, acquired(None, self.identity, self.timing, self._wall()))
            record = record_from(current)
            version = str(current["metadata"].get("resourceVersion"))
            if self._seen is None or self._seen[0] != version:
                self._seen = (version, now)
            if not may_acquire(record, self.identity, self._seen[1], now):
                return False
            return await self._write(current, acquired(record, self.identity, self.timing, self._wall()))
        except (ApiError, OSError, TimeoutError) as err:
            log.warning("%s: could not read or take the Lease (%s); retrying", self.where, err)
            return False

    async def _write(self, current: dict[str, Any] | None, record: LeaseRecord) -> bool:
        """Create or replace; False when another candidate wrote first (409)."""
        started = self._monotonic()
        try:
            if current is None:
                self._lease = await leases.create(self.client, self.namespace, self.name, record)
            else:
                self._lease = await leases.replace(self.client, current, record)
        except ApiError as err:
            if err.status == 409:
                return False
            raise
        self._last_renewal = started
        return True

    async def _renew(self) -> None:
        assert self._lease is not None
        if not await self._write(self._lease, renewed(record_from(self._lease), self._wall())):
            current = await leases.get(self.client, self.namespace, self.name)
            if current is None or record_from(current).holder != self.identity:
                holder = record_from(current).holder if current else "nobody (deleted)"
                raise LostLease(f"now held by {holder}")
            self._lease = current  # our own Lease, changed by someone: renew on top of it next time

    async def release(self) -> None:
        """Hand the Lease over at once; only while we still surely hold it. Every call waits for the one release
        (a signal starts it, the cleanup waits for it before the client closes)."""
        if self._releasing is None:
            self._releasing = asyncio.ensure_future(self._release())
        await asyncio.shield(self._releasing)

    async def _release(self) -> None:
        if not self.may_write() or self._lease is None:
            return
        self.released = True
        self.leading.clear()
        metrics.leader.set(0)
        try:
            await leases.replace(self.client, self._lease, released(record_from(self._lease), self._wall()))
            log.info("%s: released by %s", self.where, self.identity)
        except (ApiError, OSError) as err:
            log.warning("%s: could not release the Lease (%s); it expires by itself", self.where, err)
