"""MaintenanceWindow end to end: the real operator, the real API server, driven with the real kubectl."""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.workloads import (
    apply,
    deployment,
    events_for,
    get,
    revisions,
    statefulset,
    wait_rolled_out,
    window,
)

pytestmark = pytest.mark.integration

SELECT = {"matchLabels": {"tier": "web"}}
WEB = {"tier": "web"}


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def announce(cluster: LocalCluster, namespace: str, ref: str, reason: str = "security") -> None:
    """Announce maintenance the way users do, after the pods exist (so they do not count as done yet).

    `required-since` has second precision like pod creation times, so it is set one second ahead, and the
    call returns once it has passed: pods created from then on count as replaced after the announcement.
    """
    since_at = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    since = iso(since_at)
    cluster.kubectl(
        "annotate",
        "--overwrite",
        "-n",
        namespace,
        ref,
        f"maintenance.ops.dev/required={reason}",
        f"maintenance.ops.dev/required-since={since}",
    )
    eventually(lambda: datetime.now(UTC) >= since_at + timedelta(seconds=1), what="required-since to pass")


def status_of(cluster: LocalCluster, namespace: str, name: str) -> dict[str, Any]:
    return get(cluster, namespace, f"mw/{name}").get("status") or {}


def run_now(cluster: LocalCluster, namespace: str, name: str) -> None:
    cluster.kubectl("annotate", "-n", namespace, f"mw/{name}", f"maintenance.ops.dev/run-now={iso(datetime.now(UTC))}")


def test_status_shows_next_occurrences_and_follows_spec_changes(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, window("weekly", SELECT, schedule=None))  # the default: Tuesdays 14:00 UTC
    status = eventually(lambda: status_of(cluster, namespace, "weekly").get("nextOccurrences"), what="status")
    starts = [datetime.fromisoformat(o["start"].replace("Z", "+00:00")) for o in status]
    assert len(starts) == 5
    assert all(s.weekday() == 1 and (s.hour, s.minute) == (14, 0) for s in starts), starts
    assert all(b - a == timedelta(days=7) for a, b in itertools.pairwise(starts))
    assert status[0]["id"] == starts[0].strftime("%Y%m%dT%H%MZ")

    table = cluster.kubectl("get", "mw", "-n", namespace).stdout
    assert table.split()[:6] == ["NAME", "SCHEDULE", "ZONE", "NEXT", "OPEN", "PENDING"]
    assert "0 14 * * 2" in table and "UTC" in table

    apply(cluster, namespace, window("weekly", SELECT, schedule="30 2 * * *", timeZone="Europe/Berlin"))

    def moved() -> list[dict[str, Any]] | None:
        occ = status_of(cluster, namespace, "weekly").get("nextOccurrences") or []
        return occ if occ and occ[0]["start"] != status[0]["start"] else None

    daily = eventually(moved, what="recomputed status")
    firsts = [datetime.fromisoformat(o["start"].replace("Z", "+00:00")) for o in daily]
    assert all(b - a <= timedelta(days=1, hours=1) for a, b in itertools.pairwise(firsts))
    assert status_of(cluster, namespace, "weekly")["conditions"][0]["status"] == "True"


