"""A real Kubernetes control plane with fake nodes, run as plain processes by kwokctl's binary runtime.

kwokctl starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (which makes pods
on its fake nodes Running and Ready), so Deployments and StatefulSets roll out as on a real cluster.
The CSI snapshot stack is started beside it on demand (see snapshots.py).

Every cluster has an owner: the process that created it, recorded with its start time. A guard
process deletes the cluster when the owner's pipe closes, whatever way the owner died, and every
start first deletes clusters whose owner is gone, so no control plane outlives its test run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from tests.cluster import build, realnode
from tests.cluster.processes import Timeout, pid_file_alive, poll, read_pid_file, start_time, terminate

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_PREFIX = "mo-test-"
DEV_CLUSTER = "mo-dev"
START_TIMEOUT = 120.0
FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"


class ClusterError(RuntimeError):
    """The cluster could not be started or driven; the message carries the logs that explain why."""


class KubectlError(subprocess.CalledProcessError):
    """A kubectl call failed; unlike CalledProcessError its text includes kubectl's stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstderr: {self.stderr}"


def kwok_workdir() -> Path:
    """KWOK_WORKDIR of every cluster of this project: kwokctl keeps clusters/<name>/ below it."""
    return build.cache_root() / "kwok"


def state_root() -> Path:
    """Our own per-cluster records (owner, CSI pids), kept apart from kwokctl's so they survive it."""
    return build.cache_root() / "state"


@dataclass(frozen=True)
class Owner:
    """Who created a cluster: a live owner keeps it, a dead one makes it stale (unless persistent)."""

    pid: int
    started: str | None
    persistent: bool

    def alive(self) -> bool:
        current = start_time(self.pid)
        return current is not None and self.started in (None, "unknown", current)


