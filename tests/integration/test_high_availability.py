"""Two operator replicas against the real cluster: one leader, a warm standby, and take-overs that repeat nothing.

Who wrote what is read from the API server's audit log (each replica has its own User-Agent), outcomes from
ReplicaSets, VolumeSnapshots and Events, never from the operator's word.
"""

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster, SnapshotStack
from tests.cluster.snapshots import component_stopped
from tests.integration.conftest import FAILED
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_backup_window import backed_up, backup_window, snapshots_of
from tests.integration.test_backup_window import last_run as backup_last_run
from tests.integration.test_backup_window import run_now as backup_run_now
from tests.integration.test_maintenance_rollouts import last_run, occurrence_of
from tests.integration.test_maintenance_window import SELECT, WEB, announce, run_now, status_of
from tests.integration.test_managed_database import ready
from tests.integration.workloads import apply, deployment, events_for, get, revisions, wait_rolled_out, window

pytestmark = pytest.mark.integration

LEASE_DURATION = 15.0  # the operator's default


def received(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["requestReceivedTimestamp"].replace("Z", "+00:00"))


class Pair:
    """Replica `a` started first and leading, `b` its standby."""

    def __init__(self, cluster: LocalCluster, namespace: str, tmp_path: Path, kubeconfig: Path | None) -> None:
        self.cluster = cluster
        self.namespace = namespace
        log, ns = tmp_path, namespace
        self.a = OperatorProcess(cluster, [ns], log / "a.log", identity=f"{ns}-a", kubeconfig=kubeconfig)
        self.b = OperatorProcess(cluster, [ns], log / "b.log", identity=f"{ns}-b", kubeconfig=kubeconfig)

    def lease(self) -> dict[str, Any]:
        spec: dict[str, Any] = get(self.cluster, self.namespace, "lease/maintenance-operator")["spec"]
        return spec

    def writes(self, replica: OperatorProcess) -> list[dict[str, Any]]:
        return self.cluster.audit_writes(replica.user_agent)


@pytest.fixture
def pair(
    crds: LocalCluster,
    namespace: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    operator_kubeconfig: Path | None,
) -> Iterator[Pair]:
    p = Pair(crds, namespace, tmp_path, operator_kubeconfig)
    p.a.start()
    eventually(p.a.is_leader, timeout=30, what="a leads")
    p.b.start()
    eventually(p.b.cache_synced, timeout=30, what="b's cache")
    try:
        yield p
    finally:
        for replica in (p.a, p.b):
            replica.stop()
        if request.node.stash.get(FAILED, False):
            for replica in (p.a, p.b):
                print(f"--- {replica.identity} ---\n{replica.log_text()[-15000:]}")


def test_the_standby_finishes_an_occurrence_after_the_leader_is_killed(pair: Pair) -> None:
    cluster, ns = pair.cluster, pair.namespace
    names = [f"app-{i:02d}" for i in range(12)]
    apply(cluster, ns, *(deployment(n, WEB, replicas=2) for n in names))
    wait_rolled_out(cluster, ns, *(f"deployment/{n}" for n in names))
    for n in names:
        announce(cluster, ns, f"deployment/{n}")
    apply(cluster, ns, window("weekly", SELECT, concurrency=3))
    eventually(lambda: status_of(cluster, ns, "weekly").get("pendingCount") == 12, what="12 pending")
    assert pair.writes(pair.b) == [], "a standby never writes"

    run_now(cluster, ns, "weekly")
    eventually(
        lambda: sum(1 for n in names if occurrence_of(cluster, ns, f"deployment/{n}")) >= 3,
        timeout=60,
        what="the first restarts",
    )
    pair.a.kill()
    done_before = [n for n in names if occurrence_of(cluster, ns, f"deployment/{n}")]
    assert len(done_before) < len(names), "the kill must land in the middle of the occurrence"
    assert pair.writes(pair.b) == [], "a standby never writes"

    eventually(pair.b.is_leader, timeout=LEASE_DURATION + 15, what="b takes over")
    last = eventually(lambda: last_run(cluster, ns, "weekly", "Succeeded"), timeout=180, what="finished")
    assert last["restarted"] == 12
    assert {occurrence_of(cluster, ns, f"deployment/{n}") for n in names} == {last["occurrence"]}
    assert [revisions(cluster, ns, n) for n in names] == [2] * 12, "each restarted exactly once"
    for n in names:
        completed = eventually(lambda n=n: events_for(cluster, ns, n, "MaintenanceCompleted"), what=f"{n} told")  # type: ignore[misc]
        assert len(completed) == 1 and completed[0].get("count", 1) == 1, f"{n}: one MaintenanceCompleted Event"
    acquired = datetime.fromisoformat(pair.lease()["acquireTime"].replace("Z", "+00:00"))
    assert pair.lease()["holderIdentity"] == pair.b.identity
    assert all(received(e) >= acquired for e in pair.writes(pair.b)), "b wrote nothing before it led"


