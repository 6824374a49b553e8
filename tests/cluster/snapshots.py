"""The CSI snapshot stack, started beside kwokctl's control plane only when a run needs VolumeSnapshots.

Kubernetes' own e2e mock CSI driver serves on a unix socket and keeps volumes and snapshots in memory;
the real csi-provisioner, snapshot-controller and csi-snapshotter drive it, so PVCs bind,
VolumeSnapshots become readyToUse and restores bind exactly as with a real driver. The CRDs are the
ones published by external-snapshotter, never hand-written.

kwokctl can only start components when it creates a cluster, so these four run beside it: started
detached like kwokctl's own, with pid files in the cluster's state dir (which delete_cluster, the guard
and stale pruning all read) and logs in the cluster's logs dir beside the control plane's.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.cluster import build
from tests.cluster.cluster import ClusterError, LocalCluster, SnapshotStack, component_log_report
from tests.cluster.processes import Timeout, pid_file_alive, poll, start_detached, terminate

DRIVER = "mock.csi.maintenance.ops.dev"
STORAGE_CLASS = "mock-csi"
SNAPSHOT_CLASS = "mock-csi"
# Generous client limits: the sidecars must not throttle a benchmark's hundreds of snapshots.
CLIENT_LIMITS = ("--kube-api-qps=5000", "--kube-api-burst=10000")
UNIX_SOCKET_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS


def _socket_path(cluster: LocalCluster) -> Path:
    path = cluster.state_dir / "csi.sock"
    if len(str(path)) < UNIX_SOCKET_MAX:
        return path
    return Path(tempfile.gettempdir()) / f"{cluster.name}-csi.sock"


def fail_switch_path(cluster: LocalCluster) -> Path:
    """While this file exists, the mock driver's CreateSnapshot fails (a real failure for tests to inject)."""
    return cluster.state_dir / "fail-create-snapshot"


def _manifests() -> str:
    """CSIDriver, default StorageClass and VolumeSnapshotClass for the mock driver, as a kubectl List."""
    items = [
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "CSIDriver",
            "metadata": {"name": DRIVER},
            "spec": {"attachRequired": False, "podInfoOnMount": False, "volumeLifecycleModes": ["Persistent"]},
        },
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": DRIVER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": True,
        },
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshotClass",
            "metadata": {
                "name": SNAPSHOT_CLASS,
                "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"},
            },
            "driver": DRIVER,
            "deletionPolicy": "Delete",
        },
    ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def _start_process(cluster: LocalCluster, component: str, *args: str) -> None:
    """Start one component detached (own session, like kwokctl's), unless its recorded process still runs."""
    pid_file = cluster.state_dir / "pids" / f"{component}.pid"
    log = cluster.logs_dir / f"{component}.log"
    start_detached([str(cluster.bin_dir / component), *args], pid_file, log, cwd=cluster.workdir)


def start_snapshot_stack(cluster: LocalCluster) -> SnapshotStack:
    """Install the snapshot CRDs, start the driver and sidecars, and create the classes; idempotent."""
    build.ensure_binaries(build.SNAPSHOT_STACK)
    crds = build.snapshot_crd_dir()
    cluster.kubectl("apply", "--server-side", "-k", str(crds))
    # `kubectl wait` takes no kustomization: wait on the CRD files it lists (all of the directory's others).
    files = [
        arg for path in sorted(crds.glob("*.yaml")) if path.name != "kustomization.yaml" for arg in ("-f", str(path))
    ]
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *files)
    socket = _socket_path(cluster)
    kubeconfig = f"--kubeconfig={cluster.kubeconfig}"
    fail_switch = fail_switch_path(cluster)
    fail_switch.unlink(missing_ok=True)
    _start_process(
        cluster, "csi-mock", f"--endpoint={socket}", f"--name={DRIVER}", f"--fail-create-snapshot-file={fail_switch}"
    )
    try:
        poll(socket.exists, 30, f"the mock CSI driver's socket {socket}", interval=0.05)
    except Timeout as error:
        raise ClusterError(f"{error}\n{component_log_report(cluster.name)}") from error
    csi_address = f"--csi-address={socket}"
    _start_process(cluster, "csi-provisioner", csi_address, kubeconfig, "--leader-election=false", *CLIENT_LIMITS)
    _start_process(cluster, "snapshot-controller", kubeconfig, "--leader-election=false", *CLIENT_LIMITS)
    _start_process(cluster, "csi-snapshotter", csi_address, kubeconfig, "--leader-election=false", *CLIENT_LIMITS)
    cluster.kubectl("apply", "-f", "-", input=_manifests())
    return SnapshotStack(
        driver=DRIVER, storage_class=STORAGE_CLASS, snapshot_class=SNAPSHOT_CLASS, fail_switch=fail_switch
    )


@contextlib.contextmanager
def component_stopped(cluster: LocalCluster, component: str) -> Iterator[None]:
    """Stop one process of the snapshot stack (e.g. csi-snapshotter) for the block, then start it again."""
    pid = pid_file_alive(cluster.state_dir / "pids" / f"{component}.pid")
    if pid is not None:
        terminate(pid)
    try:
        yield
    finally:
        start_snapshot_stack(cluster)
