"""Command line for the local cluster: `python -m tests.cluster build|up|down|kubeconfig|env|status`.

`up` starts a persistent developer cluster (default name mo-dev) and returns, so it can be explored with
the built kubectl; `down` removes it. Test runs use their own clusters and never touch this one.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time

from tests.cluster import build, realnode
from tests.cluster.cluster import (
    DEV_CLUSTER,
    ClusterError,
    LocalCluster,
    cluster_names,
    component_status,
    delete_cluster,
    is_stale,
    read_owner,
)


def _build(_: argparse.Namespace) -> int:
    started = time.monotonic()
    directory = build.ensure_binaries(build.ALL)
    crds = build.snapshot_crd_dir()
    print(f"binaries: {directory}\nsnapshot CRDs: {crds}\n({time.monotonic() - started:.1f} s)")
    return 0


def _up(args: argparse.Namespace) -> int:
    cluster = LocalCluster(
        name=args.name, nodes=args.nodes, snapshots=args.snapshots, persistent=True, real_node=args.real_node
    )
    if cluster.exists():
        print(f"cluster {cluster.name} already exists; kubeconfig: {cluster.kubeconfig}", file=sys.stderr)
        return 0
    if args.real_node:
        build.ensure_binaries(build.REAL_NODE)
    cluster.start()
    print(f"cluster {cluster.name} is ready in {cluster.start_seconds:.1f} s with {cluster.nodes} nodes")
    if args.real_node:
        try:
            node = cluster.start_real_node()
        except BaseException:
            delete_cluster(cluster.name)
            raise
        imports = ", ".join(f"{image} {seconds:.1f} s" for image, seconds in (node.import_seconds or {}).items())
        print(f"real node {node.name} is Ready in {node.start_seconds:.1f} s (images imported: {imports})")
        print(f"its Pods need: {node.placement()} and env {node.api_env()}")
    print(f"logs: {cluster.logs_dir}")
    print(f"use it:  export KUBECONFIG={cluster.kubeconfig} PATH={cluster.bin_dir}:$PATH")
    print(f'or:      eval "$(python -m tests.cluster env --name {cluster.name})"')
    return 0


def _down(args: argparse.Namespace) -> int:
    names = cluster_names() if args.all else [args.name]
    for name in names:
        delete_cluster(name)
        print(f"deleted {name}")
    return 0


def _kubeconfig(args: argparse.Namespace) -> int:
    cluster = LocalCluster(name=args.name)
    if not cluster.exists():
        print(f"no cluster {args.name}; start it with: python -m tests.cluster up", file=sys.stderr)
        return 1
    print(cluster.kubeconfig)
    return 0


def _env(args: argparse.Namespace) -> int:
    cluster = LocalCluster(name=args.name)
    print(f"export KUBECONFIG={shlex.quote(str(cluster.kubeconfig))}")
    print(f'export PATH={shlex.quote(str(cluster.bin_dir))}:"$PATH"')
    return 0


def _status(_: argparse.Namespace) -> int:
    print(f"binaries: {build.bin_dir()}")
    if (node := realnode.State.load()) is not None:
        print(f"real node: {node.node} of cluster {node.cluster} (state: {realnode.state_file()})")
    names = cluster_names()
    if not names:
        print("no clusters")
    for name in names:
        owner = read_owner(name)
        kind = "persistent" if owner and owner.persistent else f"owned by pid {owner.pid}" if owner else "no owner"
        stale = " STALE (removed at the next start)" if is_stale(name) else ""
        components = " ".join(f"{c}={'up' if running else 'DOWN'}" for c, running in component_status(name).items())
        print(f"{name}: {kind}{stale}\n  {components or 'no processes'}\n  kubeconfig: {LocalCluster(name).kubeconfig}")
    return 0


def _guard(args: argparse.Namespace) -> int:
    """Internal: block until the owner's pipe closes; unless it said "done", delete the cluster."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    message = sys.stdin.buffer.read()
    if b"done" not in message:
        delete_cluster(args.name)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build missing binaries into the cache").set_defaults(run=_build)
    up = commands.add_parser("up", help="start a persistent developer cluster")
    up.add_argument("--nodes", type=int, default=3, help="fake nodes (110 pods each)")
    up.add_argument("--snapshots", action="store_true", help="also start the CSI snapshot stack")
    up.add_argument("--real-node", action="store_true", help="also start a real node (kubelet, containerd, runc)")
    up.set_defaults(run=_up)
    down = commands.add_parser("down", help="stop a cluster and delete its files")
    down.add_argument("--all", action="store_true", help="every cluster of this project, test clusters included")
    down.set_defaults(run=_down)
    commands.add_parser("kubeconfig", help="print the kubeconfig path").set_defaults(run=_kubeconfig)
    commands.add_parser("env", help="print shell exports for KUBECONFIG and PATH").set_defaults(run=_env)
    commands.add_parser("status", help="list clusters and their processes").set_defaults(run=_status)
    guard = commands.add_parser("guard")
    guard.add_argument("cluster")
    guard.set_defaults(run=_guard)
    for command in (up, down, commands.choices["kubeconfig"], commands.choices["env"]):
        command.add_argument("--name", default=os.environ.get("MAINTENANCE_OPERATOR_CLUSTER", DEV_CLUSTER))
    args = parser.parse_args(argv)
    if args.command == "guard":
        args.name = args.cluster
    # SIGTERM unwinds like Ctrl-C, so a half-started `up` is cleaned up by LocalCluster.start().
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        code: int = args.run(args)
    except (build.BuildError, ClusterError, realnode.RealNodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
