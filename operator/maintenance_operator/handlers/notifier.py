"""A MaintenanceWindow's advance notices: Events per lead time and target, and the signed webhook, delivered at
least once.

The window's pass calls `notices()`: Events go out at once (and are recorded on the target), webhook batches go
to a task of their own, so a pass never waits for a receiver. A batch is retried with back-off until its lead
time is superseded by the next one (or the occurrence starts); each target's record gets the lead time only after
a 2xx. A crash between the 2xx and the record resends the batch (same delivery id): at least once, never lost.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import aiohttp

from maintenance_operator import schedule as sched
from maintenance_operator.api import names
from maintenance_operator.api.notices import NoticePayload, NoticeTarget, OccurrenceTimes, WindowRef
from maintenance_operator.api.windows import MaintenanceWindowSpec, NoticeWebhook
from maintenance_operator.handlers import metrics
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.kube import events, webhook, workloads
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows import notices as planning
from maintenance_operator.planning.windows import restarts, webhooks

log = logging.getLogger(__name__)


class Window(Protocol):
    runtime: Runtime
    namespace: str
    name: str
    uid: str

    @property
    def involved(self) -> dict[str, str]: ...

    def wake(self) -> None: ...

    def event(self, reason: str, message: str, now: datetime, *, warning: bool = False, once: str = "") -> None: ...


class Notifier:
    def __init__(self, window: Window) -> None:
        self.window = window
        self.runtime = window.runtime
        # Our writes the cache may not show yet, for the announced occurrence only (cleared when it changes).
        self._written: dict[planning.Key, planning.NoticeRecord] = {}
        self._occurrence: str | None = None
        self._write_lock = asyncio.Lock()  # one record write at a time: none overwrites another's lead times
        self._deliveries: dict[tuple[str, timedelta], asyncio.Task[None]] = {}
        self._delivering: dict[tuple[str, timedelta], frozenset[planning.Key]] = {}
        self.secret_problem: str | None = None  # set by a delivery that could not read the signing key

    async def stop(self) -> None:
        tasks = list(self._deliveries.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def host_problem(self, spec: MaintenanceWindowSpec) -> str | None:
        if spec.notice_webhook is None:
            return None
        return webhooks.host_problem(spec.notice_webhook.url, self.runtime.notice_hosts)

    async def notices(
        self,
        spec: MaintenanceWindowSpec,
        ws: sched.WindowSchedule,
        occurrence: sched.Occurrence | None,
        policy: restarts.Policy,
        targets: list[Workload],
        now: datetime,
    ) -> datetime | None:
        """Send what is due for `occurrence` (None: nothing to announce now); return when the next is due."""
        if occurrence is None:
            return None
        if occurrence.id != self._occurrence:
            self._occurrence = occurrence.id
            self._written.clear()
        leads = spec.lead_times()
        hook = spec.notice_webhook if self.host_problem(spec) is None else None
        delivering = frozenset(k for keys in self._delivering.values() for k in keys)
        plan = planning.plan_notices(
            targets,
            occurrence.id,
            occurrence.start,
            leads,
            policy,
            now,
            webhook=hook is not None,
            written=self._written,
            delivering=delivering,
        )
        if plan.lead is None:
            return plan.next_due
        for w in plan.tell:
            await self._record(w, plan.records[w.key].with_told(plan.lead), leads)
            self._tell(w, occurrence, ws, plan.lead, now)
        if plan.tell:
            metrics.notices.labels(self.window.namespace, self.window.name).inc(len(plan.tell))
        if hook is not None and plan.deliver and plan.deliver_until is not None:
            self._deliver(Batch(hook, occurrence, ws.zone.key, plan.lead, plan.deliver, plan.deliver_until, leads))
        return plan.next_due

    async def _record(self, w: Workload, record: planning.NoticeRecord, leads: list[timedelta]) -> None:
        async with self._write_lock:
            cached = self.runtime.workload(w.kind, w.namespace, w.name)
            seen = planning.parse_record(cached.notice_sent if cached is not None else w.notice_sent)
            record = planning.merge(record.occurrence, record, self._written.get(w.key), seen)
            self._written[w.key] = record
            value = planning.format_record(record, leads)
            await workloads.annotate(
                self.runtime.client, w.kind, w.namespace, w.name, {names.ANNOTATION_NOTICE_SENT: value}
            )

    def _tell(
        self, w: Workload, occurrence: sched.Occurrence, ws: sched.WindowSchedule, lead: timedelta, now: datetime
    ) -> None:
        zone = ws.zone
        start, end = occurrence.start, occurrence.end
        local = f"{start.astimezone(zone):%Y-%m-%d %H:%M}-{end.astimezone(zone):%H:%M %Z}"
        reason = w.required or "policy: Always"
        downtime = " Downtime expected: it runs a single instance." if w.downtime_expected else ""
        downtime = self.runtime.announced_by(w) + downtime
        message = (
            f"{w.ref} will be restarted for maintenance ({reason}) in window {self.window.name} occurrence "
            f"{occurrence.id}: {format_time(start)}-{format_time(end)} UTC ({local} {zone.key}).{downtime} To do "
            f"it earlier yourself: kubectl maintenance restart {w.ref} -n {w.namespace} (or any rollout)."
        )
        involved = events.ref("apps/v1", w.kind, w.namespace, w.name, w.uid)
        client = self.runtime.client
        key = f"notice{w.uid}{occurrence.id}{sched.format_duration(lead)}"
        self.runtime.spawn(events.emit(client, involved, "MaintenanceScheduled", message, now, key=key))
        self.runtime.spawn(
            events.emit(client, self.window.involved, "MaintenanceScheduled", message, now, key=f"{key}w")
        )

    # -- the webhook -------------------------------------------------------------------------------------------
    def _deliver(self, batch: "Batch") -> None:
        slot = (batch.occurrence.id, batch.lead)
        if slot in self._deliveries:
            return  # one batch per lead time at a time; targets that joined since go in the next one
        self._delivering[slot] = frozenset(w.key for w in batch.targets)
        task = asyncio.create_task(
            self._deliver_until(batch),
            name=f"notice webhook {self.window.namespace}/{self.window.name} {slot[0]} {batch.lead}",
        )
        self._deliveries[slot] = task

        def done(finished: asyncio.Task[None]) -> None:
            if not finished.cancelled() and finished.exception() is not None:
                log.warning("notice webhook delivery stopped: %s", finished.exception())
            self._deliveries.pop(slot, None)
            self._delivering.pop(slot, None)
            self.window.wake()  # a pass sends what joined meanwhile, or shows a Secret problem

        task.add_done_callback(done)

    def _payload(self, batch: "Batch") -> NoticePayload:
        occurrence = batch.occurrence
        return NoticePayload(
            id=webhooks.delivery_id(self.window.uid, occurrence.id, batch.lead, [w.uid for w in batch.targets]),
            window=WindowRef(namespace=self.window.namespace, name=self.window.name),
            occurrence=OccurrenceTimes(
                id=occurrence.id, start=occurrence.start, end=occurrence.end, time_zone=batch.zone
            ),
            lead_time=sched.format_duration(batch.lead),
            targets=[
                NoticeTarget(
                    kind=w.kind,
                    name=w.name,
                    reason=w.required or "policy: Always",
                    downtime_expected=w.downtime_expected,
                )
                for w in batch.targets
            ],
            sent_at=self.runtime.clock().replace(microsecond=0),
        )

    async def _deliver_until(self, batch: "Batch") -> None:
        where = f"notice webhook of {names.MAINTENANCE_WINDOW} {self.window.namespace}/{self.window.name}"
        attempts = 0
        while (left := (batch.until - self.runtime.clock()).total_seconds()) > 0:
            attempts += 1
            result, outcome = await self._attempt(batch, min(left, webhook.ATTEMPT_TIMEOUT))
            metrics.webhook_attempts.labels(self.window.namespace, self.window.name, result).inc()
            if outcome is None:
                for w in batch.targets:
                    await self._record(
                        w, planning.NoticeRecord(batch.occurrence.id).with_delivered(batch.lead), batch.leads
                    )
                metrics.webhook_deliveries.labels(self.window.namespace, self.window.name, "delivered").inc()
                log.info(
                    "%s: delivered %s for %d targets", where, sched.format_duration(batch.lead), len(batch.targets)
                )
                return
            delay = webhooks.retry_delay(attempts)
            log.warning("%s: attempt %d failed (%s); retrying in %.0f s", where, attempts, outcome, delay)
            if (batch.until - self.runtime.clock()).total_seconds() <= delay:
                break
            await asyncio.sleep(delay)
        message = (
            f"notice webhook gave up on the {sched.format_duration(batch.lead)} notice of occurrence "
            f"{batch.occurrence.id} after {attempts} attempts: no 2xx before {format_time(batch.until)}"
        )
        metrics.webhook_deliveries.labels(self.window.namespace, self.window.name, "failed").inc()
        log.warning("%s: %s", where, message)
        self.window.event("NoticeWebhookFailed", message, self.runtime.clock(), warning=True)

    async def _attempt(self, batch: "Batch", timeout: float) -> tuple[str, str | None]:
        """The attempt's metric result, and None when the receiver acknowledged with a 2xx, else what went wrong."""
        ref = batch.hook.secret_key_ref
        try:
            key = await webhook.signing_key(self.runtime.client, self.window.namespace, ref.name, ref.key)
        except webhook.WebhookSecretError as err:
            if self.secret_problem != str(err):
                self.secret_problem = str(err)
                self.window.wake()
            return "error", str(err)
        if self.secret_problem is not None:
            self.secret_problem = None
            self.window.wake()
        payload = self._payload(batch)
        try:
            status = await webhook.post(batch.hook.url, payload.body(), key, payload.id, timeout)
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            return "error", f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        return ("accepted", None) if 200 <= status < 300 else ("refused", f"HTTP {status}")


@dataclass(frozen=True)
class Batch:
    """The targets told at one lead time of one occurrence, delivered together until `until`."""

    hook: NoticeWebhook
    occurrence: sched.Occurrence
    zone: str
    lead: timedelta
    targets: list[Workload]
    until: datetime
    leads: list[timedelta]
