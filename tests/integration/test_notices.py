"""Advance notices end to end: the real operator, the real API server, a webhook receiver on 127.0.0.1."""

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from maintenance_operator.kube.webhook import SECRET_NAME
from tests.cluster.cluster import LocalCluster
from tests.cluster.prometheus import PrometheusServer
from tests.integration.conftest import ROOT, running, scraping
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.receiver import Answer, Receiver
from tests.integration.test_maintenance_window import SELECT, WEB, announce, status_of
from tests.integration.test_prometheus import settles
from tests.integration.workloads import apply, deployment, events_for, get, wait_rolled_out, window

pytestmark = pytest.mark.integration

NOTICE_SENT = "maintenance.ops.dev/notice-sent"
SCHEMA = json.loads((ROOT / "docs" / "notice-webhook.schema.json").read_text())
KEY = "a-shared-secret-of-the-receiver"
DB = {"tier": "db"}


def annotations(cluster: LocalCluster, namespace: str, ref: str) -> dict[str, str]:
    found: dict[str, str] = get(cluster, namespace, ref)["metadata"].get("annotations") or {}
    return found


def passed_at(cluster: LocalCluster, namespace: str, name: str, generation: int) -> dict[str, Any]:
    """The window's status once a pass of this generation wrote it (its notice step runs before)."""

    def written() -> dict[str, Any] | None:
        status = status_of(cluster, namespace, name)
        return status if status.get("observedGeneration") == generation else None

    return eventually(written, what=f"a pass of generation {generation}")


def test_a_suspended_window_sends_no_notice_until_it_is_unsuspended(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, deployment("web", WEB, replicas=2))
    wait_rolled_out(cluster, namespace, "deployment/web")
    announce(cluster, namespace, "deployment/web")
    apply(cluster, namespace, window("weekly", SELECT, noticeBefore="8d", suspend=True))
    passed_at(cluster, namespace, "weekly", 1)
    assert NOTICE_SENT not in annotations(cluster, namespace, "deployment/web")
    sent = f'maintenance_notices_total{{namespace="{namespace}",window="weekly"}}'
    assert sent not in operator.metrics()
    assert events_for(cluster, namespace, "web", "MaintenanceScheduled") == []

    apply(cluster, namespace, window("weekly", SELECT, noticeBefore="8d", suspend=False))
    occurrence = passed_at(cluster, namespace, "weekly", 2)["nextOccurrences"][0]["id"]
    assert annotations(cluster, namespace, "deployment/web")[NOTICE_SENT].startswith(occurrence)
    notices = eventually(lambda: events_for(cluster, namespace, "web", "MaintenanceScheduled"), what="the notice")
    assert occurrence in notices[0]["message"]


@pytest.fixture
def hooked(
    crds: LocalCluster,
    namespace: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    operator_kubeconfig: Path | None,
) -> Iterator[OperatorProcess]:
    """The operator allowed to call 127.0.0.1 (and nothing else)."""
    args = ["--notice-webhook-allowed-hosts", "127.0.0.1"]
    yield from running(crds, namespace, tmp_path, request, operator_kubeconfig, extra_args=args)