class LocalCluster:
    """One local cluster; use as a context manager so it is deleted however the block exits.

    `persistent=True` is for the developer cluster (`python -m tests.cluster up`): it has no guard and
    is never pruned as stale. `real_node=True` creates it so that `start_real_node()` can add a real kubelet
    (realnode.py): kwok then manages only the nodes annotated as fake, and the API server can reach kubelets.
    """

    def __init__(
        self,
        name: str | None = None,
        nodes: int = 3,
        snapshots: bool = False,
        persistent: bool = False,
        real_node: bool = False,
    ):
        self.name = name or f"{TEST_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
        self.nodes = nodes
        self.snapshots = snapshots
        self.persistent = persistent
        self.real_node = real_node
        self._guard: subprocess.Popen[bytes] | None = None
        self._bin_dir: Path | None = None
        self.start_seconds: float | None = None

    # Paths -----------------------------------------------------------------------------------------

    @property
    def bin_dir(self) -> Path:
        if self._bin_dir is None:
            self._bin_dir = build.bin_dir()
        return self._bin_dir

    @property
    def workdir(self) -> Path:
        """kwokctl's directory of this cluster: kubeconfig.yaml, pki/, logs/, pids/, etcd/."""
        return kwok_workdir() / "clusters" / self.name

    @property
    def state_dir(self) -> Path:
        return state_root() / self.name

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig.yaml"

    @property
    def logs_dir(self) -> Path:
        """One `<component>.log` per process, the CSI stack's included."""
        return self.workdir / "logs"

    @property
    def env(self) -> dict[str, str]:
        """Environment for subprocesses: this cluster's kubeconfig and the built kubectl first on PATH."""
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    # kubectl ---------------------------------------------------------------------------------------

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl against this cluster; raises KubectlError (with stderr) when `check`."""
        command = [str(self.bin_dir / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args]
        result = subprocess.run(command, input=input, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise KubectlError(result.returncode, command, result.stdout, result.stderr)
        return result

    def kubectl_json(self, *args: str) -> Any:
        """`kubectl ... -o json`, parsed."""
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def _kwokctl(self, *args: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / "kwokctl"), "--name", self.name, *args]
        env = {**os.environ, "KWOK_WORKDIR": str(kwok_workdir())}
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)

    # Lifecycle -------------------------------------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def exists(self) -> bool:
        return (self.workdir / "kwok.yaml").is_file()

    def start(self) -> LocalCluster:
        """Create the cluster and return once the API serves and every fake node is Ready."""
        started = time.monotonic()
        build.ensure_binaries(build.CONTROL_PLANE)
        prune_stale()
        if self.exists():
            raise ClusterError(
                f"cluster {self.name} already exists (remove it: python -m tests.cluster down {self.name})"
            )
        delete_cluster(self.name, self.bin_dir)  # leftovers of a creation that died half-way
        self._record_owner()
        if not self.persistent:
            self._start_guard()
        try:
            self._create()
            self.scale_nodes(self.nodes)
            self._wait_ready()
            if self.snapshots:
                self.start_snapshot_stack()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        """Stop every process of the cluster and delete its directories; safe to call twice."""
        delete_cluster(self.name, self.bin_dir)
        if self._guard is not None:
            with contextlib.suppress(OSError):
                assert self._guard.stdin is not None
                self._guard.stdin.write(b"done\n")
                self._guard.stdin.close()
            self._guard.wait(timeout=30)
            self._guard = None

    def _record_owner(self) -> None:
        """Written before anything starts, so even a crash in the middle of creation gets cleaned up."""
        owner = {"pid": os.getpid(), "started": start_time(os.getpid()), "persistent": self.persistent}
        # Renamed into place complete, so a concurrent prune never sees a state dir without its owner.
        scratch = state_root() / f".{self.name}.tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        (scratch / "owner.json").write_text(json.dumps(owner))
        scratch.rename(self.state_dir)

    def _start_guard(self) -> None:
        """A process that deletes this cluster when our end of its stdin closes, e.g. on SIGKILL.

        It runs in its own session, so the Ctrl-C that interrupts the owner does not stop it first.
        """
        self._guard = subprocess.Popen(
            [sys.executable, "-m", "tests.cluster", "guard", self.name],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
            },
            start_new_session=True,
        )

    def _kwokctl_config(self) -> Path:
        """kwokctl options as a config file (JSON is YAML): our binaries, auth on, client limits off."""
        binary = self.bin_dir
        options = {
            "runtime": "binary",
            "etcdBinary": str(binary / "etcd"),
            "kubeApiserverBinary": str(binary / "kube-apiserver"),
            "kubeControllerManagerBinary": str(binary / "kube-controller-manager"),
            "kubeSchedulerBinary": str(binary / "kube-scheduler"),
            "kwokControllerBinary": str(binary / "kwok"),
            "kubectlBinary": str(binary / "kubectl"),
            # RBAC and ServiceAccount tokens on the secure port, and the default admission plugins.
            "securePort": True,
            "kubeAuthorization": True,
            "kubeAdmission": True,
            # No client-side throttling in the control plane: tests measure the operator, not limits.
            "disableQPSLimits": True,
            "bindAddress": "127.0.0.1",
            # Every write, with who sent it (user and User-Agent): tests count an operator replica's writes from
            # the API server's own record, not from the operator's word.
            "kubeAuditPolicy": str(self._audit_policy()),
        }
        config: dict[str, Any] = {
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokctlConfiguration",
            "options": options,
        }
        if self.real_node:
            # Pods on the real node reach the API server at the node's address (through its forwarder).
            options["kubeApiserverCertSANs"] = [realnode.NODE_IP]
            config["componentsPatches"] = self._real_node_patches()
        path = self.state_dir / "kwokctl.yaml"
        path.write_text(json.dumps(config, indent=2))
        return path

    def _real_node_patches(self) -> list[dict[str, Any]]:
        """kwok leaves a real kubelet's node alone; the API server authenticates to kubelets (logs, exec).

        kwokctl's `scale node` annotates its nodes `kwok.x-k8s.io/node: fake`, so kwok still manages all of them.
        Without the selector kwok takes the real node's Lease and rewrites (even force-deletes) its Pods. The
        binary runtime always passes --manage-all-nodes=true: hence the override.
        """
        pki = self.workdir / "pki"
        kwok_args = [
            {"key": "manage-all-nodes", "value": "false", "override": True},
            {"key": "manage-nodes-with-annotation-selector", "value": f"{FAKE_NODE_ANNOTATION}=fake"},
        ]
        apiserver_args = [
            {"key": "kubelet-client-certificate", "value": str(pki / "admin.crt")},
            {"key": "kubelet-client-key", "value": str(pki / "admin.key")},
            {"key": "kubelet-preferred-address-types", "value": "InternalIP,Hostname"},
        ]
        return [
            {"name": "kwok-controller", "extraArgs": kwok_args},
            {"name": "kube-apiserver", "extraArgs": apiserver_args},
        ]

    def _audit_policy(self) -> Path:
        policy = {
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Policy",
            "omitStages": ["RequestReceived"],
            "rules": [
                {"level": "Metadata", "verbs": ["create", "update", "patch", "delete", "deletecollection"]},
                {"level": "None"},
            ],
        }
        path = self.state_dir / "audit-policy.yaml"
        path.write_text(json.dumps(policy, indent=2))
        return path

    @property
    def audit_log(self) -> Path:
        return self.logs_dir / "audit.log"

    def audit_writes(self, user_agent: str | None = None) -> list[dict[str, Any]]:
        """Write requests the API server recorded (oldest first), optionally only those of one User-Agent."""
        if not self.audit_log.exists():
            return []
        found = []
        for line in self.audit_log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line being written right now
            if user_agent is None or event.get("userAgent") == user_agent:
                found.append(event)
        return found

    def _create(self) -> None:
        config = self._kwokctl_config()
        # kwokctl picks free ports by scanning and skipping those its other clusters use; holding a
        # lock until this cluster's processes are listening keeps two starts from picking the same.
        with _locked(build.cache_root() / "create.lock"):
            result = self._kwokctl(
                "create", "cluster", "--config", str(config), "--kubeconfig", "", "--wait", f"{START_TIMEOUT:.0f}s"
            )
        if result.returncode != 0 or not self.kubeconfig.is_file():
            raise ClusterError(self._failure_report(f"kwokctl create cluster failed:\n{result.stderr[-4000:]}"))

    def scale_nodes(self, count: int) -> None:
        """Make the cluster have exactly `count` fake nodes (110 pods each) and wait until they are Ready."""
        result = self._kwokctl("scale", "node", "--replicas", str(count))
        if result.returncode != 0:
            raise ClusterError(self._failure_report(f"kwokctl scale node failed:\n{result.stderr[-4000:]}"))
        self.nodes = count
        self._wait_ready()

    def add_nodes(self, count: int) -> None:
        self.scale_nodes(self.nodes + count)

    def _wait_ready(self) -> None:
        """Ready means: all nodes Ready, and the default ServiceAccount exists so pods can be admitted."""

        def ready() -> bool:
            if dead := [component for component, running in self.status().items() if not running]:
                raise ClusterError(self._failure_report(f"{', '.join(dead)} exited"))
            result = self.kubectl("get", "nodes,serviceaccounts", "-n", "default", "-o", "json", check=False)
            if result.returncode != 0:
                return False
            items = json.loads(result.stdout)["items"]
            # Only kwok's nodes count: a real node (realnode.py) comes and goes on its own.
            ready_nodes = sum(
                1
                for item in items
                if item["kind"] == "Node"
                and item["metadata"].get("annotations", {}).get(FAKE_NODE_ANNOTATION) == "fake"
                and any(c["type"] == "Ready" and c["status"] == "True" for c in item["status"].get("conditions", []))
            )
            has_sa = any(item["kind"] == "ServiceAccount" and item["metadata"]["name"] == "default" for item in items)
            return ready_nodes == self.nodes and has_sa

        try:
            poll(ready, START_TIMEOUT, f"{self.nodes} Ready nodes and the default ServiceAccount")
        except Timeout as error:
            raise ClusterError(self._failure_report(str(error))) from error

    def _failure_report(self, headline: str) -> str:
        """The headline plus the log tail of every component that is not running (else kube-apiserver's)."""
        return f"cluster {self.name}: {headline}\n{component_log_report(self.name)}"

    def install_crds(self) -> None:
        """The project's generated CRDs (`crds/`, a kustomization), applied and Established."""
        from maintenance_operator.api import names  # noqa: PLC0415  (the harness itself knows no project types)

        self.kubectl("apply", "--server-side", "-k", str(REPO_ROOT / "crds"))
        crds = [f"crd/{plural}.{names.GROUP}" for plural in names.PLURALS.values()]
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", *crds)

    def create_namespace(self, name: str) -> None:
        """Create a namespace and wait for its default ServiceAccount, without which pods are refused."""
        self.kubectl("create", "namespace", name)
        poll(
            lambda: self.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0,
            60,
            f"the default ServiceAccount of namespace {name}",
        )

    # Snapshot stack --------------------------------------------------------------------------------

    def start_snapshot_stack(self) -> SnapshotStack:
        """Start the CSI mock driver, provisioner and snapshot controllers (once) and return their classes."""
        from tests.cluster.snapshots import start_snapshot_stack  # noqa: PLC0415 - only runs that need it load it

        return start_snapshot_stack(self)

    # Real node ------------------------------------------------------------------------------------------

    def start_real_node(self) -> realnode.RealNode:
        """Add the real node (a kubelet on containerd, realnode.py) with the project's images imported."""
        return realnode.start(self)

    def status(self) -> dict[str, bool]:
        """Component name -> whether its process runs."""
        return component_status(self.name)


@dataclass(frozen=True)
class SnapshotStack:
    """What a test needs to create volumes and snapshots against the mock CSI driver."""

    driver: str
    storage_class: str
    snapshot_class: str
    fail_switch: Path  # touch it to make CreateSnapshot fail, remove it to heal the driver

    @contextlib.contextmanager
    def failing_snapshots(self) -> Iterator[None]:
        """CreateSnapshot fails inside the block, as a broken storage backend would."""
        self.fail_switch.touch()
        try:
            yield
        finally:
            self.fail_switch.unlink(missing_ok=True)


# Module-level operations on clusters by name, used by stop(), the guard, the CLI and pruning -----------


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[IO[str]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_dirs(name: str) -> list[Path]:
    return [kwok_workdir() / "clusters" / name / "pids", state_root() / name / "pids"]


def component_status(name: str) -> dict[str, bool]:
    """Component -> running, from kwokctl's pid files and ours (the CSI stack)."""
    status: dict[str, bool] = {}
    for directory in _pid_dirs(name):
        for pid_file in sorted(directory.glob("*.pid")):
            status[pid_file.stem] = pid_file_alive(pid_file) is not None
    return status


def component_log_report(name: str, lines: int = 60) -> str:
    """Tails of the logs of components that died; kube-apiserver's if none did (it explains most hangs)."""
    logs = kwok_workdir() / "clusters" / name / "logs"
    status = component_status(name)
    failed = [component for component, running in status.items() if not running]
    chosen = failed or ["kube-apiserver"]
    states = ", ".join(f"{component}={'running' if running else 'DEAD'}" for component, running in status.items())
    parts = [f"components: {states or 'none'}"]
    for component in chosen:
        path = logs / f"{component}.log"
        if path.is_file():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- last {len(tail)} lines of {path} ---\n" + "\n".join(tail))
        else:
            parts.append(f"--- no log at {path} ---")
    return "\n".join(parts)


def read_owner(name: str) -> Owner | None:
    try:
        data = json.loads((state_root() / name / "owner.json").read_text())
        return Owner(pid=int(data["pid"]), started=data.get("started"), persistent=bool(data.get("persistent")))
    except (OSError, ValueError, KeyError):
        return None


def delete_cluster(name: str, bin_dir: Path | None = None) -> None:
    """Tear down its real node (while the API server answers), stop the CSI processes we started, then let
    kwokctl stop the control plane and remove its files."""
    try:
        realnode.teardown(name)
    except realnode.RealNodeError as error:
        print(f"[cluster] {error}", file=sys.stderr)
    for pid_file in sorted((state_root() / name / "pids").glob("*.pid")):
        pid = pid_file_alive(pid_file)
        if pid is not None:
            terminate(pid)
    if (kwok_workdir() / "clusters" / name).exists():
        kwokctl = (bin_dir or build.bin_dir()) / "kwokctl"
        # --kubeconfig names the file to remove the cluster's context from: its own, never ~/.kube/config.
        own_kubeconfig = kwok_workdir() / "clusters" / name / "kubeconfig.yaml"
        result = subprocess.run(
            [str(kwokctl), "--name", name, "delete", "cluster", "--force", f"--kubeconfig={own_kubeconfig}"],
            env={**os.environ, "KWOK_WORKDIR": str(kwok_workdir())},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            print(f"[cluster] kwokctl delete cluster {name} failed: {result.stderr[-2000:]}", file=sys.stderr)
        _kill_leftovers(name)
        shutil.rmtree(kwok_workdir() / "clusters" / name, ignore_errors=True)
    shutil.rmtree(state_root() / name, ignore_errors=True)


def _kill_leftovers(name: str) -> None:
    """Belt and braces: if kwokctl could not stop a process (or failed), stop it by its pid file."""
    for pid_file in sorted((kwok_workdir() / "clusters" / name / "pids").glob("*.pid")):
        record = read_pid_file(pid_file)
        if record is not None and pid_file_alive(pid_file) is not None:
            terminate(record[0], grace=1.0)


def cluster_names() -> list[str]:
    """Every cluster this project knows of: kwokctl's cluster dirs and our state records."""
    names = {p.name for p in (kwok_workdir() / "clusters").glob("*") if p.is_dir()}
    names |= {p.name for p in state_root().glob("*") if p.is_dir()}
    return sorted(name for name in names if not name.startswith("."))


def is_stale(name: str) -> bool:
    """A cluster is stale when its owner is dead (or unrecorded for a test cluster) and it is not persistent."""
    owner = read_owner(name)
    if owner is None:
        return name.startswith(TEST_PREFIX)
    return not owner.persistent and not owner.alive()


def prune_stale() -> list[str]:
    """Delete clusters left behind by runs that died without cleaning up (e.g. SIGKILL before the guard)."""
    pruned = [name for name in cluster_names() if is_stale(name)]
    for name in pruned:
        print(f"[cluster] removing stale cluster {name}", file=sys.stderr)
        delete_cluster(name)
    return pruned
