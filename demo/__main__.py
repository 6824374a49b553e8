"""`python -m demo` (`make run`): local cluster with the CSI snapshot stack, CRDs, the samples (a
MaintenanceWindow, a BackupWindow, a PostgreSQL ManagedDatabase), demo workloads, operator in the foreground.

Everything it starts is stopped on Ctrl-C (the cluster is a test-style cluster with a guard, so even a
SIGKILL of this process leaves nothing behind).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from tests.cluster.cluster import LocalCluster

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "demo"


def _install(cluster: LocalCluster) -> None:
    cluster.install_crds()
    cluster.create_namespace(NAMESPACE)
    cluster.kubectl("apply", "-n", NAMESPACE, "-f", str(ROOT / "crds" / "samples"))
    cluster.kubectl("apply", "-k", str(ROOT / "deploy" / "defaults"))  # the platform-default cluster windows
    cluster.kubectl("apply", "-n", NAMESPACE, "-f", str(ROOT / "demo" / "workloads.yaml"))


def _instructions(cluster: LocalCluster, metrics_port: int) -> str:
    scripts = Path(sys.executable).parent
    return f"""
The operator runs below (Ctrl-C stops it and deletes the cluster). In another terminal:

  export KUBECONFIG={cluster.kubeconfig} PATH={cluster.bin_dir}:{scripts}:$PATH
  kubectl get mw -n {NAMESPACE}                          # schedule, next window, pending targets
  kubectl maintenance apps -n {NAMESPACE}                # what needs maintenance, and in which window
  kubectl maintenance require deployment/web -n {NAMESPACE} --reason security
  kubectl annotate mw weekly -n {NAMESPACE} maintenance.ops.dev/run-now=$(date +%s)   # open a window now
  kubectl get events -n {NAMESPACE} --field-selector reason=MaintenanceCompleted
  kubectl get mdb,bw -n {NAMESPACE}                     # the sample PostgreSQL and its daily backup window
  kubectl annotate bw daily -n {NAMESPACE} maintenance.ops.dev/run-now=$(date +%s)    # back it up now
  kubectl maintenance backups -n {NAMESPACE}
  curl -s localhost:{metrics_port}/metrics | grep maintenance_
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--metrics-port", type=int, default=int(os.environ.get("METRICS_PORT", "8080")))
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args(argv)
    operator_cmd = shutil.which("maintenance-operator", path=str(Path(sys.executable).parent))
    if operator_cmd is None:
        print("maintenance-operator is not installed in this environment; run `make venv`", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print("starting the local cluster (the first run builds Kubernetes from Go modules, ~15 min)...", flush=True)
    with LocalCluster(name="mo-demo", nodes=args.nodes, snapshots=True) as cluster:
        print(f"cluster ready in {cluster.start_seconds:.1f} s; installing CRDs, samples, demo workloads", flush=True)
        _install(cluster)
        print(_instructions(cluster, args.metrics_port), flush=True)
        command = [operator_cmd, "-n", NAMESPACE, "--metrics-port", str(args.metrics_port)]
        operator = subprocess.Popen(command, env=cluster.env)
        try:
            return operator.wait()
        except KeyboardInterrupt:
            operator.send_signal(signal.SIGINT)
            operator.wait(timeout=30)
            print("\nstopped the operator; deleting the cluster", flush=True)
            return 0
        finally:
            if operator.poll() is None:
                operator.kill()


if __name__ == "__main__":
    sys.exit(main())
