"""One real node beside the kwok nodes: a kubelet on containerd and runc, so the operator runs as real Pods.

The kwok nodes fake every container; this node runs them, from the project's own images (pause, base, operator)
imported into a private containerd, so the operator can be tested as it ships: its image, its ServiceAccount,
PodSecurity `restricted`. See /work/shared/real-node.md for why each setting is there.

A kubelet changes the host, wherever its files are: sysctls, netfilter chains, cgroups, mounts, a bridge and a
few directories that containerd 1.6 and the kubelet hard-code. Before anything starts, what is there is recorded
in the node's state file (`realnode/node.json` under the cache); `teardown()` undoes the rest in the order that
works (Pods first, while the kubelet can still tear down their sandboxes), and is retried from the state file
by whoever comes next when a run dies in the middle. Only one real node runs per machine: the kubelet's netfilter
chains and `kubepods` cgroups have fixed names.

The node belongs to a cluster: `delete_cluster()` (so `LocalCluster.stop()`, the cluster's guard and stale-cluster
pruning) tears it down first, while the API server still answers.

The API server listens on 127.0.0.1 only and there is no kube-proxy, so Pods reach it through a small TCP
forwarder on the node's own address (on the bridge this module creates); the address is in the API server's
certificate, and Pods are given it as KUBERNETES_SERVICE_HOST/PORT (`RealNode.api_env()`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.cluster import build
from tests.cluster.processes import Timeout, pid_file_alive, poll, start_detached, terminate

if TYPE_CHECKING:
    from tests.cluster.cluster import LocalCluster

REPO_ROOT = Path(__file__).resolve().parents[2]
BRIDGE = "mo-cni0"
NODE_IP = "10.217.0.1"
API_PORT = 6443  # the forwarder's port on NODE_IP, fixed so that deploy/overlays/local can name it
PREFIX = 24
CNI_NETWORK = "maintenance-operator"
TAINT = "maintenance.ops.dev/real-node"
LABEL = "maintenance.ops.dev/real-node"
# Every sysctl the kubelet sets at start (it never asks), and the one the CNI bridge may set.
SYSCTLS = (
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.ip_forward",
)
# Written by containerd 1.6, libcni or the kubelet whatever directories they are given.
HOST_PATHS = ("/run/containerd", "/run/netns", "/var/lib/cni", "/var/lib/kubelet", "/var/log/containers")
CGROUPS = Path("/sys/fs/cgroup")
KUBEPODS = "kubepods"
# Command (or file) -> the Debian package that provides it.
PACKAGES = {
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "iptables-save": "iptables",
    "nft": "nftables",
    "openssl": "openssl",
    "ip": "iproute2",
}
START_TIMEOUT = 120.0
DRAIN_TIMEOUT = 90.0
WAIT_FOR_OTHER_NODE = 900.0
UNIX_SOCKET_MAX = 100


class RealNodeError(RuntimeError):
    """The real node could not be started or torn down; the message says why (with the log that explains it)."""


def root() -> Path:
    """Everything the node creates that can be placed: state, configs, containerd's and the kubelet's dirs."""
    return build.cache_root() / "realnode"


def state_file() -> Path:
    return root() / "node.json"


def _socket() -> Path:
    path = root() / "containerd.sock"
    if len(str(path)) >= UNIX_SOCKET_MAX:
        raise RealNodeError(f"{path} is too long for a unix socket: set {build.CACHE_ENV} to a shorter directory")
    return path


def _log(message: str) -> None:
    print(f"[real node] {message}", file=sys.stderr, flush=True)


def _run(*command: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise RealNodeError(f"`{' '.join(command)}` failed (exit {result.returncode}): {result.stderr.strip()}")
    return result


def _ctr(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return _run("ctr", "--address", str(_socket()), "--namespace", "k8s.io", *args, check=check, timeout=timeout)


# What is on the host -------------------------------------------------------------------------------------


def read_sysctls() -> dict[str, str]:
    return {name: Path("/proc/sys", *name.split(".")).read_text().strip() for name in SYSCTLS}


def write_sysctls(values: dict[str, str]) -> None:
    for name, value in values.items():
        path = Path("/proc/sys", *name.split("."))
        if path.read_text().strip() != value:
            path.write_text(value)


def mount_points() -> list[str]:
    """Mount points in mount order (a path mounted twice appears twice)."""
    return [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]


def cgroup_hierarchies() -> list[Path]:
    """The mounted cgroup hierarchies (every v1 controller, name=systemd, and the unified one)."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, _, after = line.partition(" - ")
        if after.split()[0] in ("cgroup", "cgroup2"):
            found.append(Path(before.split()[4]))
    return sorted(found)


