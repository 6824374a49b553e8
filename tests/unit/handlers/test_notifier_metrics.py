"""The notice webhook's counters, from one batch's delivery loop with the POST and the Secret replaced: what each
kind of attempt counts, and that a batch counts once, as delivered or as given up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from prometheus_client import REGISTRY

from maintenance_operator.api.windows import NoticeWebhook, SecretKeyRef
from maintenance_operator.handlers import metrics, notifier
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.kube import webhook
from maintenance_operator.planning.windows import webhooks
from maintenance_operator.schedule import Occurrence
from tests.unit.planning.factories import pending_workload

NS = "unit-test-notifier"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
HOOK = NoticeWebhook(url="http://127.0.0.1/hook", secret_key_ref=SecretKeyRef(name=webhook.SECRET_NAME, key="k"))


class FakeWindow:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.runtime = cast(Runtime, type("FakeRuntime", (), {"client": None, "clock": staticmethod(clock)}))
        self.namespace, self.name, self.uid = NS, "weekly", "uid-weekly"
        self.events: list[str] = []

    @property
    def involved(self) -> dict[str, str]:
        return {}

    def wake(self) -> None:
        pass

    def event(self, reason: str, message: str, now: datetime, *, warning: bool = False, once: str = "") -> None:
        self.events.append(reason)


def counted(name: str, result: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"namespace": NS, "window": "weekly", "result": result})


@pytest.fixture(autouse=True)
def no_children() -> Iterator[None]:
    """Each test starts without this window's series and leaves none for the others."""
    yield
    for counter, results in (
        (metrics.webhook_attempts, ("accepted", "refused", "error")),
        (metrics.webhook_deliveries, ("delivered", "failed")),
    ):
        for result in results:
            if counted(counter._name + "_total", result) is not None:
                counter.remove(NS, "weekly", result)


async def deliver(
    monkeypatch: pytest.MonkeyPatch,
    answers: list[int | Exception],
    until: timedelta,
    clock: Callable[[], datetime] = lambda: NOW,
) -> FakeWindow:
    """Run one batch's delivery loop to its end, the receiver answering `answers` in turn, without back-off."""

    async def key(*_: Any) -> bytes:
        return b"key"

    async def post(*_: Any, **__: Any) -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def record(*_: Any) -> None:
        pass

    monkeypatch.setattr(webhook, "signing_key", key)
    monkeypatch.setattr(webhook, "post", post)
    monkeypatch.setattr(webhooks, "retry_delay", lambda attempt: 0.0)
    monkeypatch.setattr(notifier.Notifier, "_record", record)
    window = FakeWindow(clock)
    occurrence = Occurrence(start=NOW + timedelta(hours=3), end=NOW + timedelta(hours=4), id="2026-12-01T15:00:00Z")
    batch = notifier.Batch(HOOK, occurrence, "UTC", timedelta(hours=4), [pending_workload()], NOW + until, [])
    await notifier.Notifier(window)._deliver_until(batch)
    return window


async def test_refused_and_failed_attempts_then_a_2xx_count_one_delivered_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = await deliver(monkeypatch, [500, TimeoutError(), 503, 204], until=timedelta(hours=1))
    attempts = "maintenance_notice_webhook_attempts_total"
    assert (counted(attempts, "refused"), counted(attempts, "error"), counted(attempts, "accepted")) == (2, 1, 1)
    deliveries = "maintenance_notice_webhook_deliveries_total"
    assert (counted(deliveries, "delivered"), counted(deliveries, "failed")) == (1, None)
    assert window.events == []


async def test_a_batch_given_up_counts_failed_once_with_its_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every attempt fails and each look at the clock is a second later, so the deadline passes after a few."""
    ticks = iter(range(1, 1000))
    answers: list[int | Exception] = [OSError("connection refused")] * 10
    window = await deliver(monkeypatch, answers, timedelta(seconds=6), lambda: NOW + timedelta(seconds=next(ticks)))
    deliveries = "maintenance_notice_webhook_deliveries_total"
    assert (counted(deliveries, "failed"), counted(deliveries, "delivered")) == (1, None)
    sent = 10 - len(answers)
    assert sent > 0 and counted("maintenance_notice_webhook_attempts_total", "error") == sent
    assert window.events == ["NoticeWebhookFailed"]
