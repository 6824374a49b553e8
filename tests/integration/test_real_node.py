"""The real node: the operator's own image runs as a Pod on a kubelet, and the host is left as it was.

The Pod tests share the session's real node (they run last: see the `real_node` fixture). The host tests start
and tear down their own cluster and node, one by an orderly stop and one by SIGKILL of the owner (its guard tears
down), and compare what a kubelet changes on a host before and after.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster import image, realnode
from tests.cluster.cluster import LocalCluster, kwok_workdir
from tests.cluster.processes import pid_file_alive, poll
from tests.cluster.realnode import RealNode
from tests.integration.owner import owner_process

pytestmark = pytest.mark.integration

RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def pod(node: RealNode, name: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A Pod on the real node that passes PodSecurity `restricted`, running an image that is never pulled."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            **node.placement(),
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "terminationGracePeriodSeconds": 2,
            "containers": [{"imagePullPolicy": "Never", "securityContext": RESTRICTED, **container}],
            **spec,
        },
    }


def apply(cluster: LocalCluster, namespace: str, *objects: dict[str, Any]) -> None:
    items = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(items))


def restricted_namespace(cluster: LocalCluster, namespace: str) -> None:
    cluster.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")


def test_the_image_runs_to_completion_and_kubectl_logs_shows_its_output(
    cluster: LocalCluster, real_node: RealNode, namespace: str
) -> None:
    restricted_namespace(cluster, namespace)
    apply(
        cluster,
        namespace,
        pod(real_node, "help", {"name": "main", "image": image.reference(), "args": ["--help"]}, restartPolicy="Never"),
    )
    cluster.kubectl("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s", "pod/help")
    state = cluster.kubectl_json("get", "pod", "help", "-n", namespace)["status"]["containerStatuses"][0]["state"]
    assert state["terminated"]["exitCode"] == 0
    assert cluster.kubectl("logs", "-n", namespace, "help").stdout.startswith("usage: maintenance-operator")


# The host, before and after -------------------------------------------------------------------------------

SYSCTL_NAMES = realnode.SYSCTLS


def host_snapshot() -> dict[str, Any]:
    """What a kubelet, containerd and the CNI plugins change on a host, read independently of realnode's records."""

    def run(*command: str) -> str:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def netfilter(command: str) -> list[str]:
        return [line for line in run(command).splitlines() if not line.startswith("#")]  # comments carry the time

    mounts = []
    buildah = str(image.images_dir() / "buildah")
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if not fields[4].startswith(buildah):  # image builds (other runs' too) mount and unmount their storage
            mounts.append(" ".join(fields[3:]))  # without the mount ids, which a remount would also change
    links = run("ip", "-o", "link").splitlines()
    cgroups: dict[str, list[str]] = {}
    for hierarchy in realnode.cgroup_hierarchies():
        top = hierarchy / realnode.KUBEPODS
        cgroups[str(hierarchy)] = sorted(str(Path(d).relative_to(hierarchy)) for d, _, _ in os.walk(top))
    return {
        "sysctls": {name: Path("/proc/sys", *name.split(".")).read_text().strip() for name in SYSCTL_NAMES},
        "iptables": netfilter("iptables-save"),
        "ip6tables": netfilter("ip6tables-save"),
        "nft": run("nft", "list", "ruleset").splitlines(),
        "mounts": mounts,
        "cgroups": cgroups,
        "links": sorted(re.sub(r"^\d+: ", "", line).split(" link/")[0] for line in links),
        "paths": {path: Path(path).exists() for path in realnode.HOST_PATHS},
    }


def sleeper(node: RealNode) -> dict[str, Any]:
    """A Pod that keeps a sandbox, a veth, cgroups and mounts in place until it is deleted (the base image)."""
    container = {
        "name": "main",
        "image": image.BaseRecipe().tag(),
        "command": ["python3", "-c", "import time; time.sleep(3600)"],
        "securityContext": {**RESTRICTED, "runAsUser": 65532},
    }
    return pod(node, "sleeper", container)


def start_sleeper(cluster: LocalCluster, node: RealNode) -> None:
    apply(cluster, "default", sleeper(node))
    cluster.kubectl("wait", "-n", "default", "--for=condition=Ready", "--timeout=120s", "pod/sleeper")


def assert_host_unchanged(before: dict[str, Any]) -> None:
    after = host_snapshot()
    for key, value in before.items():
        assert after[key] == value, f"the host's {key} changed"