def links() -> list[dict[str, Any]]:
    listing: list[dict[str, Any]] = json.loads(_run("ip", "-json", "link", "show").stdout or "[]")
    return listing


def nft_ruleset() -> list[dict[str, Any]]:
    """The netfilter objects (tables, chains, rules) as nft's JSON lists them: iptables-nft's included."""
    listing = json.loads(_run("nft", "-j", "list", "ruleset").stdout or '{"nftables": []}')
    return [item for item in listing["nftables"] if "metainfo" not in item]


def _tables(ruleset: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(item["table"]["family"], item["table"]["name"]) for item in ruleset if "table" in item}


def _chains(ruleset: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (item["chain"]["family"], item["chain"]["table"], item["chain"]["name"]) for item in ruleset if "chain" in item
    }


def _tree(path: Path) -> list[str] | None:
    """Every path below `path`, relative (None when it does not exist), without crossing into other mounts."""
    if not path.exists():
        return None
    found = []
    for current, directories, files in os.walk(path):
        for name in directories + files:
            found.append(str(Path(current, name).relative_to(path)))
        directories[:] = [d for d in directories if not os.path.ismount(Path(current, d))]
    return sorted(found)


# State ---------------------------------------------------------------------------------------------------


@dataclass
class State:
    """What teardown needs, written before the first change to the host and removed after the last undo."""

    cluster: str
    node: str
    sysctls: dict[str, str]
    mounts: list[str]
    tables: list[list[str]]
    chains: list[list[str]]
    links: list[str]
    cgroups: list[str]
    paths: dict[str, list[str] | None]
    api_port: int = 0

    @staticmethod
    def record(cluster: str, node: str) -> State:
        ruleset = nft_ruleset()
        return State(
            cluster=cluster,
            node=node,
            sysctls=read_sysctls(),
            mounts=mount_points(),
            tables=sorted([list(t) for t in _tables(ruleset)]),
            chains=sorted([list(c) for c in _chains(ruleset)]),
            links=sorted(link["ifname"] for link in links()),
            cgroups=[str(h / KUBEPODS) for h in cgroup_hierarchies() if (h / KUBEPODS).exists()],
            paths={path: _tree(Path(path)) for path in HOST_PATHS},
        )

    def save(self) -> None:
        root().mkdir(parents=True, exist_ok=True)
        scratch = state_file().with_suffix(".tmp")
        scratch.write_text(json.dumps(self.__dict__, indent=2))
        scratch.rename(state_file())

    @staticmethod
    def load() -> State | None:
        try:
            return State(**json.loads(state_file().read_text()))
        except (OSError, ValueError, TypeError):
            return None


def _pid_file(component: str) -> Path:
    return root() / "pids" / f"{component}.pid"


@contextlib.contextmanager
def _host_lock() -> Iterator[None]:
    """One start or teardown at a time on this machine (the guard, a test run and `up` may race)."""
    with build._locked(build.cache_root() / "realnode.lock"):
        yield


# The node ------------------------------------------------------------------------------------------------


@dataclass
class RealNode:
    """A started real node: its name, where the API server is for its Pods, and how long things took."""

    name: str
    cluster: str
    api_port: int
    start_seconds: float = 0.0
    import_seconds: dict[str, float] | None = None
    teardown_seconds: float | None = None

    def api_env(self) -> list[dict[str, str]]:
        """Env for a Pod's containers on this node: the API server as the in-cluster config should find it."""
        return [
            {"name": "KUBERNETES_SERVICE_HOST", "value": NODE_IP},
            {"name": "KUBERNETES_SERVICE_PORT", "value": str(API_PORT)},
        ]

    def placement(self) -> dict[str, Any]:
        """Pod spec fields that put a Pod on this node (its taint keeps every other Pod off)."""
        return {
            "nodeSelector": {"kubernetes.io/hostname": self.name},
            "tolerations": [{"key": TAINT, "operator": "Exists", "effect": "NoSchedule"}],
        }

    def teardown(self) -> None:
        started = time.monotonic()
        teardown(self.cluster)
        self.teardown_seconds = time.monotonic() - started


