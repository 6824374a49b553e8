"""Build the local cluster's binaries from the pinned Go wrapper modules, once per set of pins.

Neither developers nor CI have a container engine, so the real Kubernetes components are built from
the Go module proxy (go/*/go.mod pin them, go.sum locks them) into a cache outside the checkout. The
cache directory is keyed by a digest of the wrapper modules and the build recipe, so changing a pin
builds into a fresh directory and an unchanged one is a fast no-op.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

GO_DIR = Path(__file__).resolve().parent / "go"
BIN_ENV = "MAINTENANCE_OPERATOR_K8S_BIN"
CACHE_ENV = "MAINTENANCE_OPERATOR_CACHE_DIR"

# Same environment as the known-good builds: no cgo (static binaries), no toolchain download, no
# workspace from the surrounding checkout, and module mode tolerant of the tool-only requires.
GO_ENV = {"GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOWORK": "off"}

SNAPSHOT_CLIENT_MODULE = "github.com/kubernetes-csi/external-snapshotter/client/v8"
PROMETHEUS_OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
# Wrapper modules of test tools that are no part of the cluster, each cached on its own key (ensure_tool), so
# pinning or adding one never rebuilds the cluster's binaries.
SEPARATELY_CACHED = frozenset({"kind", "prometheus"})


@dataclass(frozen=True)
class Binary:
    """One executable: which wrapper module builds it, from which package, with which flags."""

    name: str
    module: str
    package: str
    ldflags: tuple[str, ...] = ()
    tags: str = ""


def _pinned(module_dir: str, module_path: str) -> str:
    """The version a wrapper module's go.mod requires, so pins live in exactly one place."""
    text = (GO_DIR / module_dir / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module_path)}\s+(v\S+)", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{module_path} is not required in {GO_DIR / module_dir / 'go.mod'}")
    return match.group(1)


def _kube_version_ldflags(version: str) -> tuple[str, ...]:
    """Stamp the version the way Kubernetes' release build does, so discovery reports it."""
    major, minor = version.lstrip("v").split(".")[:2]
    values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "gitTreeState": "clean"}
    return tuple(
        f"-X {package}.{key}={value}"
        for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for key, value in values.items()
    )


def kubernetes_version() -> str:
    """The pinned Kubernetes release, e.g. v1.37.2: what `kubectl version` must report."""
    return _pinned("kubernetes", "k8s.io/kubernetes")


def recipes() -> tuple[Binary, ...]:
    """Every binary of the local cluster, with versions read from the wrapper modules."""
    kube = kubernetes_version()
    kube_flags = _kube_version_ldflags(kube)
    kwok = _pinned("kwok", "sigs.k8s.io/kwok")
    kwok_flags = (
        f"-X sigs.k8s.io/kwok/pkg/consts.Version={kwok}",
        f"-X sigs.k8s.io/kwok/pkg/consts.KubeVersion={kube}",
    )
    snapshotter = _pinned("snapshotter", "github.com/kubernetes-csi/external-snapshotter/v8")
    provisioner = _pinned("provisioner", "github.com/kubernetes-csi/external-provisioner/v6")
    k8s_tags = "selinux,notest"
    return (
        Binary("etcd", "etcd", ".", ()),
        *(
            Binary(name, "kubernetes", f"k8s.io/kubernetes/cmd/{name}", kube_flags, k8s_tags)
            for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kubelet")
        ),
        Binary("kwok", "kwok", "sigs.k8s.io/kwok/cmd/kwok", kwok_flags),
        Binary("kwokctl", "kwok", "sigs.k8s.io/kwok/cmd/kwokctl", kwok_flags),
        Binary("csi-mock", "kubernetes", "./csi-mock", kube_flags, k8s_tags),
        *(
            Binary(
                name,
                "snapshotter",
                f"github.com/kubernetes-csi/external-snapshotter/v8/cmd/{name}",
                (f"-X main.version={snapshotter}",),
            )
            for name in ("snapshot-controller", "csi-snapshotter")
        ),
        Binary(
            "csi-provisioner",
            "provisioner",
            "github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner",
            (f"-X main.version={provisioner}",),
        ),
    )


CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok", "kwokctl")
SNAPSHOT_STACK = ("csi-mock", "csi-provisioner", "snapshot-controller", "csi-snapshotter")
# The real node (realnode.py): only runs whose tests ask for it need the kubelet.
REAL_NODE = ("kubelet",)
ALL = CONTROL_PLANE + SNAPSHOT_STACK + REAL_NODE


def cache_root() -> Path:
    """Where builds and cluster work dirs live: outside the checkout, shared by all checkouts."""
    if configured := os.environ.get(CACHE_ENV):
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "maintenance-operator"


def cache_key() -> str:
    """Name of the build directory: the Kubernetes pin for people, a digest of all inputs for exactness."""
    digest = hashlib.sha256()
    for path in sorted(GO_DIR.rglob("*")):
        if path.relative_to(GO_DIR).parts[0] in SEPARATELY_CACHED:
            continue
        if path.is_file() and path.suffix in {".mod", ".sum", ".go"}:
            digest.update(str(path.relative_to(GO_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(repr(recipes()).encode())
    return f"k8s-{kubernetes_version()}-{digest.hexdigest()[:12]}"


def build_dir() -> Path:
    """The pinned build's directory: bin/ and snapshot-crds/ below it."""
    return cache_root() / cache_key()


def bin_dir() -> Path:
    """The directory binaries are taken from: the environment override, else the pinned cache."""
    if configured := os.environ.get(BIN_ENV):
        return Path(configured).expanduser().resolve()
    return build_dir() / "bin"


class BuildError(RuntimeError):
    """The binaries are missing and cannot be built; the message says what to do."""


def _missing(directory: Path, names: Iterable[str]) -> list[str]:
    return [name for name in names if not os.access(directory / name, os.X_OK)]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise builds into one directory, e.g. two `make` targets or two test runs starting at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "The local Kubernetes binaries are not built and `go` is not on PATH. Install Go >= 1.26 "
            f"(builds need the Go module proxy; the first build takes ~15 minutes), or set {BIN_ENV} to a "
            f"directory holding: {', '.join(ALL)}."
        )
    return go


def _go_build(go: str, module: str, binaries: list[Binary], out: Path) -> None:
    """One `go build` per module and flag set, so shared packages compile once for several commands."""
    first = binaries[0]
    command = [
        go,
        "build",
        "-trimpath",
        "-tags",
        first.tags,
        "-ldflags",
        " ".join(("-s", "-w", *first.ldflags)),
        "-o",
        f"{out}/",
        *(binary.package for binary in binaries),
    ]
    started = time.monotonic()
    names = ", ".join(binary.name for binary in binaries)
    print(f"[cluster build] building {names} ...", file=sys.stderr, flush=True)
    result = subprocess.run(command, cwd=GO_DIR / module, env={**os.environ, **GO_ENV}, check=False)
    if result.returncode != 0:
        raise BuildError(f"`go build` of {names} failed (exit {result.returncode}); see the output above.")
    print(f"[cluster build] built {names} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


def _build_missing(target: Path, names: Iterable[str]) -> None:
    go = _go()
    wanted = set(names)
    groups: dict[tuple[str, str, tuple[str, ...]], list[Binary]] = {}
    for binary in recipes():
        if binary.name in wanted:
            groups.setdefault((binary.module, binary.tags, binary.ldflags), []).append(binary)
    target.mkdir(parents=True, exist_ok=True)
    # Build into a scratch directory and move finished binaries in: an interrupted build never
    # leaves a truncated binary that a later run would mistake for a built one.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as scratch:
        for (module, _tags, _flags), binaries in groups.items():
            _go_build(go, module, binaries, Path(scratch))
            for binary in binaries:
                os.replace(Path(scratch) / binary.name, target / binary.name)


def ensure_binaries(names: Iterable[str] = ALL) -> Path:
    """Return the binary directory, building whatever of `names` is missing from the pinned cache."""
    names = tuple(names)
    if os.environ.get(BIN_ENV):
        directory = bin_dir()
        if missing := _missing(directory, names):
            raise BuildError(f"{BIN_ENV}={directory} lacks executables: {', '.join(missing)}")
        return directory
    directory = bin_dir()
    if not _missing(directory, names):
        return directory
    with _locked(directory.parent / ".build.lock"):
        if missing := _missing(directory, names):
            started = time.monotonic()
            print(
                f"[cluster build] {len(missing)} binaries missing from {directory}; building them from the Go "
                "module proxy (about 15 minutes on 2 cores the first time).",
                file=sys.stderr,
                flush=True,
            )
            _build_missing(directory, missing)
            print(f"[cluster build] done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return directory


# Prometheus with Kubernetes service discovery (Debian's package is built without it), and nothing else of it.
PROMETHEUS_SD = Binary(
    "prometheus",
    "prometheus",
    "github.com/prometheus/prometheus/cmd/prometheus",
    tags="remove_all_sd,enable_kubernetes_sd",
)


def ensure_tool(tool: Binary) -> Path:
    """The path of a test tool built from its SEPARATELY_CACHED wrapper module, built now when its inputs changed
    (go.mod, go.sum and the recipe)."""
    digest = hashlib.sha256(repr(tool).encode())
    for name in ("go.mod", "go.sum"):
        digest.update((GO_DIR / tool.module / name).read_bytes())
    target = cache_root() / "tools" / f"{tool.name}-{digest.hexdigest()[:12]}"
    if (target / tool.name).is_file():
        return target / tool.name
    with _locked(target.parent / f".{tool.name}.lock"):
        if not (target / tool.name).is_file():
            target.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as scratch:
                _go_build(_go(), tool.module, [tool], Path(scratch))
                os.replace(Path(scratch) / tool.name, target / tool.name)
    return target / tool.name


def module_source(wrapper: str, module: str) -> Path:
    """Where the Go module cache holds `module` at the version the wrapper module pins, or at the version `module`
    names (`path@version`, with no wrapper: ""), downloaded if missing."""
    listing = subprocess.run(
        [_go(), "mod", "download", "-json", module],
        cwd=GO_DIR / wrapper,
        env={**os.environ, **GO_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(json.loads(listing.stdout)["Dir"])


def snapshot_crd_dir() -> Path:
    """The snapshot.storage.k8s.io CRDs as published in external-snapshotter's client module.

    Copied next to the binaries, so a cluster never depends on the Go module cache still holding them.
    """
    beside_binaries = bin_dir().parent / "snapshot-crds"
    if (beside_binaries / "kustomization.yaml").is_file():
        return beside_binaries
    return _module_files("snapshot-crds", "snapshotter", SNAPSHOT_CLIENT_MODULE, "config/crd")


def monitoring_crd_dir() -> Path:
    """The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, from its Go module at a pinned version, so
    that deploy/prometheus is validated by the API server against the schemas users install."""
    return _module_files(
        "monitoring-crds",
        "",
        PROMETHEUS_OPERATOR_MODULE,
        "example/prometheus-operator-crd",
        names=("monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml"),
    )


def _module_files(name: str, wrapper: str, module: str, subdir: str, names: Iterable[str] = ()) -> Path:
    """`subdir`'s YAML files (or just `names`) of a downloaded module, copied once into the build cache as `name`."""
    target = build_dir() / name
    with _locked(build_dir() / ".build.lock"):
        if not target.is_dir():
            source = module_source(wrapper, module) / subdir
            target.parent.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".crds-"))
            for path in [source / n for n in names] or source.glob("*.yaml"):
                shutil.copyfile(path, scratch / path.name)
            scratch.rename(target)
    return target
