"""Faults in a local cluster's control plane: restart one of kwokctl's processes, or freeze it.

kwokctl can only start or stop a whole cluster, so a single component (kube-apiserver, etcd) is restarted the way
kwokctl started it: the same command line and working directory (read from /proc), its log appended to, and its
pid file rewritten in kwokctl's own format, so that `kwokctl delete cluster` and the guard still stop it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.cluster.cluster import ClusterError, LocalCluster, component_log_report
from tests.cluster.processes import Timeout, pid_file_alive, poll, terminate


def _pid_file(cluster: LocalCluster, component: str) -> Path:
    return cluster.workdir / "pids" / f"{component}.pid"


def component_pid(cluster: LocalCluster, component: str) -> int:
    pid = pid_file_alive(_pid_file(cluster, component))
    if pid is None:
        raise ClusterError(f"cluster {cluster.name}: {component} is not running")
    return pid


Launch = tuple[list[str], str]  # command line and working directory


def launches(cluster: LocalCluster) -> dict[str, Launch]:
    """How each running kwokctl component was started, read before a fault so that it can be started again."""
    found: dict[str, Launch] = {}
    for pid_file in sorted((cluster.workdir / "pids").glob("*.pid")):
        pid = pid_file_alive(pid_file)
        if pid is not None:
            command = [arg.decode() for arg in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if arg]
            found[pid_file.stem] = (command, os.readlink(f"/proc/{pid}/cwd"))
    return found


def restart_component(cluster: LocalCluster, component: str) -> int:
    """Stop `component` (SIGTERM, SIGKILL after 5 s) and start it again as before; its new pid."""
    launch = launches(cluster)[component]
    terminate(component_pid(cluster, component))
    return _start(cluster, component, launch)


def revive(cluster: LocalCluster, before: dict[str, Launch]) -> list[str]:
    """Start again the components that exited since `before`, as a kubelet restarts static Pods: the
    controller-manager and the scheduler exit by design when they cannot renew their Lease in time."""
    dead = [c for c in before if pid_file_alive(_pid_file(cluster, c)) is None]
    for component in dead:
        _start(cluster, component, before[component])
    return dead


def _start(cluster: LocalCluster, component: str, launch: Launch) -> int:
    command, cwd = launch
    with (cluster.logs_dir / f"{component}.log").open("ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
        )
    _pid_file(cluster, component).write_text(str(process.pid))  # kwokctl's format: the pid alone
    return process.pid


@contextlib.contextmanager
def frozen(cluster: LocalCluster, component: str) -> Iterator[None]:
    """SIGSTOP for the block, SIGCONT after: the process holds its connections open and answers nothing."""
    pid = component_pid(cluster, component)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def wait_api_ready(cluster: LocalCluster, timeout: float = 120.0) -> None:
    """Until the API server's /readyz answers ok (etcd reachable, its post-start hooks done)."""

    def ready() -> bool:
        result = cluster.kubectl("get", "--raw", "/readyz", check=False, timeout=10)
        return result.returncode == 0 and result.stdout.strip() == "ok"

    try:
        poll(ready, timeout, f"the API server of {cluster.name} to be ready", interval=0.2)
    except Timeout as error:
        raise ClusterError(f"{error}\n{component_log_report(cluster.name)}") from error