def ensure_packages() -> None:
    """Install the Debian packages the node needs when any of their commands is missing."""
    from tests.cluster.image import apt_install  # noqa: PLC0415 - keeps plain cluster runs free of image code

    missing = sorted({package for need, package in PACKAGES.items() if not (shutil.which(need) or Path(need).exists())})
    apt_install(missing, "the real node")
    if still := [need for need in PACKAGES if not (shutil.which(need) or Path(need).exists())]:
        raise RealNodeError(f"installed {', '.join(missing)} but {', '.join(still)} is still missing")


def image_archives() -> dict[str, Path]:
    """The images a real node imports, built (or reused) now: pause for sandboxes, the base and the operator."""
    from tests.cluster import image, pause  # noqa: PLC0415

    try:
        return {
            "pause": pause.ensure_pause_archive(),
            "base": image.ensure_base_archive(),
            "operator": image.ensure_image(),
        }
    except image.ImageError as error:
        raise RealNodeError(f"the real node's images: {error}") from error


def start(cluster: LocalCluster) -> RealNode:
    """Start the cluster's real node and return once it is Ready with its images imported; one per machine."""
    if not cluster.real_node:
        raise RealNodeError(f"cluster {cluster.name} was created without real-node support (real_node=True)")
    build.ensure_binaries(build.REAL_NODE)
    ensure_packages()
    archives = image_archives()
    started = time.monotonic()
    name = f"{cluster.name}-real"
    state = _claim_machine(cluster.name, name, _api_port(cluster))
    try:
        imports = _start(cluster, state, archives)
    except BaseException:
        teardown(cluster.name)
        raise
    node = RealNode(name=name, cluster=cluster.name, api_port=state.api_port, import_seconds=imports)
    node.start_seconds = time.monotonic() - started
    return node


def _claim_machine(cluster: str, node: str, api_port: int) -> State:
    """Record the host as it is now for `node`, once no other node runs: a stale one (its cluster gone or stale)
    is torn down first; while another live cluster's node runs, wait. Check and record happen under one lock, so
    two starts never both claim the machine."""
    from tests.cluster.cluster import LocalCluster, is_stale  # noqa: PLC0415 - cluster imports this module

    def claim() -> State | None:
        with _host_lock():
            held = State.load()
            if held is not None or state_file().with_suffix(".tmp").exists():
                live = held is not None and held.cluster != cluster and not is_stale(held.cluster)
                if live and held is not None and LocalCluster(held.cluster).exists():
                    return None  # another run's node: theirs to tear down
                _log(f"removing the stale real node of {held.cluster if held else 'an unknown cluster'}")
                _teardown_locked(held)
            state = State.record(cluster, node)
            state.api_port = api_port
            state.save()
            return state

    if (state := claim()) is not None:
        return state
    holder = State.load()
    _log(f"another real node ({holder.node if holder else '?'}) runs on this machine; waiting for it to go")
    try:
        return poll(claim, WAIT_FOR_OTHER_NODE, "the other real node on this machine to be torn down", interval=2)
    except Timeout as error:
        raise RealNodeError(f"{error}: one real node per machine (fixed netfilter and cgroup names)") from error


def _api_port(cluster: LocalCluster) -> int:
    server = cluster.kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}").stdout
    return int(server.rsplit(":", 1)[1].strip("/"))