def test_sigterm_hands_over_at_once(pair: Pair) -> None:
    cluster, ns = pair.cluster, pair.namespace
    apply(cluster, ns, deployment("web", WEB))
    wait_rolled_out(cluster, ns, "deployment/web")
    terminated = time.monotonic()
    pair.a.signal(signal.SIGTERM)
    assert pair.a.exit_code(timeout=30) == 0
    eventually(pair.b.is_leader, timeout=LEASE_DURATION + 15, what="b takes over")
    waited = time.monotonic() - terminated
    # Released, not expired: an expired Lease could not be taken before its 15 s.
    assert waited < LEASE_DURATION, f"the standby waited {waited:.1f} s: the Lease was not released"
    assert pair.lease()["holderIdentity"] == pair.b.identity
    # And b acts: an announcement without a time gets its required-since from b.
    cluster.kubectl("annotate", "-n", ns, "deployment/web", "maintenance.ops.dev/required=security")
    eventually(
        lambda: get(cluster, ns, "deployment/web")["metadata"]["annotations"].get("maintenance.ops.dev/required-since"),
        what="required-since stamped by the new leader",
    )
    assert any(e["objectRef"].get("name") == "web" for e in pair.writes(pair.b))


def test_a_frozen_leader_writes_nothing_after_it_resumes_and_exits(pair: Pair) -> None:
    cluster, ns = pair.cluster, pair.namespace
    apply(cluster, ns, deployment("web", WEB), window("weekly", SELECT))
    wait_rolled_out(cluster, ns, "deployment/web")
    eventually(lambda: status_of(cluster, ns, "weekly").get("nextOccurrences"), what="window status by a")
    pair.a.signal(signal.SIGSTOP)
    try:
        eventually(pair.b.is_leader, timeout=LEASE_DURATION + 15, what="b takes over from the frozen a")
        # Work for a to find in its watch backlog when it runs again: each would be a write.
        cluster.kubectl("annotate", "-n", ns, "deployment/web", "maintenance.ops.dev/required=security")
        apply(cluster, ns, window("nightly", SELECT, schedule="0 2 * * *"))
        eventually(lambda: status_of(cluster, ns, "nightly").get("nextOccurrences"), what="b serves the new window")
        eventually(
            lambda: get(cluster, ns, "deployment/web")["metadata"]["annotations"].get(
                "maintenance.ops.dev/required-since"
            ),
            what="b stamped the announcement",
        )
        resumed = datetime.now(UTC)
    finally:
        pair.a.signal(signal.SIGCONT)
    code = pair.a.exit_code(timeout=60)
    assert code != 0, "a leader that lost its Lease exits non-zero"
    after = [e for e in pair.writes(pair.a) if received(e) >= resumed]
    assert after == [], f"writes after resuming: {[(e['verb'], e['objectRef']) for e in after]}"
    assert "lost by" in pair.a.log_text()


def test_the_standby_finishes_a_backup_occurrence_without_a_second_snapshot(
    crds: LocalCluster, snapshot_stack: SnapshotStack, namespace: str, pair: Pair
) -> None:
    cluster, ns = crds, namespace
    dbs = ["orders", "users", "carts"]
    apply(cluster, ns, *(backed_up(db) for db in dbs), backup_window())
    for db in dbs:
        eventually(lambda d=db: ready(cluster, ns, d, "16.4"), timeout=120, what=f"{db} ready")  # type: ignore[misc]
    with component_stopped(cluster, "csi-snapshotter"):  # snapshots stay in progress: the occurrence is mid-way
        backup_run_now(cluster, ns)
        for db in dbs:
            eventually(lambda d=db: snapshots_of(cluster, ns, d), timeout=60, what=f"snapshot of {db} created")  # type: ignore[misc]
        pair.a.kill()
        eventually(pair.b.is_leader, timeout=LEASE_DURATION + 15, what="b takes over")
    done = eventually(lambda: backup_last_run(cluster, ns, "Succeeded"), timeout=180, what="the run completes")
    assert done["snapshots"] == 3
    for db in dbs:
        snaps = snapshots_of(cluster, ns, db)
        assert len(snaps) == 1, f"{db}: exactly one snapshot, got {[s['metadata']['name'] for s in snaps]}"
        assert snaps[0]["metadata"]["labels"]["maintenance.ops.dev/occurrence"] == done["occurrence"]
    assert all(
        e["objectRef"].get("resource") != "volumesnapshots" or e["verb"] != "create" for e in pair.writes(pair.b)
    )
