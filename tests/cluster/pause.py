"""The pause image for a real node's containerd, built from Kubernetes' own source: no registry is reachable here.

Every Pod's sandbox runs this image (containerd's `sandbox_image`). Kubernetes ships its source in the pinned
k8s.io/kubernetes module (`build/pause/linux/pause.c`), so it is compiled the way its Makefile does
(`gcc -Os -Wall -Werror -static`) into a one-layer image with entrypoint /pause, written as an oci-archive
whose index names it, so `ctr images import` imports it under that name. The archive is keyed by its inputs
(the source, the compiler's version, this recipe) and reused while they are unchanged.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cluster import build
from tests.cluster.image import ImageError, apt_install, images_dir

NAME = "localhost/maintenance-operator-pause"
# Command (or file) -> Debian package: the C compiler, and the static C library that `-static` links.
BUILD_PACKAGES = {"gcc": "gcc", f"/usr/lib/{platform.machine()}-linux-gnu/libc.a": "libc6-dev"}


@dataclass(frozen=True)
class PauseRecipe:
    """How the binary and image are made; its repr is part of the cache key."""

    source: str = "build/pause/linux/pause.c"
    version: str = "3.10.2"  # build/pause/Makefile's TAG in v1.37.2
    cflags: tuple[str, ...] = ("-Os", "-Wall", "-Werror", "-static")
    user: str = "65535:65535"  # as the published image: the sandbox needs no privilege

    def reference(self) -> str:
        return f"{NAME}:{self.version}"


def _architecture() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def source_file(recipe: PauseRecipe = PauseRecipe()) -> Path:
    """pause.c in the Go module cache (downloaded through the proxy if needed: the kubernetes wrapper pins it)."""
    listing = subprocess.run(
        [build._go(), "mod", "download", "-json", f"k8s.io/kubernetes@{build.kubernetes_version()}"],
        cwd=build.GO_DIR / "kubernetes",
        env={**os.environ, **build.GO_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    path = Path(json.loads(listing.stdout)["Dir"]) / recipe.source
    if not path.is_file():
        raise ImageError(f"{path} is missing from the k8s.io/kubernetes module")
    return path


def _gcc_version() -> str:
    return subprocess.run(["gcc", "-dumpfullversion"], check=True, capture_output=True, text=True).stdout.strip()


def _ensure_compiler() -> None:
    missing = [package for need, package in BUILD_PACKAGES.items() if not (shutil.which(need) or Path(need).exists())]
    apt_install(missing, "the pause image")


def archive_path(source: bytes, recipe: PauseRecipe = PauseRecipe()) -> Path:
    digest = hashlib.sha256(source + repr(recipe).encode() + _gcc_version().encode()).hexdigest()[:12]
    return images_dir() / f"pause-{recipe.version}-{digest}.oci.tar"


def _blob(blobs: dict[str, bytes], data: bytes) -> dict[str, Any]:
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    blobs[digest] = data
    return {"digest": digest, "size": len(data)}


def _layer(binary: bytes) -> bytes:
    """A tar holding only /pause, with fixed owner and time so the same binary gives the same digest."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("pause")
        info.size, info.mode, info.mtime = len(binary), 0o755, 0
        tar.addfile(info, io.BytesIO(binary))
    return buffer.getvalue()


def write_oci_archive(path: Path, reference: str, binary: bytes, config: dict[str, Any]) -> None:
    """An OCI image layout in a tar (what `oci-archive:` means), one uncompressed layer, its index naming it."""
    blobs: dict[str, bytes] = {}
    layer = _layer(binary)
    layer_descriptor = {"mediaType": "application/vnd.oci.image.layer.v1.tar", **_blob(blobs, layer)}
    image_config = {
        "architecture": _architecture(),
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer_descriptor["digest"]]},
    }
    config_descriptor = {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        **_blob(blobs, json.dumps(image_config, sort_keys=True).encode()),
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_descriptor,
        "layers": [layer_descriptor],
    }
    manifest_descriptor = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **_blob(blobs, json.dumps(manifest, sort_keys=True).encode()),
        "annotations": {"org.opencontainers.image.ref.name": reference},
    }
    files = {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps({"schemaVersion": 2, "manifests": [manifest_descriptor]}).encode(),
        **{f"blobs/sha256/{digest.removeprefix('sha256:')}": data for digest, data in blobs.items()},
    }
    with tarfile.open(path, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))


def ensure_pause_archive(recipe: PauseRecipe = PauseRecipe()) -> Path:
    """The pause image's oci-archive for the current inputs: reused when it exists, else compiled and written."""
    _ensure_compiler()
    source = source_file(recipe)
    text = source.read_bytes()
    archive = archive_path(text, recipe)
    if archive.is_file():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    with build._locked(images_dir() / ".pause.lock"), tempfile.TemporaryDirectory(dir=archive.parent) as scratch:
        if archive.is_file():
            return archive
        binary = Path(scratch) / "pause"
        version = f"-DVERSION=v{recipe.version}-maintenance-operator"
        subprocess.run(["gcc", *recipe.cflags, version, "-o", str(binary), str(source)], check=True)
        subprocess.run(["strip", str(binary)], check=True)
        partial = Path(scratch) / archive.name
        config = {"Entrypoint": ["/pause"], "User": recipe.user}
        write_oci_archive(partial, recipe.reference(), binary.read_bytes(), config)
        os.replace(partial, archive)
        for old in archive.parent.glob("pause-*.oci.tar"):
            if old != archive:
                old.unlink()
    return archive