def _start(cluster: LocalCluster, state: State, archives: dict[str, Path]) -> dict[str, float]:
    paths = _Paths(cluster)
    paths.create()
    _run("ip", "link", "add", BRIDGE, "type", "bridge")
    _run("ip", "addr", "add", f"{NODE_IP}/{PREFIX}", "dev", BRIDGE)
    _run("ip", "link", "set", BRIDGE, "up")
    _write_containerd_config(paths)
    _write_cni_config(paths)
    _write_node_credentials(cluster, paths, state.node)
    _write_kubelet_config(cluster, paths)

    start_detached(
        ["containerd", "--config", str(paths.containerd_config)], _pid_file("containerd"), paths.log("containerd")
    )
    _wait(lambda: _ctr("version", check=False).returncode == 0, "containerd to answer on its socket", paths)
    imports = {}
    for image, archive in archives.items():
        began = time.monotonic()
        _ctr("images", "import", str(archive), timeout=300)
        imports[image] = time.monotonic() - began
    proxy = [sys.executable, "-m", "tests.cluster.realnode", "proxy", NODE_IP, str(API_PORT), str(state.api_port)]
    start_detached(proxy, _pid_file("api-proxy"), paths.log("api-proxy"), cwd=REPO_ROOT)

    kubelet = [
        str(build.bin_dir() / "kubelet"),
        f"--config={paths.kubelet_config}",
        f"--kubeconfig={paths.kubelet_kubeconfig}",
        f"--root-dir={paths.kubelet_root}",
        f"--cert-dir={paths.kubelet_certs}",
        f"--hostname-override={state.node}",
        f"--node-ip={NODE_IP}",
        f"--node-labels={LABEL}=true",
        "--v=2",
    ]
    start_detached(kubelet, _pid_file("kubelet"), paths.log("kubelet"))
    _wait(lambda: _node_ready(cluster, state.node), f"node {state.node} to be Ready", paths)
    write_sysctls(state.sysctls)  # the kubelet set its own at start; the host keeps the ones it had
    return imports


def _wait(check: Any, what: str, paths: _Paths) -> None:
    def ready() -> bool:
        for component in ("containerd", "api-proxy", "kubelet"):
            pid_file = _pid_file(component)
            if pid_file.exists() and pid_file_alive(pid_file) is None:
                raise RealNodeError(f"{component} exited while waiting for {what}\n{paths.tail(component)}")
        return bool(check())

    try:
        poll(ready, START_TIMEOUT, what, interval=0.2)
    except Timeout as error:
        raise RealNodeError(f"{error}\n{paths.tail('kubelet')}") from error


def _node_ready(cluster: LocalCluster, node: str) -> bool:
    result = cluster.kubectl("get", "node", node, "-o", "json", check=False)
    if result.returncode != 0:
        return False
    conditions = json.loads(result.stdout)["status"].get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


class _Paths:
    """Where the node's files go: all under root(), but the logs, which sit with the cluster's other logs."""

    def __init__(self, cluster: LocalCluster):
        base = root()
        self.logs = cluster.logs_dir
        self.pki = cluster.workdir / "pki"
        self.kubeconfig = cluster.kubeconfig
        self.etc = base / "etc"
        self.containerd_config = self.etc / "containerd.toml"
        self.containerd_root = base / "containerd" / "root"
        self.containerd_state = base / "containerd" / "state"
        self.containerd_opt = base / "containerd" / "opt"
        self.cni_conf = base / "cni" / "net.d"
        self.cni_ipam = base / "cni" / "ipam"
        self.kubelet_root = base / "kubelet"
        self.kubelet_certs = base / "kubelet-pki"
        self.kubelet_config = self.etc / "kubelet.json"
        self.kubelet_kubeconfig = self.etc / "kubelet.kubeconfig"
        self.pod_logs = base / "pod-logs"
        self.volume_plugins = base / "volume-plugins"

    def create(self) -> None:
        for directory in (self.etc, self.containerd_root, self.containerd_state, self.cni_conf, self.cni_ipam):
            directory.mkdir(parents=True, exist_ok=True)
        for directory in (self.kubelet_root, self.kubelet_certs, self.pod_logs, self.volume_plugins):
            directory.mkdir(parents=True, exist_ok=True)

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def tail(self, component: str, lines: int = 40) -> str:
        path = self.log(component)
        text = path.read_text(errors="replace").splitlines()[-lines:] if path.is_file() else ["(no log)"]
        return f"--- last lines of {path} ---\n" + "\n".join(text)