def test_run_now_restarts_only_pending_targets_with_concurrency(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(
        cluster,
        namespace,
        deployment("api", WEB, replicas=2),
        deployment("web", WEB, replicas=1),
        statefulset("cache", WEB, replicas=2),
        deployment("calm", WEB, replicas=1),
        deployment("other", {"tier": "batch"}, replicas=1),
    )
    wait_rolled_out(cluster, namespace, "deployment/api", "deployment/web", "statefulset/cache", "deployment/calm")
    for ref, reason in [
        ("deployment/api", "security"),
        ("deployment/web", "hardware"),
        ("statefulset/cache", "feature"),
        ("deployment/other", "security"),
    ]:
        announce(cluster, namespace, ref, reason)
    apply(cluster, namespace, window("weekly", SELECT, concurrency=2))
    eventually(lambda: status_of(cluster, namespace, "weekly").get("pendingCount") == 3, what="3 pending")
    pending = {p["name"]: p for p in status_of(cluster, namespace, "weekly")["pending"]}
    assert pending["web"]["downtimeExpected"] is True and pending["api"]["downtimeExpected"] is False
    assert {p["waiting"] for p in pending.values()} == {"outside-window"}

    run_now(cluster, namespace, "weekly")

    def finished() -> dict[str, Any] | None:
        last = status_of(cluster, namespace, "weekly").get("lastRun") or {}
        return last if last.get("result") == "Succeeded" else None

    last = eventually(finished, timeout=90, what="occurrence finished")
    assert last["restarted"] == 3 and last["failed"] == 0
    occurrence = last["occurrence"]
    for name in ("api", "web"):
        template = get(cluster, namespace, f"deployment/{name}")["spec"]["template"]["metadata"]["annotations"]
        assert template["maintenance.ops.dev/occurrence"] == occurrence
        assert "kubectl.kubernetes.io/restartedAt" in template
        assert revisions(cluster, namespace, name) == 2
        # Events are posted beside the status writes, not before them.
        eventually(lambda n=name: events_for(cluster, namespace, n, "MaintenanceCompleted"), what="event")  # type: ignore[misc]
    sts = get(cluster, namespace, "statefulset/cache")["spec"]["template"]["metadata"]["annotations"]
    assert sts["maintenance.ops.dev/occurrence"] == occurrence
    assert revisions(cluster, namespace, "calm") == 1, "no pending maintenance: not restarted"
    assert revisions(cluster, namespace, "other") == 1, "not selected: not restarted"
    assert status_of(cluster, namespace, "weekly")["pendingCount"] == 0


def test_self_service_restart_is_credited_and_not_repeated(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, deployment("web", WEB, replicas=2))
    wait_rolled_out(cluster, namespace, "deployment/web")
    announce(cluster, namespace, "deployment/web")
    apply(cluster, namespace, window("weekly", SELECT))
    eventually(lambda: status_of(cluster, namespace, "weekly").get("pendingCount") == 1, what="pending")

    cluster.kubectl("rollout", "restart", "-n", namespace, "deployment/web")
    wait_rolled_out(cluster, namespace, "deployment/web")

    def credited() -> dict[str, str] | None:
        annotations = get(cluster, namespace, "deployment/web")["metadata"]["annotations"]
        return annotations if annotations.get("maintenance.ops.dev/completed-by") == "self-service" else None

    eventually(credited, what="self-service recorded")
    event = eventually(lambda: events_for(cluster, namespace, "web", "MaintenanceCompleted"), what="event")
    assert "self-service" in event[0]["message"]
    eventually(lambda: status_of(cluster, namespace, "weekly").get("pendingCount") == 0, what="not pending")

    run_now(cluster, namespace, "weekly")
    eventually(
        lambda: (status_of(cluster, namespace, "weekly").get("lastRun") or {}).get("result") == "Succeeded",
        what="occurrence done",
    )
    assert revisions(cluster, namespace, "web") == 2, "only the user's restart: the window did not restart it again"


def test_redeploy_counts_as_self_service(crds: LocalCluster, namespace: str, operator: OperatorProcess) -> None:
    cluster = crds
    apply(cluster, namespace, deployment("web", WEB, replicas=2))
    wait_rolled_out(cluster, namespace, "deployment/web")
    announce(cluster, namespace, "deployment/web")
    cluster.kubectl("set", "image", "-n", namespace, "deployment/web", "app=registry.invalid/app:2")
    wait_rolled_out(cluster, namespace, "deployment/web")

    def credited() -> bool:
        annotations: dict[str, str] = get(cluster, namespace, "deployment/web")["metadata"]["annotations"]
        return annotations.get("maintenance.ops.dev/completed-by") == "self-service"

    eventually(credited, what="redeploy credited")


def test_notice_once_per_target_and_occurrence(crds: LocalCluster, namespace: str, operator: OperatorProcess) -> None:
    cluster = crds
    apply(cluster, namespace, deployment("single", WEB, replicas=1), deployment("pair", WEB, replicas=2))
    wait_rolled_out(cluster, namespace, "deployment/single", "deployment/pair")
    announce(cluster, namespace, "deployment/single", "security")
    announce(cluster, namespace, "deployment/pair", "hardware")
    apply(cluster, namespace, window("weekly", SELECT, noticeBefore="8d", timeZone="Europe/Berlin"))
    single = eventually(lambda: events_for(cluster, namespace, "single", "MaintenanceScheduled"), what="notice")
    pair = eventually(lambda: events_for(cluster, namespace, "pair", "MaintenanceScheduled"), what="notice")
    # Notices go out before the pass writes the window's status.
    occurrence = eventually(lambda: status_of(cluster, namespace, "weekly").get("nextOccurrences"), what="status")[0]
    message = single[0]["message"]
    assert "security" in message and occurrence["id"] in message and "Europe/Berlin" in message
    assert "Downtime expected" in message and "kubectl maintenance restart deployment/single" in message
    assert "Downtime expected" not in pair[0]["message"]
    eventually(
        lambda: len(events_for(cluster, namespace, "weekly", "MaintenanceScheduled")) == 2, what="two on the window"
    )
    annotations = get(cluster, namespace, "deployment/single")["metadata"]["annotations"]
    assert annotations["maintenance.ops.dev/notice-sent"] == f"{occurrence['id']} 8d=e"  # told at its one lead time

    sent = f'maintenance_notices_total{{namespace="{namespace}",window="weekly"}}'
    assert f"{sent} 2.0" in operator.metrics()

    operator.stop()
    operator.start()
    # The new process exports the window's next start after its notice step: then a pass has run. It sent nothing
    # (its counter has no series; a re-sent notice's Event would only meet a 409, as Events are named by key).
    series = f'maintenance_window_next_start_timestamp_seconds{{namespace="{namespace}",window="weekly"}}'
    eventually(lambda: series in operator.metrics(), what="a pass after the restart")
    assert sent not in operator.metrics()
    assert len(events_for(cluster, namespace, "single", "MaintenanceScheduled")) == 1


def test_invalid_spec_is_reported_and_other_windows_keep_working(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    rejected = cluster.kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        check=False,
        input='{"apiVersion":"maintenance.ops.dev/v1alpha1","kind":"MaintenanceWindow","metadata":{"name":"six"},'
        '"spec":{"schedule":"0 0 14 * * 2","selector":{}}}',
    )
    assert rejected.returncode != 0 and "seconds are not supported" in rejected.stderr

    apply(
        cluster,
        namespace,
        window("zone", SELECT, timeZone="Mars/Olympus_Mons"),
        window("long", SELECT, schedule="@hourly", duration="2h"),
        window("good", SELECT),
    )

    def ready(name: str) -> dict[str, Any] | None:
        conditions = status_of(cluster, namespace, name).get("conditions") or []
        return next((c for c in conditions if c["type"] == "Ready"), None)

    zone = eventually(lambda: ready("zone"), what="zone condition")
    assert zone["status"] == "False" and "Mars/Olympus_Mons" in zone["message"]
    long = eventually(lambda: ready("long"), what="duration condition")
    assert long["status"] == "False" and "duration" in long["message"]
    assert eventually(lambda: ready("good"), what="good window")["status"] == "True"
    warning = eventually(lambda: events_for(cluster, namespace, "zone", "InvalidSpec"), what="warning event")
    assert warning[0]["type"] == "Warning"
    series = f'maintenance_window_invalid{{namespace="{namespace}",window="%s"}} %s'
    eventually(lambda: series % ("zone", "1.0") in operator.metrics(), what="invalid gauge")
    assert series % ("good", "0.0") in operator.metrics()
