"""One asyncio task per resource: run a pass, then sleep until the pass's deadline or until woken by an event.

Windows and databases share this: no kopf timers or daemons, no polling; a failing pass is logged and retried
after a back-off instead of killing the task (one broken resource never disturbs the others).
"""

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from maintenance_operator.api import names
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.kube import events, status
from maintenance_operator.kube.client import ApiError, Forbidden
from maintenance_operator.planning.windows.status import FORBIDDEN, not_ready

log = logging.getLogger(__name__)

ERROR_BACKOFF = 5.0
INVALID = 422
REFUSED = "Refused"  # Ready=False: the API server refused an object the spec makes (its message says which)
STOPS_KEPT = 32  # distinct texts of stopped passes remembered per resource (logged and told once each)


def resource_version(obj: Mapping[str, Any]) -> int:
    """resourceVersion as a number: etcd revisions, increasing; anything else sorts first."""
    value = str((obj.get("metadata") or {}).get("resourceVersion") or "0")
    return int(value) if value.isdigit() else 0


class Recent:
    """A set of the last `size` texts seen (least recently seen dropped first): for texts whose meaning bounds
    nothing, such as the API server's messages."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._texts: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, text: object) -> bool:
        return text in self._texts

    def __len__(self) -> int:
        return len(self._texts)

    def seen(self, text: str) -> bool:
        """Whether `text` was seen among the last `size` (it becomes the most recent either way)."""
        known = text in self._texts
        self._texts[text] = None
        self._texts.move_to_end(text)
        if len(self._texts) > self.size:
            self._texts.popitem(last=False)
        return known


class TaskLoop(ABC):
    kind: str  # of the operator's own resource the task serves
    # While events keep arriving (a thousand rollouts report progress), passes are spaced by this much so that
    # events are taken in batches instead of one O(targets) pass each; a pass due at a boundary is not delayed.
    coalesce_seconds = 0.1

    def __init__(self, runtime: Runtime, body: Mapping[str, Any]) -> None:
        self.runtime = runtime
        self.clock = runtime.clock
        # reason -> the `once` keys told; each caller forgets the keys that can never be presented again (forget_told)
        self._told: dict[str, set[str]] = {}
        self._logged_stops = Recent(STOPS_KEPT)  # why passes stopped (a 403, a 422): the API server's texts
        meta = body["metadata"]
        self.namespace: str = meta.get("namespace") or ""  # "" for a cluster-scoped resource
        self.name: str = meta["name"]
        self.uid: str = meta["uid"]
        self.body: Mapping[str, Any] = body
        self._status: dict[str, Any] = dict(body.get("status") or {})
        self._written_rv = 0
        self._last_status_write = 0.0
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

    @property
    def involved(self) -> dict[str, str]:
        return events.ref(names.API_VERSION, self.kind, self.namespace, self.name, self.uid)

    def event(self, reason: str, message: str, now: datetime, *, warning: bool = False, once: str = "") -> None:
        """An Event about this resource; with `once`, at most one per key (the Event name dedups across restarts)."""
        key = f"{reason}:{once}" if once else ""
        if once:
            told = self._told.setdefault(reason, set())
            if once in told:
                return
            told.add(once)
        self.runtime.spawn(
            events.emit(
                self.runtime.client,
                self.involved,
                reason,
                message,
                now,
                warning=warning,
                key=f"{self.uid}{key}" if key else None,
            )
        )

    def forget_told(self, reason: str, keep: Callable[[str], bool]) -> None:
        """Forget the `once` keys of `reason` that `keep` refuses: only keys that can never be presented again, so
        that forgetting them never lets an Event repeat."""
        told = self._told.get(reason)
        if told is None:
            return
        told.difference_update([k for k in told if not keep(k)])
        if not told:
            del self._told[reason]

    async def write_status(self, new: dict[str, Any], *, min_interval: float = 0.0) -> None:
        """Patch only what differs from the status we know (nothing when equal: idle resources cost no writes).

        With `min_interval`, a change is dropped if the last write was more recent (a busy occurrence writes its
        progress at most that often; the next pass writes the then-current status).
        """
        patch = status.merge_patch(self._status, new)
        if not patch:
            return
        loop_now = asyncio.get_running_loop().time()
        if min_interval and loop_now - self._last_status_write < min_interval:
            return
        written = await status.patch_status(self.runtime.client, self.kind, self.namespace, self.name, patch)
        self._last_status_write = loop_now
        self.written(written, new)

    def written(self, obj: Mapping[str, Any], fallback: Mapping[str, Any]) -> None:
        """Record our own status write, so older watch events do not roll it back."""
        self._written_rv = resource_version(obj)
        self._status = dict(obj.get("status") or fallback)

    def forbidden(self, err: Forbidden, now: datetime) -> str:
        """Log a missing permission once per text; the text, for the resource's condition."""
        if not self._logged_stops.seen(err.message):
            log.error("%s %s/%s: %s", self.kind, self.namespace, self.name, err.message)
        return err.message

    async def _pass_denied(self, err: Forbidden) -> None:
        """A pass stopped by a 403: Ready=False with the permission it lacks, never a silent retry loop."""
        now = self.clock()
        await self._pass_stopped(FORBIDDEN, self.forbidden(err, now), now)

    async def _pass_refused(self, err: ApiError) -> None:
        """A pass stopped by a 422 (an object the spec produces is invalid, e.g. a StatefulSet): Ready=False with
        the API server's own words, since only a spec change can fix it, never a silent retry loop."""
        now = self.clock()
        message = f"the API server refused what the spec asks for: {err}"
        if not self._logged_stops.seen(message):
            log.error("%s %s/%s: %s", self.kind, self.namespace, self.name, message)
        await self._pass_stopped(REFUSED, message, now)

    async def _pass_stopped(self, reason: str, message: str, now: datetime) -> None:
        self.event(reason, message, now, warning=True, once=message)
        # Told once while among the recent stop texts (no meaning bounds the API server's messages).
        self.forget_told(reason, self._logged_stops.__contains__)
        generation = self.body["metadata"].get("generation")
        try:
            await self.write_status(not_ready(self._status, reason, message, now, generation))
        except Forbidden as write_err:  # the status itself may not be patched: the log says so
            self.forbidden(write_err, now)
        except ApiError as write_err:
            log.warning("%s %s/%s: status not written: %s", self.kind, self.namespace, self.name, write_err)

    @abstractmethod
    async def _pass(self) -> datetime | None:
        """One reconcile pass; returns when the next pass is due at the latest (None: only on a change)."""

    async def _loop(self) -> None:
        # A standby keeps the task (and the resource's latest body) but acts only once it leads, and nothing
        # acts before the workload cache is complete.
        await self.runtime.acting.wait()
        while True:
            self._wake.clear()
            try:
                wake_at = await self._pass()
            except asyncio.CancelledError:
                raise
            except Forbidden as err:
                await self._pass_denied(err)
                wake_at = self.clock() + timedelta(seconds=ERROR_BACKOFF)
            except ApiError as err:
                if err.status != INVALID:
                    log.exception("%s %s/%s: pass failed; retrying", type(self).__name__, self.namespace, self.name)
                else:
                    await self._pass_refused(err)
                wake_at = self.clock() + timedelta(seconds=ERROR_BACKOFF)
            except Exception:
                log.exception("%s %s/%s: pass failed; retrying", type(self).__name__, self.namespace, self.name)
                wake_at = self.clock() + timedelta(seconds=ERROR_BACKOFF)
            if self._wake.is_set():
                await asyncio.sleep(self.coalesce_seconds)  # woken during the pass: gather the rest of the burst
            await self._sleep_until(wake_at)

    async def _sleep_until(self, at: datetime | None) -> None:
        timeout = None if at is None else max(0.0, (at - self.clock()).total_seconds())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):  # not wait_for, which can swallow a cancel (Python 3.11)
                await self._wake.wait()
