"""One asyncio task per resource: run a pass, then sleep until the pass's deadline or until woken by an event.

Windows and databases share this: no kopf timers or daemons, no polling; a failing pass is logged and retried
after a back-off instead of killing the task (one broken resource never disturbs the others).
"""

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

ERROR_BACKOFF = 5.0


def resource_version(obj: Mapping[str, Any]) -> int:
    """resourceVersion as a number: etcd revisions, increasing; anything else sorts first."""
    value = str((obj.get("metadata") or {}).get("resourceVersion") or "0")
    return int(value) if value.isdigit() else 0


class TaskLoop(ABC):
    def __init__(self, body: Mapping[str, Any], clock: Callable[[], datetime]) -> None:
        meta = body["metadata"]
        self.namespace: str = meta["namespace"]
        self.name: str = meta["name"]
        self.uid: str = meta["uid"]
        self.body: Mapping[str, Any] = body
        self.clock = clock
        self._status: dict[str, Any] = dict(body.get("status") or {})
        self._written_rv = 0
        self._wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._loop(), name=f"{type(self).__name__} {self.namespace}/{self.name}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def update(self, body: Mapping[str, Any]) -> None:
        self.body = body
        if resource_version(body) >= self._written_rv:
            # An event from before our own last status write would roll the status back.
            self._status = dict(body.get("status") or {})
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    def written(self, obj: Mapping[str, Any], fallback: Mapping[str, Any]) -> None:
        """Record our own status write, so older watch events do not roll it back."""
        self._written_rv = resource_version(obj)
        self._status = dict(obj.get("status") or fallback)

    @abstractmethod
    async def _pass(self) -> datetime | None:
        """One reconcile pass; returns when the next pass is due at the latest (None: only on a change)."""

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                wake_at = await self._pass()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s %s/%s: pass failed; retrying", type(self).__name__, self.namespace, self.name)
                wake_at = self.clock() + timedelta(seconds=ERROR_BACKOFF)
            await self._sleep_until(wake_at)

    async def _sleep_until(self, at: datetime | None) -> None:
        timeout = None if at is None else max(0.0, (at - self.clock()).total_seconds())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
