"""kind for users with Docker: `make kind-up`, and kind-config.yaml checked here by kind's own code.

There is no container engine here, so the real kind CLI (built from the pinned wrapper module go/kind
into the cache, keyed by its inputs like the cluster's binaries) runs `kind create cluster --config`
against a stub `docker` on an otherwise empty PATH. The stub answers only what kind asks before it
creates its node containers (`info`, `ps`, the node image is present, the network exists, `run` and
`logs` succeed) and records every call. So kind itself decodes the file (strictly: an unknown field
fails), defaults and validates it, and plans each node's container; reaching `docker run` is the
proof that it accepted the config, and the recorded `run` calls say which nodes, roles and images
kind would create. With no real container behind them, kind then fails to find its nodes and stops.
A config kind rejects never gets that far, and kind's own error message is returned.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.cluster import build, image

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "kind-config.yaml"
MODULE = "kind"
KIND_MODULE = "sigs.k8s.io/kind"
SNAPSHOTTER_MODULE = "github.com/kubernetes-csi/external-snapshotter/v8"
OVERLAY = REPO / "deploy" / "overlays" / "kind"  # imagePullPolicy Never: the image is loaded, not pulled
NAMESPACE = "maintenance-operator"
ROLE_LABEL = "io.x-k8s.kind.role="
TIMEOUT = 60.0

# Answers what kind v0.33's docker provider asks until its nodes' containers exist: `docker run`
# succeeds and `docker logs` shows the line kind waits for, so every node's run is made (a refused
# run would end kind before its concurrent siblings ran). `docker ps` lists no containers, so kind
# stops right after, when it writes the kubeadm configuration ("expected one control plane node"),
# and anything else is refused. Each call is its own file of NUL-separated arguments, so
# concurrent calls never interleave and arguments with spaces survive.
STUB_DOCKER = """#!/bin/sh
printf '%s\\0' "$@" >> "$STUB_CALLS/$$"
printf '\\n' >> "$STUB_CALLS/$$"
case "$1" in
  -v) echo "Docker version 0.0.0, build stub" ;;
  info) echo '{"CgroupDriver":"systemd","CgroupVersion":"2","MemoryLimit":true,"PidsLimit":true,"CPUShares":true}' ;;
  ps | inspect | run) ;;
  logs) echo "Reached target Multi-User System." ;;
  network) if [ "$2" = ls ]; then echo stub-network; fi ;;
  *) echo "stub docker: refusing '$1': not emulated" >&2; exit 1 ;;
esac
exit 0
"""


class KindError(RuntimeError):
    """kind cannot be built or run, or a step of `kind-up` failed; the message says what to do."""


@dataclass(frozen=True)
class Node:
    """One node as kind planned its container: container name, role label and node image."""

    name: str
    role: str
    image: str


@dataclass(frozen=True)
class Validation:
    """What kind made of a config: accepted with its planned nodes, or refused with kind's message."""

    accepted: bool
    nodes: tuple[Node, ...]
    error: str


def kind_version() -> str:
    """The pinned kind release, e.g. v0.33.0 (go/kind/go.mod is the one place it is set)."""
    return build._pinned(MODULE, KIND_MODULE)


def _recipe() -> build.Binary:
    return build.Binary("kind", MODULE, KIND_MODULE)


def ensure_kind() -> Path:
    """The pinned kind binary, built into the cache (outside the checkout) when missing."""
    return build.ensure_tool(_recipe())


def _calls(directory: Path) -> list[list[str]]:
    """Every recorded stub call as its argument list (order across processes is not kept)."""
    return [
        line.split("\0")[:-1] for path in sorted(directory.iterdir()) for line in path.read_text().splitlines() if line
    ]


def _node(run: list[str]) -> Node:
    name = run[run.index("--name") + 1]
    roles = [arg.removeprefix(ROLE_LABEL) for arg in run if arg.startswith(ROLE_LABEL)]
    return Node(name=name, role=roles[0] if roles else "", image=run[-1])


def validate(config: Path = CONFIG, kind: Path | None = None) -> Validation:
    """Run kind's own loader, defaulting and validation on `config`, stopping where containers would start."""
    kind = kind or ensure_kind()
    with tempfile.TemporaryDirectory(prefix="kind-validate-") as scratch:
        work = Path(scratch)
        stub_bin = work / "bin"
        stub_bin.mkdir()
        (stub_bin / "docker").write_text(STUB_DOCKER)
        (stub_bin / "docker").chmod(0o755)
        calls = work / "calls"
        calls.mkdir()
        # A fresh environment: only the stub on PATH (never a real engine), and a scratch HOME and
        # KUBECONFIG, because kind removes the cluster's kubeconfig entry when creation fails.
        env = {
            "PATH": str(stub_bin),
            "HOME": str(work),
            "KUBECONFIG": str(work / "kubeconfig"),
            "KIND_EXPERIMENTAL_PROVIDER": "docker",
            "STUB_CALLS": str(calls),
        }
        result = subprocess.run(
            [str(kind), "create", "cluster", "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        runs = [call[1:] for call in _calls(calls) if call[:1] == ["run"]]
    if runs:
        return Validation(
            accepted=True, nodes=tuple(sorted((_node(run) for run in runs), key=lambda n: n.name)), error=""
        )
    # kind's error may span lines (yaml lists each unknown field); what precedes it is progress output.
    lines = result.stderr.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("ERROR:")), 0)
    message = "\n".join(lines[first:]).strip() or f"kind exited {result.returncode} without planning a node"
    return Validation(accepted=False, nodes=(), error=message)