def _write_containerd_config(paths: _Paths) -> None:
    """containerd's own root, state, socket and opt dir; CRI with runc on cgroupfs and the local pause image."""
    from tests.cluster.pause import PauseRecipe  # noqa: PLC0415

    cri = 'plugins."io.containerd.grpc.v1.cri"'
    text = f"""version = 2
root = "{paths.containerd_root}"
state = "{paths.containerd_state}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{_socket()}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{paths.containerd_opt}"

[{cri}]
  sandbox_image = "{PauseRecipe().reference()}"
  # Nothing here may lower an oom_score_adj: without this every Pod fails ("can't get final child's PID").
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false

[{cri}.containerd]
  default_runtime_name = "runc"
  snapshotter = "overlayfs"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "{paths.cni_conf}"
  max_conf_num = 1
"""
    paths.containerd_config.write_text(text)


def _write_cni_config(paths: _Paths) -> None:
    """A bridge on the node's own subnet, no gateway or masquerade: Pods only need to reach the node address."""
    conflist = {
        "cniVersion": "1.0.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": False,
                "ipMasq": False,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": f"{NODE_IP.rsplit('.', 1)[0]}.0/{PREFIX}", "gateway": NODE_IP}]],
                    "dataDir": str(paths.cni_ipam),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    (paths.cni_conf / "10-maintenance-operator.conflist").write_text(json.dumps(conflist, indent=2))


def _write_node_credentials(cluster: LocalCluster, paths: _Paths, node: str) -> None:
    """The node's client certificate, signed by the cluster CA, so the Node authorizer knows it."""
    key, csr, cert = paths.etc / "node.key", paths.etc / "node.csr", paths.etc / "node.crt"
    extensions = paths.etc / "node.ext"
    extensions.write_text("keyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = clientAuth\n")
    _run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
         "-subj", f"/O=system:nodes/CN=system:node:{node}")  # fmt: skip
    _run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(paths.pki / "ca.crt"),
         "-CAkey", str(paths.pki / "ca.key"), "-set_serial", f"0x{secrets.token_hex(8)}", "-days", "30",
         "-extfile", str(extensions), "-out", str(cert))  # fmt: skip
    server = cluster.kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}").stdout
    ca = paths.pki / "ca.crt"
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": node, "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": "node", "context": {"cluster": "local", "user": node}}],
        "current-context": "node",
    }
    paths.kubelet_kubeconfig.write_text(json.dumps(kubeconfig, indent=2))


def _free_port(host: str) -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _write_kubelet_config(cluster: LocalCluster, paths: _Paths) -> None:
    """The settings real-node.md lists, plus: serve on the node address only, and a taint keeping other Pods off."""
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "oomScoreAdj": 0,
        "containerRuntimeEndpoint": f"unix://{_socket()}",
        "podLogsDir": str(paths.pod_logs),
        "volumePluginDir": str(paths.volume_plugins),
        "staticPodPath": "",
        "address": NODE_IP,
        "port": _free_port(NODE_IP),
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": _free_port("127.0.0.1"),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(paths.pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "clusterDNS": [],
        "clusterDomain": "cluster.local",
        "resolvConf": "",
        "maxPods": 30,
        "registerWithTaints": [{"key": TAINT, "value": "true", "effect": "NoSchedule"}],
        # Neither image GC nor eviction: the images cannot be pulled again, and the disk is shared.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "shutdownGracePeriod": "0s",
    }
    paths.kubelet_config.write_text(json.dumps(config, indent=2))


# Teardown ------------------------------------------------------------------------------------------------


def teardown(cluster: str | None = None) -> None:
    """Undo everything the node did (of `cluster`, when given, else whichever is recorded); safe to repeat."""
    with _host_lock():
        state = State.load()
        if state is None and not state_file().with_suffix(".tmp").exists() and not root().exists():
            return
        if state is not None and cluster is not None and state.cluster != cluster:
            return
        _teardown_locked(state)


