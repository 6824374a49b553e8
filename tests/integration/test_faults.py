"""Faults injected into the operator and its control plane while occurrences run (issue 13, design.md's
reliability targets). Outcomes are counted from the cluster: ReplicaSets and ControllerRevisions per target, the
windows' status and VolumeSnapshots, never from the operator's word.

`--fault-seed N` replays the random kill instants of a failed run (the seed is printed at the start).
"""

import random
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster
from tests.cluster.faults import frozen, launches, restart_component, revive, wait_api_ready
from tests.integration.conftest import FAILED
from tests.integration.credentials import install_rbac, serviceaccount_kubeconfig
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_rollouts import last_run, occurrence_of
from tests.integration.test_maintenance_window import SELECT, WEB, iso, status_of
from tests.integration.workloads import (
    apply,
    controller_revisions,
    deployment,
    revisions,
    statefulset,
    wait_rolled_out,
    window,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The run's seed: given with --fault-seed, else drawn; printed so that a failure can be replayed."""
    chosen: int | None = request.config.getoption("--fault-seed")
    value = chosen if chosen is not None else random.SystemRandom().randrange(2**32)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n[faults] {request.node.name}: --fault-seed {value}", flush=True)
    return value


def announce_all(cluster: LocalCluster, namespace: str, refs: list[str]) -> None:
    """Announce maintenance on every target in one call (as test_maintenance_window.announce does for one): the
    pods exist before `required-since`, and the call returns once it has passed."""
    since_at = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    cluster.kubectl(
        "annotate",
        "--overwrite",
        "-n",
        namespace,
        *refs,
        "maintenance.ops.dev/required=security",
        f"maintenance.ops.dev/required-since={iso(since_at)}",
    )
    eventually(lambda: datetime.now(UTC) >= since_at + timedelta(seconds=1), what="required-since to pass")


def run_now_again(cluster: LocalCluster, namespace: str, name: str) -> None:
    """run-now with a fresh time each occurrence (ad-hoc occurrence ids have second precision)."""
    stamp = iso(datetime.now(UTC))
    cluster.kubectl("annotate", "--overwrite", "-n", namespace, f"mw/{name}", f"maintenance.ops.dev/run-now={stamp}")


def last_run_of(cluster: LocalCluster, namespace: str, name: str) -> dict[str, Any]:
    last: dict[str, Any] = status_of(cluster, namespace, name).get("lastRun") or {}
    return last


class Counts:
    """Pod templates each target has had: ReplicaSets of a Deployment, ControllerRevisions of a StatefulSet."""

    def __init__(self, cluster: LocalCluster, namespace: str, deployments: list[str], statefulsets: list[str]):
        self.cluster, self.namespace = cluster, namespace
        self.deployments, self.statefulsets = deployments, statefulsets

    def now(self) -> dict[str, int]:
        counts = {d: revisions(self.cluster, self.namespace, d) for d in self.deployments}
        counts |= {s: controller_revisions(self.cluster, self.namespace, s) for s in self.statefulsets}
        return counts

    def refs(self) -> list[str]:
        return [f"deployment/{d}" for d in self.deployments] + [f"statefulset/{s}" for s in self.statefulsets]


OCCURRENCES = 4
KILLS_PER_OCCURRENCE = 6
MIN_KILLS = 20


def test_seeded_random_sigkills_restart_every_target_exactly_once_per_occurrence(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, seed: int
) -> None:
    """SIGKILL at random instants (a seeded delay after each start), 4 occurrences of 12 targets, concurrency 3."""
    cluster, rng = crds, random.Random(seed)
    counts = Counts(cluster, namespace, [f"app-{i:02d}" for i in range(10)], ["db-0", "db-1"])
    # minReadySeconds makes each rollout last a few seconds, so an occurrence spans several kills.
    apply(cluster, namespace, *(deployment(d, WEB, replicas=2, minReadySeconds=2) for d in counts.deployments))
    sets = [statefulset(s, WEB) for s in counts.statefulsets]
    for sts in sets:
        sts["spec"]["minReadySeconds"] = 2
    apply(cluster, namespace, *sets)
    wait_rolled_out(cluster, namespace, *counts.refs())
    apply(cluster, namespace, window("weekly", SELECT, concurrency=3))
    kills = mid_occurrence = 0
    for round_ in range(OCCURRENCES):
        before = counts.now()
        previous = last_run_of(cluster, namespace, "weekly").get("occurrence")
        announce_all(cluster, namespace, counts.refs())
        run_now_again(cluster, namespace, "weekly")
        for _ in range(KILLS_PER_OCCURRENCE):
            # The fault's instant is the seeded input, not a wait for some state: hence a plain sleep.
            time.sleep(rng.uniform(0.0, 2.5))
            last = last_run_of(cluster, namespace, "weekly")
            running = last.get("occurrence") == previous or last.get("result") != "Succeeded"
            operator.kill()
            kills += 1
            mid_occurrence += running
            operator.start()

        def finished(prior: object = previous) -> dict[str, Any] | None:
            last = last_run_of(cluster, namespace, "weekly")
            # An ad-hoc occurrence stays open an hour: a target the operator saw announced late is still restarted.
            new = last.get("occurrence") != prior and last.get("restarted") == 12
            return last if new and last.get("result") == "Succeeded" else None

        last = eventually(finished, timeout=120, what=f"occurrence {round_ + 1} to succeed")
        assert last["restarted"] == 12 and last["failed"] == 0, last
        for ref in counts.refs():
            assert occurrence_of(cluster, namespace, ref) == last["occurrence"], ref
        wait_rolled_out(cluster, namespace, *counts.refs())
        after = counts.now()
        assert {t: after[t] - before[t] for t in after} == dict.fromkeys(after, 1), (
            f"occurrence {round_ + 1} (--fault-seed {seed}): each target restarted exactly once"
        )
        assert status_of(cluster, namespace, "weekly")["pendingCount"] == 0, "none left behind"
    print(f"[faults] {kills} SIGKILLs, {mid_occurrence} of them while an occurrence was unfinished")
    assert kills >= MIN_KILLS
    assert mid_occurrence >= OCCURRENCES, f"too few kills landed mid-occurrence (--fault-seed {seed})"


# Control-plane faults break every test sharing a cluster: these have one of their own. ---------------------------


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCluster, Path]]:
    """A cluster for this module's control-plane faults, with the CRDs and the operator's ServiceAccount."""
    with LocalCluster(nodes=1) as cluster:
        cluster.install_crds()
        install_rbac(cluster)
        yield cluster, serviceaccount_kubeconfig(cluster, tmp_path_factory.mktemp("own") / "kubeconfig.json")