@pytest.fixture
def scraped(hooked: OperatorProcess, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping the `hooked` operator (it keeps scraping the same port across a restart)."""
    yield from scraping(hooked, tmp_path, request)


def in_three_hours() -> dict[str, Any]:
    """A daily window starting about 3 h from now with lead times 4h (passed) and 1h (2 h away)."""
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    return {"schedule": f"{start.minute} {start.hour} * * *", "duration": "1h", "noticeBefore": ["4h", "1h"]}


def hooked_window(name: str, url: str) -> dict[str, Any]:
    hook = {"url": url, "secretKeyRef": {"name": SECRET_NAME, "key": "hmac-key"}}
    return window(name, SELECT, **in_three_hours(), noticeWebhook=hook)


def pending_web(cluster: LocalCluster, namespace: str) -> None:
    cluster.kubectl("create", "secret", "generic", SECRET_NAME, "-n", namespace, f"--from-literal=hmac-key={KEY}")
    apply(cluster, namespace, deployment("web", WEB, replicas=1))
    wait_rolled_out(cluster, namespace, "deployment/web")
    announce(cluster, namespace, "deployment/web")


def checked(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """The notice, after checking it as a receiver must: the signature, and the documented schema."""
    expected = "sha256=" + hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Maintenance-Signature"], expected)
    notice: dict[str, Any] = json.loads(body)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(notice)
    assert headers["X-Maintenance-Delivery"] == notice["id"]
    return notice


def test_the_webhook_is_retried_after_500s_signed_and_recorded_only_after_a_2xx(
    crds: LocalCluster, namespace: str, hooked: OperatorProcess, scraped: PrometheusServer
) -> None:
    cluster = crds
    daily = f'namespace="{namespace}",window="daily"'
    pending_web(cluster, namespace)
    gate = threading.Event()
    with Receiver([Answer(500), Answer(500), Answer(200, gate)]) as receiver:
        apply(cluster, namespace, hooked_window("daily", receiver.url))
        occurrence = passed_at(cluster, namespace, "daily", 1)["nextOccurrences"][0]
        eventually(lambda: receiver.count() == 3, what="two failed attempts and a third")
        # The Events went out at once; the webhook's lead time waits for the 2xx, held back by the receiver.
        assert annotations(cluster, namespace, "deployment/web")[NOTICE_SENT] == f"{occurrence['id']} 4h=e"
        settles(scraped, f'maintenance_notice_webhook_attempts_total{{{daily},result="refused"}}', 2.0)
        assert scraped.value(f"maintenance_notice_webhook_deliveries_total{{{daily}}}") is None
        gate.set()
        eventually(
            lambda: annotations(cluster, namespace, "deployment/web")[NOTICE_SENT] == f"{occurrence['id']} 4h=ew",
            what="the delivery recorded",
        )
        settles(scraped, f'maintenance_notice_webhook_deliveries_total{{{daily},result="delivered"}}', 1.0)
        attempts = f"sum by (result) (maintenance_notice_webhook_attempts_total{{{daily}}})"
        assert {s.labels["result"]: s.value for s in scraped.query(attempts)} == {"refused": 2.0, "accepted": 1.0}
        notices = [checked(r.body, r.headers) for r in receiver.requests]
        assert len({n["id"] for n in notices}) == 1  # one batch, retried
        first = notices[0]
        assert first["window"] == {"namespace": namespace, "name": "daily"}
        assert first["occurrence"]["id"] == occurrence["id"] and first["leadTime"] == "4h"
        assert first["targets"] == [
            {"kind": "Deployment", "name": "web", "reason": "security", "downtimeExpected": True}
        ]
        assert status_of(cluster, namespace, "daily")["conditions"][0]["status"] == "True"

        hooked.stop()
        hooked.start()
        series = f'maintenance_window_next_start_timestamp_seconds{{namespace="{namespace}",window="daily"}}'
        eventually(lambda: series in hooked.metrics(), what="a pass after the restart")
        assert receiver.count() == 3  # recorded: the new process sent nothing
        assert len(events_for(cluster, namespace, "web", "MaintenanceScheduled")) == 1


def test_a_host_the_operator_may_not_call_gets_no_request_and_ready_false(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    """The default operator allows no host at all."""
    cluster = crds
    pending_web(cluster, namespace)
    with Receiver([Answer(200)]) as receiver:
        apply(cluster, namespace, hooked_window("daily", receiver.url))
        ready = passed_at(cluster, namespace, "daily", 1)["conditions"][0]
        assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "NoticeWebhookRefused")
        assert "host '127.0.0.1' is not allowed" in ready["message"] and "(allowed: none)" in ready["message"]
        warned = eventually(lambda: events_for(cluster, namespace, "daily", "NoticeWebhookRefused"), what="Warning")
        assert warned[0]["type"] == "Warning"
        occurrence = status_of(cluster, namespace, "daily")["nextOccurrences"][0]["id"]
        assert annotations(cluster, namespace, "deployment/web")[NOTICE_SENT] == f"{occurrence} 4h=e"  # Events: yes
        assert receiver.count() == 0


def test_a_receiver_that_never_answers_blocks_nothing_and_is_retried(
    crds: LocalCluster, namespace: str, hooked: OperatorProcess, scraped: PrometheusServer
) -> None:
    cluster = crds
    pending_web(cluster, namespace)
    apply(cluster, namespace, deployment("db", DB, replicas=2))
    wait_rolled_out(cluster, namespace, "deployment/db")
    announce(cluster, namespace, "deployment/db")
    with Receiver([Answer(None)]) as receiver:
        apply(
            cluster,
            namespace,
            hooked_window("silent", receiver.url),
            window("other", {"matchLabels": DB}, **in_three_hours()),
        )
        occurrence = passed_at(cluster, namespace, "silent", 1)["nextOccurrences"][0]["id"]
        eventually(lambda: receiver.count() == 1, what="the first attempt")
        passed_at(cluster, namespace, "other", 1)
        # Each attempt may take 10 s: everything else was done while the first one hangs.
        assert receiver.count() == 1
        assert annotations(cluster, namespace, "deployment/web")[NOTICE_SENT] == f"{occurrence} 4h=e"
        assert annotations(cluster, namespace, "deployment/db")[NOTICE_SENT] == f"{occurrence} 4h=e"
        eventually(lambda: receiver.count() == 2, timeout=40, what="a retry after the attempt timed out")
        assert annotations(cluster, namespace, "deployment/web")[NOTICE_SENT] == f"{occurrence} 4h=e"
        silent = f'namespace="{namespace}",window="silent"'
        settles(scraped, f'maintenance_notice_webhook_attempts_total{{{silent},result="error"}} > bool 0', 1.0)
        assert scraped.value(f"maintenance_notice_webhook_deliveries_total{{{silent}}}") is None
        for r in receiver.requests:
            checked(r.body, r.headers)


def test_lead_times_at_admission_and_in_the_condition(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    doc = {**window("bad", SELECT), "spec": {"selector": {}, "noticeBefore": ["24h", "tomorrow"]}}
    refused = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(doc), check=False)
    assert refused.returncode != 0 and "noticeBefore[1]" in refused.stderr, refused.stderr
    too_many = {**doc, "spec": {"selector": {}, "noticeBefore": [f"{h}h" for h in range(1, 12)]}}
    refused = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(too_many), check=False)
    assert refused.returncode != 0 and "must have at most 10 items" in refused.stderr, refused.stderr

    apply(
        cluster, namespace, window("number", SELECT, noticeBefore=5), window("list", SELECT, noticeBefore=["8d", "1h"])
    )
    ready = passed_at(cluster, namespace, "number", 1)["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert "spec.noticeBefore: Value error, must be a duration such as '72h' or a list of them" in ready["message"]
    assert passed_at(cluster, namespace, "list", 1)["conditions"][0]["status"] == "True"