def _teardown_locked(state: State | None) -> None:
    errors: list[str] = []

    def step(what: str, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except Exception as error:  # every step runs: a failed one must not leave the rest undone
            errors.append(f"{what}: {error}")

    if state is not None:
        step("drain", _drain, state)
    for component in ("kubelet", "api-proxy"):
        step(f"stop {component}", _stop, component)
    step("containers", _kill_containers)
    step("stop containerd", _stop, "containerd")
    step("shims", _kill_shims)
    if state is not None:
        step("cgroup processes", _kill_cgroup_processes, state)
        step("mounts", _unmount_new, state)
        step("netfilter", _undo_netfilter, state)
        step("links", _delete_links, state)
        step("sysctls", write_sysctls, state.sysctls)
        step("cgroups", _remove_cgroups, state)
        step("host paths", _remove_new_paths, state)
    else:
        step("mounts", _unmount_below, root())
    if errors:
        # The state stays, so the next start (or `python -m tests.cluster.realnode teardown`) tries again.
        raise RealNodeError("real node teardown was incomplete:\n" + "\n".join(errors))
    _remove_tree(root())


def _remove_tree(path: Path) -> None:
    """rmtree, but never into a mount: that would delete what is mounted (a Pod's hostPath, say)."""
    if mounted := [t for t in mount_points() if Path(t).is_relative_to(path)]:
        raise RealNodeError(f"not removing {path}: still mounted below it: {', '.join(mounted)}")
    shutil.rmtree(path, ignore_errors=not path.exists())


def _drain(state: State) -> None:
    """Delete the node's Pods and wait until the kubelet has stopped every sandbox and released its address."""
    if pid_file_alive(_pid_file("kubelet")) is None:
        return
    from tests.cluster.cluster import LocalCluster  # noqa: PLC0415

    cluster = LocalCluster(state.cluster)
    if not cluster.kubeconfig.is_file() or cluster.kubectl("get", "node", state.node, check=False).returncode != 0:
        return
    cluster.kubectl("cordon", state.node, check=False)
    cluster.kubectl(
        "delete", "pods", "--all-namespaces", f"--field-selector=spec.nodeName={state.node}",
        "--grace-period=1", "--wait=false", check=False,
    )  # fmt: skip
    ipam = root() / "cni" / "ipam" / CNI_NETWORK

    def drained() -> bool:
        tasks = _ctr("tasks", "ls", "-q", check=False)
        allocated = [p for p in ipam.glob("*") if p.name[0].isdigit()] if ipam.is_dir() else []
        return tasks.returncode == 0 and not tasks.stdout.strip() and not allocated

    try:
        poll(drained, DRAIN_TIMEOUT, "the kubelet to stop every Pod sandbox", interval=0.2)
    finally:
        cluster.kubectl("delete", "node", state.node, "--wait=false", check=False)


def _stop(component: str) -> None:
    pid = pid_file_alive(_pid_file(component))
    if pid is not None:
        terminate(pid, grace=15)


def _kill_containers() -> None:
    """What the kubelet left running (a drain that could not happen): killed through containerd itself."""
    if pid_file_alive(_pid_file("containerd")) is None:
        return

    def tasks() -> list[str]:
        return _ctr("tasks", "ls", "-q", check=False).stdout.split()

    for task in tasks():
        _ctr("tasks", "kill", "--signal", "SIGKILL", task, check=False)

    def gone() -> bool:
        left = tasks()
        for task in left:  # a task stays listed (STOPPED) until deleted; deleting a running one fails
            _ctr("tasks", "delete", task, check=False)
        return not left

    poll(gone, 30, "the killed containers to exit", interval=0.2)


def _kill_shims() -> None:
    """containerd-shim processes of this node's containerd outlive it: stop them by their -address."""
    socket = str(_socket())
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            argv = proc.joinpath("cmdline").read_bytes().split(b"\0")
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and socket.encode() in argv:
                terminate(int(proc.name), grace=5)


def _cgroup_dirs(state: State) -> list[Path]:
    """The kubepods trees this node made, deepest first."""
    found: list[Path] = []
    for hierarchy in cgroup_hierarchies():
        top = hierarchy / KUBEPODS
        if top.is_dir() and str(top) not in state.cgroups:
            found += [Path(current) for current, _, _ in os.walk(top, topdown=False)]
    return found


def _kill_cgroup_processes(state: State) -> None:
    for directory in _cgroup_dirs(state):
        with contextlib.suppress(OSError):
            for pid in (directory / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)


def _remove_cgroups(state: State) -> None:
    def removed() -> bool:
        for directory in _cgroup_dirs(state):
            with contextlib.suppress(FileNotFoundError):
                try:
                    directory.rmdir()
                except OSError:
                    return False  # a process still exiting: try again
        return not _cgroup_dirs(state)

    poll(removed, 30, "the kubepods cgroups to be empty and removed", interval=0.2)


def _unmount_below(path: Path) -> None:
    for target in sorted((t for t in mount_points() if Path(t).is_relative_to(path)), key=len, reverse=True):
        if _run("umount", target, check=False).returncode != 0:
            _run("umount", "--lazy", target, check=False)


def _unmount_new(state: State) -> None:
    """Mounts that were not there before, below the node's dir or the hard-coded host paths, deepest first."""
    places = [root(), *map(Path, HOST_PATHS)]

    def leftovers() -> list[str]:
        before = list(state.mounts)
        new = []
        for target in mount_points():
            if target in before:
                before.remove(target)
            elif any(Path(target).is_relative_to(place) for place in places):
                new.append(target)
        return new

    for _ in range(10):  # stacked mounts (the kubelet's rshared self bind) need more than one pass
        new = leftovers()
        if not new:
            return
        for target in sorted(new, key=len, reverse=True):
            if _run("umount", target, check=False).returncode != 0:
                _run("umount", "--lazy", target, check=False)
    if new := leftovers():
        raise RealNodeError(f"still mounted: {', '.join(new)}")


def _undo_netfilter(state: State) -> None:
    """Tables that were not there go; in tables that were, the new chains and the rules that jump to them go."""
    tables_before = {tuple(t) for t in state.tables}
    chains_before = {tuple(c) for c in state.chains}
    ruleset = nft_ruleset()
    for family, table in sorted(_tables(ruleset) - tables_before):
        _run("nft", "delete", "table", family, table)
    ruleset = nft_ruleset()
    new_chains = _chains(ruleset) - chains_before
    for item in ruleset:
        rule = item.get("rule")
        if rule is None:
            continue
        expressions = rule.get("expr", [])
        targets = {e[kind]["target"] for e in expressions for kind in ("jump", "goto") if kind in e}
        if any((rule["family"], rule["table"], target) in new_chains for target in targets):
            _run("nft", "delete", "rule", rule["family"], rule["table"], rule["chain"], "handle", str(rule["handle"]))
    for family, table, chain in sorted(new_chains):
        _run("nft", "flush", "chain", family, table, chain)
    for family, table, chain in sorted(new_chains):
        _run("nft", "delete", "chain", family, table, chain)


def _delete_links(state: State) -> None:
    """The bridge (when this node made it) and whatever veth is still attached to it."""
    current = links()
    for link in current:
        if link.get("master") == BRIDGE and link["ifname"] not in state.links:
            _run("ip", "link", "delete", link["ifname"], check=False)
    if BRIDGE not in state.links and any(link["ifname"] == BRIDGE for link in current):
        _run("ip", "link", "delete", BRIDGE)


def _remove_new_paths(state: State) -> None:
    for name, before in state.paths.items():
        path = Path(name)
        if not path.exists():
            continue
        if before is None:
            _remove_tree(path)
            continue
        for relative in sorted(set(_tree(path) or []) - set(before), key=len, reverse=True):
            target = path / relative
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)


# The API server forwarder --------------------------------------------------------------------------------


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def _forward(listen: str, port: int, upstream: int) -> None:
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True)

    server = await asyncio.start_server(connection, listen, port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.cluster.realnode proxy ADDRESS PORT UPSTREAM` (started by start()) or `teardown`."""
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.realnode")
    commands = parser.add_subparsers(dest="command", required=True)
    proxy = commands.add_parser("proxy", help="forward ADDRESS:PORT to the API server on 127.0.0.1:UPSTREAM")
    proxy.add_argument("address")
    proxy.add_argument("port", type=int)
    proxy.add_argument("upstream", type=int)
    commands.add_parser("teardown", help="tear down whatever real node is recorded on this machine")
    args = parser.parse_args(argv)
    if args.command == "proxy":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        asyncio.run(_forward(args.address, args.port, args.upstream))
        return 0
    teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