@pytest.fixture
def ns(own: tuple[LocalCluster, Path]) -> str:
    name = f"faults-{secrets.token_hex(3)}"
    own[0].create_namespace(name)
    return name


def own_operator(
    own: tuple[LocalCluster, Path], ns: str, tmp_path: Path, request: pytest.FixtureRequest, *args: str
) -> Iterator[OperatorProcess]:
    proc = OperatorProcess(own[0], [ns], tmp_path / "operator.log", kubeconfig=own[1], extra_args=list(args))
    with proc:
        yield proc
    if request.node.stash.get(FAILED, False):
        print(f"--- operator log ---\n{proc.log_text()[-20000:]}")


def started_occurrence(cluster: LocalCluster, namespace: str, count: int) -> list[str]:
    """`count` pending Deployments whose rollouts last a few seconds, and a run-now occurrence that has begun."""
    names = [f"app-{i}" for i in range(count)]
    apply(cluster, namespace, *(deployment(n, WEB, replicas=2, minReadySeconds=2) for n in names))
    wait_rolled_out(cluster, namespace, *(f"deployment/{n}" for n in names))
    announce_all(cluster, namespace, [f"deployment/{n}" for n in names])
    apply(cluster, namespace, window("weekly", SELECT, concurrency=2))
    eventually(lambda: status_of(cluster, namespace, "weekly").get("pendingCount") == count, what="all pending")
    run_now_again(cluster, namespace, "weekly")
    eventually(lambda: occurrence_of(cluster, namespace, f"deployment/{names[0]}"), timeout=60, what="a restart")
    return names


def completed_exactly_once(cluster: LocalCluster, namespace: str, names: list[str], operator: OperatorProcess) -> None:
    last = eventually(lambda: last_run(cluster, namespace, "weekly", "Succeeded"), timeout=180, what="success")
    assert last["restarted"] == len(names) and last["failed"] == 0, last
    assert {occurrence_of(cluster, namespace, f"deployment/{n}") for n in names} == {last["occurrence"]}
    wait_rolled_out(cluster, namespace, *(f"deployment/{n}" for n in names))
    assert [revisions(cluster, namespace, n) for n in names] == [2] * len(names), "each restarted exactly once"
    # Tracebacks in its log are kopf's retries of refused connections, logged and retried: not crashes.
    assert operator.proc is not None and operator.proc.poll() is None, "the operator kept running"


EXPIRED = "resourceVersion expired; relisting"

FREEZE = 70.0  # seconds: longer than the client's 60 s for a request (kube/client.py); kopf's watches have none
LONG_LEASE = ("--lease-duration", "150", "--renew-deadline", "120")  # outlives the freeze: the same process resumes


@pytest.fixture
def patient_operator(
    own: tuple[LocalCluster, Path], ns: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OperatorProcess]:
    """Its Lease outlasts the outage, so the same process (and its watches) lives through it. With the default
    10 s renew deadline a longer outage makes the leader exit 1 by design; a new process relists, as after a SIGKILL."""
    yield from own_operator(own, ns, tmp_path, request, *LONG_LEASE)


@pytest.mark.parametrize("component", ["kube-apiserver", "etcd"])
def test_control_plane_restart_mid_occurrence_repeats_nothing(
    own: tuple[LocalCluster, Path], ns: str, patient_operator: OperatorProcess, component: str
) -> None:
    cluster = own[0]
    names = started_occurrence(cluster, ns, 6)
    before = launches(cluster)
    restart_component(cluster, component)
    wait_api_ready(cluster)
    revive(cluster, before)
    completed_exactly_once(cluster, ns, names, patient_operator)
    expired = patient_operator.log_text().count(EXPIRED)
    print(f"[faults] {component}: {expired} watches expired (410) and relisted")
    if component == "kube-apiserver":
        # A new API server's watch cache starts at etcd's current revision, which the Lease renewals moved past the
        # informers' last resourceVersion: resuming from it is a real 410 Gone, answered by a relist.
        assert expired >= 1, "the restart should have expired the workload watches"


def test_a_frozen_api_server_past_the_client_timeouts_repeats_nothing(
    own: tuple[LocalCluster, Path], ns: str, patient_operator: OperatorProcess
) -> None:
    cluster = own[0]
    names = started_occurrence(cluster, ns, 6)
    before = launches(cluster)
    with frozen(cluster, "kube-apiserver"):
        # The fault's length is the input, not a wait for some state: hence a plain sleep.
        time.sleep(FREEZE)
    wait_api_ready(cluster)
    # The controller-manager and the scheduler lost their Leases: without them nothing would roll out.
    print(f"[faults] components restarted after the freeze: {revive(cluster, before)}")
    completed_exactly_once(cluster, ns, names, patient_operator)