def test_an_orderly_stop_leaves_the_host_as_it_was() -> None:
    realnode.image_archives()  # a build would change the mounts (and take a while) in the middle
    before = host_snapshot()
    with LocalCluster(nodes=1, real_node=True) as cluster:
        node = cluster.start_real_node()
        during = host_snapshot()
        start_sleeper(cluster, node)
        # kwok still manages its own nodes, a new one included, and fakes their Pods beside the real node.
        cluster.add_nodes(1)
        fake = {"name": "main", "image": "registry.k8s.io/pause:3.10"}  # never pulled: kwok fakes it
        apply(cluster, "default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fake"},
                                   "spec": {"nodeSelector": {"type": "kwok"}, "containers": [fake]}})  # fmt: skip
        cluster.kubectl("wait", "-n", "default", "--for=condition=Ready", "--timeout=60s", "pod/fake")
        node.teardown()
    assert node.teardown_seconds is not None
    # Not a vacuous comparison: the node did change what is compared.
    assert during["links"] != before["links"] and during["cgroups"] != before["cgroups"]
    assert_host_unchanged(before)
    assert not realnode.state_file().exists()
    print(f"real node: Ready in {node.start_seconds:.1f} s, torn down in {node.teardown_seconds:.1f} s")
    print("image imports: " + ", ".join(f"{k} {v:.1f} s" for k, v in (node.import_seconds or {}).items()))


@contextlib.contextmanager
def owner_with_a_pod() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Another process owning a cluster with a real node, with a Pod running there; yields it and the cluster."""
    realnode.image_archives()  # built here if needed: its output must not mix with what the owner says
    owner = owner_process(
        "import time\n"
        "from tests.cluster import LocalCluster\n"
        "with LocalCluster(nodes=1, real_node=True) as c:\n"
        "    node = c.start_real_node()\n"
        "    print('READY', c.name, node.name, flush=True)\n"
        "    time.sleep(600)\n"
    )
    try:
        assert owner.stdout is not None
        line = ""
        while not line.startswith("READY "):
            line = owner.stdout.readline()
            assert line, "the owner exited before its real node was Ready"
        name, node_name = line.split()[1:]
        state = realnode.State.load()
        assert state is not None and state.node == node_name
        start_sleeper(LocalCluster(name), RealNode(name=node_name, cluster=name, api_port=state.api_port))
        yield owner, name
    finally:
        owner.kill()
        owner.wait()


def test_the_guard_leaves_the_host_as_it_was_when_the_owner_is_killed() -> None:
    realnode.image_archives()
    before = host_snapshot()
    with owner_with_a_pod() as (owner, name):
        killed = time.monotonic()
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=30)
        poll(lambda: not realnode.state_file().exists(), 180, "the guard to tear the real node down")
        poll(lambda: not (kwok_workdir() / "clusters" / name).exists(), 60, f"the guard to delete {name}")
        print(f"the guard tore the real node and its cluster down {time.monotonic() - killed:.1f} s after SIGKILL")
    assert_host_unchanged(before)


def _guard_pid(cluster: str) -> int:
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = proc.joinpath("cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"guard" in argv and cluster.encode() in argv:
            return int(proc.name)
    raise AssertionError(f"no guard process for {cluster}")


@pytest.mark.parametrize("api_server_dies", [False, True], ids=["control-plane-alive", "api-server-dead"])
def test_a_node_left_behind_by_a_dead_run_is_removed_by_the_next_start(api_server_dies: bool) -> None:
    realnode.image_archives()
    before = host_snapshot()
    with owner_with_a_pod() as (owner, dead):
        # The whole run dies at once, its guard too: the node, its Pod and its cluster stay behind.
        os.kill(_guard_pid(dead), signal.SIGKILL)
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=30)
        if api_server_dies:  # then nobody can drain the node: containerd itself must stop its containers
            apiserver = pid_file_alive(kwok_workdir() / "clusters" / dead / "pids" / "kube-apiserver.pid")
            assert apiserver is not None
            os.kill(apiserver, signal.SIGKILL)
    left = realnode.State.load()
    assert left is not None and left.cluster == dead
    assert host_snapshot()["links"] != before["links"]
    with LocalCluster(nodes=1, real_node=True) as cluster:
        node = cluster.start_real_node()
        assert not (kwok_workdir() / "clusters" / dead).exists(), "the stale cluster was pruned"
        assert node.cluster == cluster.name and realnode.State.load() is not None
        node.teardown()
    assert_host_unchanged(before)
