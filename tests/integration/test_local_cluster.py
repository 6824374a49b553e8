"""The local cluster behaves like a real one where the operator depends on it, driven by the real kubectl.

These prove the test platform itself: rollouts complete on fake nodes, RBAC is enforced, volumes bind
and VolumeSnapshots work end to end, two clusters coexist, and no process survives its owner.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from maintenance_operator.api import names
from tests.cluster import build
from tests.cluster.cluster import (
    REPO_ROOT,
    ClusterError,
    LocalCluster,
    SnapshotStack,
    component_status,
    kwok_workdir,
    state_root,
)
from tests.cluster.processes import is_alive, pid_file_alive, poll
from tests.integration.owner import owner_process

pytestmark = pytest.mark.integration

PAUSE = "registry.k8s.io/pause:3.10"  # never pulled: kwok fakes the containers
TIMEOUT = "60s"


def apply(cluster: LocalCluster, namespace: str, *objects: dict[str, Any]) -> None:
    cluster.kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}),
    )


def get(cluster: LocalCluster, namespace: str, *resource: str) -> Any:
    return cluster.kubectl_json("get", "-n", namespace, *resource)


def pod_template(app: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": PAUSE}]},
    }


def deployment(name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": pod_template(name)},
    }


def statefulset(name: str, replicas: int, volume_size: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "serviceName": name,
        "selector": {"matchLabels": {"app": name}},
        "template": pod_template(name),
    }
    if volume_size is not None:
        spec["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        spec["volumeClaimTemplates"] = [
            {
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": volume_size}}},
            }
        ]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name}, "spec": spec}


def pvc(name: str, snapshot: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if snapshot is not None:
        spec["dataSource"] = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snapshot}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


def pods(cluster: LocalCluster, namespace: str, app: str) -> dict[str, dict[str, Any]]:
    """uid -> pod, so replaced pods are told apart even when a StatefulSet reuses their names."""
    items = get(cluster, namespace, "pods", "-l", f"app={app}")["items"]
    return {pod["metadata"]["uid"]: pod for pod in items if "deletionTimestamp" not in pod["metadata"]}


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = pod["status"].get("conditions", [])
    return pod["status"].get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in conditions
    )


def rollout(cluster: LocalCluster, namespace: str, resource: str) -> None:
    cluster.kubectl("rollout", "status", "-n", namespace, resource, f"--timeout={TIMEOUT}")


def test_server_reports_the_pinned_version(cluster: LocalCluster) -> None:
    versions = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    pinned = build.kubernetes_version()
    assert versions["serverVersion"]["gitVersion"] == pinned
    assert versions["clientVersion"]["gitVersion"] == pinned


def test_project_crds_apply_and_read_back(cluster: LocalCluster, namespace: str) -> None:
    files = sorted((REPO_ROOT / "crds").glob(f"{names.GROUP}_*.yaml"))
    assert files, "crds/*.yaml is empty: generate the CRDs first"
    for path in files:
        applied = json.loads(cluster.kubectl("apply", "--server-side", "-f", str(path), "-o", "json").stdout)
        name = applied["metadata"]["name"]
        cluster.kubectl("wait", "--for=condition=Established", f"--timeout={TIMEOUT}", f"crd/{name}")
        stored = cluster.kubectl_json("get", "crd", name)
        assert stored["spec"]["group"] == applied["spec"]["group"]
        assert stored["spec"]["names"]["kind"] == applied["spec"]["names"]["kind"]
        assert [v["name"] for v in stored["spec"]["versions"]] == [v["name"] for v in applied["spec"]["versions"]]
    # The shipped samples are accepted by the schemas and read back without fields pruned away.
    for sample in sorted((REPO_ROOT / "crds" / "samples").glob("*.yaml")):
        created = json.loads(cluster.kubectl("apply", "-n", namespace, "-f", str(sample), "-o", "json").stdout)
        kind, name = created["kind"], created["metadata"]["name"]
        stored = get(cluster, namespace, f"{kind.lower()}.{created['apiVersion'].split('/')[0]}", name)
        assert stored["spec"] == created["spec"], f"{sample.name} did not read back unchanged"


def test_deployment_becomes_available_and_restarts_with_new_pods(cluster: LocalCluster, namespace: str) -> None:
    apply(cluster, namespace, deployment("web", 3))
    cluster.kubectl("wait", "-n", namespace, "--for=condition=Available", f"--timeout={TIMEOUT}", "deployment/web")
    rollout(cluster, namespace, "deployment/web")
    before = pods(cluster, namespace, "web")
    assert len(before) == 3
    assert all(is_ready(pod) for pod in before.values())

    cluster.kubectl("rollout", "restart", "-n", namespace, "deployment/web")
    rollout(cluster, namespace, "deployment/web")

    # The rollout is complete before the last old pods finish terminating; wait until only 3 remain.
    def only_new_pods() -> dict[str, dict[str, Any]] | None:
        current = pods(cluster, namespace, "web")
        return current if len(current) == 3 else None

    after = poll(only_new_pods, 60, "the old pods to terminate")
    assert not set(before) & set(after), "restart must replace every pod"
    assert all(is_ready(pod) for pod in after.values())
    status = get(cluster, namespace, "deployment", "web")["status"]
    assert status["availableReplicas"] == status["updatedReplicas"] == 3


def test_statefulset_becomes_ready_and_restarts_with_new_pods(cluster: LocalCluster, namespace: str) -> None:
    apply(cluster, namespace, statefulset("db", 2))
    rollout(cluster, namespace, "statefulset/db")
    before = pods(cluster, namespace, "db")
    assert len(before) == 2
    assert get(cluster, namespace, "statefulset", "db")["status"]["readyReplicas"] == 2

    cluster.kubectl("rollout", "restart", "-n", namespace, "statefulset/db")
    rollout(cluster, namespace, "statefulset/db")
    after = pods(cluster, namespace, "db")
    assert len(after) == 2
    assert not set(before) & set(after), "restart must replace every pod"
    assert all(is_ready(pod) for pod in after.values())
    status = get(cluster, namespace, "statefulset", "db")["status"]
    assert status["currentRevision"] == status["updateRevision"]
    assert status["readyReplicas"] == 2


def test_service_account_without_rights_is_forbidden(cluster: LocalCluster, namespace: str) -> None:
    cluster.kubectl("create", "serviceaccount", "nobody", "-n", namespace)
    token = cluster.kubectl("create", "token", "nobody", "-n", namespace).stdout.strip()
    server = cluster.kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}").stdout
    ca = cluster.kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.certificate-authority}")
    # Only the token: with the admin kubeconfig's client certificate the request would be the admin's.
    as_nobody = ["--kubeconfig=/dev/null", f"--server={server}", f"--certificate-authority={ca.stdout}"]
    as_nobody += [f"--token={token}", "-n", namespace]

    denied = cluster.kubectl(*as_nobody, "get", "pods", "-v=6", check=False)
    assert denied.returncode != 0
    assert "403 Forbidden" in denied.stderr
    assert f"system:serviceaccount:{namespace}:nobody" in denied.stderr

    # The same token works once RBAC grants the right, so the 403 was authorization, not a bad token.
    cluster.kubectl("create", "role", "pod-reader", "--verb=list", "--resource=pods", "-n", namespace)
    cluster.kubectl(
        "create",
        "rolebinding",
        "nobody-reads",
        "--role=pod-reader",
        f"--serviceaccount={namespace}:nobody",
        "-n",
        namespace,
    )
    poll(
        lambda: cluster.kubectl(*as_nobody, "get", "pods", check=False).returncode == 0, 30, "the RoleBinding to apply"
    )


def test_volume_snapshot_lifecycle(cluster: LocalCluster, namespace: str, snapshot_stack: SnapshotStack) -> None:
    apply(cluster, namespace, pvc("data"))
    cluster.kubectl("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Bound", f"--timeout={TIMEOUT}", "pvc/data")
    assert get(cluster, namespace, "pvc", "data")["spec"]["storageClassName"] == snapshot_stack.storage_class

    snapshot = {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": "data-1"},
        "spec": {
            "volumeSnapshotClassName": snapshot_stack.snapshot_class,
            "source": {"persistentVolumeClaimName": "data"},
        },
    }
    apply(cluster, namespace, snapshot)
    cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=jsonpath={.status.readyToUse}=true",
        f"--timeout={TIMEOUT}",
        "volumesnapshot/data-1",
    )
    content = get(cluster, namespace, "volumesnapshot", "data-1")["status"]["boundVolumeSnapshotContentName"]
    assert cluster.kubectl_json("get", "volumesnapshotcontent", content)["spec"]["deletionPolicy"] == "Delete"

    apply(cluster, namespace, pvc("restored", snapshot="data-1"))
    cluster.kubectl(
        "wait", "-n", namespace, "--for=jsonpath={.status.phase}=Bound", f"--timeout={TIMEOUT}", "pvc/restored"
    )

    cluster.kubectl("delete", "-n", namespace, "volumesnapshot", "data-1", f"--timeout={TIMEOUT}")
    cluster.kubectl("wait", "--for=delete", f"--timeout={TIMEOUT}", f"volumesnapshotcontent/{content}")


def test_statefulset_volume_claim_templates_bind(
    cluster: LocalCluster, namespace: str, snapshot_stack: SnapshotStack
) -> None:
    apply(cluster, namespace, statefulset("pg", 2, volume_size="1Gi"))
    rollout(cluster, namespace, "statefulset/pg")
    claims = get(cluster, namespace, "pvc")["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == ["data-pg-0", "data-pg-1"]
    assert all(c["status"]["phase"] == "Bound" for c in claims)
    assert all(c["spec"]["storageClassName"] == snapshot_stack.storage_class for c in claims)
    assert all(is_ready(pod) for pod in pods(cluster, namespace, "pg").values())


def test_a_second_cluster_runs_beside_and_leaves_nothing_behind(cluster: LocalCluster) -> None:
    with LocalCluster(nodes=1) as second:
        assert second.name != cluster.name
        servers = {
            c.kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}").stdout
            for c in (cluster, second)
        }
        assert len(servers) == 2
        assert len(second.kubectl_json("get", "nodes")["items"]) == 1
        pids = _component_pids(second.name)
        assert pids and all(is_alive(pid) for pid in pids)
    assert not any(is_alive(pid) for pid in pids)
    assert not (kwok_workdir() / "clusters" / second.name).exists()
    assert not (state_root() / second.name).exists()
    assert cluster.kubectl("get", "nodes").returncode == 0


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_an_interrupted_owner_leaves_no_processes(how: signal.Signals) -> None:
    owner = owner_process(
        "import signal, sys, time\n"
        # A background CI shell starts us with SIGINT ignored; Ctrl-C must interrupt as in a terminal.
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from tests.cluster import LocalCluster\n"
        "with LocalCluster(nodes=1) as c:\n"
        "    print(c.name, flush=True)\n"
        "    time.sleep(600)\n"
    )
    try:
        assert owner.stdout is not None
        name = owner.stdout.readline().strip()
        assert name, "the owner process did not start its cluster"
        pids = _component_pids(name)
        assert len(pids) >= 5
        owner.send_signal(how)
        owner.wait(timeout=120)
        poll(lambda: not any(is_alive(pid) for pid in pids), 60, f"every process of {name} to stop")
        poll(lambda: not (kwok_workdir() / "clusters" / name).exists(), 30, f"{name}'s work dir to go")
        assert not component_status(name)
    finally:
        owner.kill()
        owner.wait()


def _component_pids(name: str) -> list[int]:
    directories = [kwok_workdir() / "clusters" / name / "pids", state_root() / name / "pids"]
    return [pid for d in directories for f in d.glob("*.pid") if (pid := pid_file_alive(Path(f))) is not None]


def test_a_start_failure_names_the_dead_component_and_shows_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = build.ensure_binaries(build.CONTROL_PLANE)
    broken = tmp_path / "bin"
    broken.mkdir()
    for name in build.CONTROL_PLANE:
        (broken / name).symlink_to(real / name)
    (broken / "kube-scheduler").unlink()
    # Answers kwokctl's version probe, then dies the way a misconfigured component would.
    (broken / "kube-scheduler").write_text(
        '#!/bin/sh\ncase "$1" in version|--version) echo "Kubernetes v1.37.2"; exit 0;; esac\n'
        'echo "boom: this scheduler refuses to start" >&2\nexit 3\n'
    )
    (broken / "kube-scheduler").chmod(0o755)
    monkeypatch.setenv(build.BIN_ENV, str(broken))

    doomed = LocalCluster(nodes=1)
    with pytest.raises(ClusterError) as failure:
        doomed.start()
    assert "kube-scheduler=DEAD" in str(failure.value)
    assert "boom: this scheduler refuses to start" in str(failure.value)
    assert not (kwok_workdir() / "clusters" / doomed.name).exists()
    assert not (state_root() / doomed.name).exists()