def cluster_name(config: Path = CONFIG) -> str:
    """The cluster's name as kind-config.yaml sets it (kind's default is `kind`)."""
    loaded = yaml.safe_load(config.read_text())
    return str(loaded.get("name") or "kind")


def _log(message: str) -> None:
    print(f"[kind] {message}", file=sys.stderr, flush=True)


def _run(*command: str, capture: bool = False) -> str:
    _log(" ".join(command))
    result = subprocess.run(command, check=False, text=True, capture_output=capture)
    if result.returncode != 0:
        detail = f": {result.stderr.strip()}" if capture else " (see above)"
        raise KindError(f"`{' '.join(command)}` failed with exit {result.returncode}{detail}")
    return result.stdout if capture else ""


def _engine() -> str:
    engine = os.environ.get("KIND_EXPERIMENTAL_PROVIDER") or "docker"
    if shutil.which(engine) is None:
        raise KindError(
            f"`make kind-up` needs a container engine: `{engine}` is not on PATH. Install Docker (or set "
            "KIND_EXPERIMENTAL_PROVIDER=podman with podman installed); without one use `make run`."
        )
    # A client without a daemon (as on this project's build machine) fails late in kind; say so first.
    answer = subprocess.run([engine, "info"], check=False, capture_output=True, text=True)
    if answer.returncode != 0:
        raise KindError(f"`{engine} info` failed: its daemon does not answer ({answer.stderr.strip()[:200]}).")
    return engine


def _kind() -> str:
    return shutil.which("kind") or str(ensure_kind())


def _kubectl() -> str:
    if found := shutil.which("kubectl"):
        return found
    built = build.bin_dir() / "kubectl"
    if os.access(built, os.X_OK):
        return str(built)
    raise KindError("kubectl is not on PATH: install it, or build it with `make cluster-build` (about 15 minutes).")


def snapshot_controller_dir() -> Path:
    """external-snapshotter's own kustomization of the snapshot-controller, at the pin the local cluster uses."""
    return build.module_source("snapshotter", SNAPSHOTTER_MODULE) / "deploy" / "kubernetes" / "snapshot-controller"


def up(config: Path = CONFIG) -> None:
    """Create the kind cluster, install the snapshot CRDs and controller, load the image, apply deploy/."""
    _engine()
    kind, kubectl, name = _kind(), _kubectl(), cluster_name(config)
    if name in _run(kind, "get", "clusters", capture=True).split():
        _log(f"cluster {name!r} exists; reusing it")
    else:
        _run(kind, "create", "cluster", "--config", str(config), "--wait", "5m")
    context = ("--context", f"kind-{name}")
    _run(kubectl, *context, "apply", "-k", str(build.snapshot_crd_dir()))
    _run(kubectl, *context, "apply", "-k", str(snapshot_controller_dir()))
    _run(kind, "load", "image-archive", str(image.ensure_image()), "--name", name)
    _run(kubectl, *context, "apply", "-k", str(OVERLAY))
    _run(kubectl, *context, "-n", NAMESPACE, "rollout", "status", "deployment/maintenance-operator", "--timeout=5m")
    print(
        f"kind cluster {name!r} runs the operator (kubectl --context kind-{name} -n {NAMESPACE} get pods).\n"
        "BackupWindows also need a CSI driver with snapshot support and a VolumeSnapshotClass: kind's default\n"
        "StorageClass (local-path) has none, so they report Ready=False until you install one, e.g. the CSI\n"
        "hostpath driver (github.com/kubernetes-csi/csi-driver-host-path, deploy/kubernetes-latest/deploy.sh).\n"
        "`make kind-down` deletes the cluster."
    )


def down(config: Path = CONFIG) -> None:
    """Delete the kind cluster (its containers and its kubeconfig context)."""
    _engine()
    _run(_kind(), "delete", "cluster", "--name", cluster_name(config))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.kind", description=__doc__)
    parser.add_argument("command", choices=("validate", "up", "down", "build"))
    parser.add_argument("config", nargs="?", type=Path, default=CONFIG)
    options = parser.parse_args(argv)
    try:
        if options.command == "build":
            started = time.monotonic()
            print(f"{ensure_kind()} ({time.monotonic() - started:.1f} s)")
        elif options.command == "validate":
            result = validate(options.config)
            if not result.accepted:
                print(f"kind {kind_version()} refused {options.config}:\n{result.error}", file=sys.stderr)
                return 1
            print(f"kind {kind_version()} accepted {options.config}; it would create:")
            for node in result.nodes:
                print(f"  {node.name} ({node.role}) {node.image}")
        elif options.command == "up":
            up(options.config)
        else:
            down(options.config)
    except (KindError, build.BuildError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
