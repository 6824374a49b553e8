"""The operator's image, built without a daemon: buildah, deploy/image/Containerfile, an oci-archive in the cache.

No image registry is reachable here, so the Containerfile's two registry images are replaced by local
ones in buildah's own storage under the cache: the base (BASE) is a Debian bookworm made with debootstrap
from the machine's apt sources (minbase + python3, upgraded from -updates and -security, trimmed), and
uv (UV_IMAGE) is the binary the Makefile already uses. The archive is named after a digest of every
input (the Containerfile, the build context, the base recipe, the uv version), so unchanged inputs reuse
it. The tools (buildah, debootstrap, and umoci + runc for running the image) are Debian packages,
installed here when missing.

`run()` runs a command in the built image the way a kubelet would: umoci unpacks the archive into an OCI
runtime bundle whose config comes from the image's own config (User, Env, Entrypoint), and runc runs it
with a read-only root, no capabilities and no new privileges. Not `buildah run`: it runs a container of
buildah's storage, not the archive that ships, takes the user from a flag, and has no read-only root.

`python -m tests.cluster.image [build|path|run -- ARGS]` (`make image` is `build`).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cluster.build import _locked, cache_root

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = Path("deploy/image/Containerfile")
# The build context: what the Containerfile copies (Containerfile.dockerignore lists the same for Docker).
CONTEXT = ("pyproject.toml", "uv.lock", "README.md", "operator")
SKIPPED = ("__pycache__", ".pyc")
IMAGE = "localhost/maintenance-operator"
USER = "65532:65532"

# Command -> the Debian package that provides it.
PACKAGES = {"buildah": "buildah", "debootstrap": "debootstrap", "umoci": "umoci", "runc": "runc"}
BUILD_TOOLS = ("buildah", "debootstrap")
RUN_TOOLS = ("umoci", "runc")
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
STORAGE_DRIVER = "overlay"  # works on this machine's ext4 root; vfs would copy every layer per container


@dataclass(frozen=True)
class BaseRecipe:
    """How the local base image is made; its repr is part of the image's cache key."""

    suite: str = "bookworm"
    variant: str = "minbase"
    include: tuple[str, ...] = ("python3",)
    upgrade_from: tuple[str, ...] = ("bookworm", "bookworm-updates", "bookworm-security")
    # Removed after the upgrade: package caches and lists, docs, logs, and files the runtime provides.
    trim: tuple[str, ...] = (
        "var/cache/apt/*",
        "var/lib/apt/lists/*",
        "var/cache/debconf/*-old",
        "var/lib/dpkg/*-old",
        "var/log/*",
        "usr/share/doc/*",
        "usr/share/man/*",
        "usr/share/info/*",
        "usr/share/locale/*",
        "dev/*",
        "tmp/*",
        "run/*",
    )
    emptied: tuple[str, ...] = ("etc/resolv.conf", "etc/hostname")
    env: tuple[str, ...] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8")

    def key(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()[:12]

    def tag(self) -> str:
        return f"localhost/maintenance-operator-base:{self.suite}-{self.key()}"


class ImageError(RuntimeError):
    """The image cannot be built or run; the message says why and what to do."""


def images_dir() -> Path:
    return cache_root() / "images"


def _storage_flags() -> list[str]:
    """buildah's storage under the cache, separate from any system-wide containers storage."""
    base = images_dir() / "buildah"
    return ["--root", str(base / "storage"), "--runroot", str(base / "run"), "--storage-driver", STORAGE_DRIVER]


def _buildah(*args: str, capture: bool = False) -> str:
    return _run(["buildah", *_storage_flags(), *args], capture=capture)


def _run(command: Sequence[str], *, capture: bool = False, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, check=False, text=True, stdout=subprocess.PIPE if capture else None, env=env)
    if result.returncode != 0:
        raise ImageError(f"`{' '.join(command)}` failed (exit {result.returncode}); see the output above.")
    return result.stdout.strip() if capture else ""


def _log(message: str) -> None:
    print(f"[image] {message}", file=sys.stderr, flush=True)


# Tools ------------------------------------------------------------------------------------------------


@functools.cache
def _apt_update() -> None:
    """Once per process: a fresh machine's package lists may be missing or old."""
    _run(["apt-get", "update", "-qq"], env=_apt_env())


def _apt_env() -> dict[str, str]:
    return {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def ensure_tools(commands: Sequence[str]) -> None:
    """Install the Debian packages of the missing `commands` (as root, with apt), or say how to."""
    missing = [PACKAGES[command] for command in commands if shutil.which(command) is None]
    if "debootstrap" in commands and not KEYRING.is_file():
        missing.append("debian-archive-keyring")
    apt_install(missing, "the image")
    if still := [command for command in commands if shutil.which(command) is None]:
        raise ImageError(f"installed {', '.join(missing)} but {', '.join(still)} is still not on PATH")


def apt_install(packages: Sequence[str], needed_by: str) -> None:
    """Install Debian `packages` (as root, with apt; lists updated once per process), or say how to."""
    if not packages:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ImageError(f"{needed_by} needs the Debian packages {', '.join(packages)}: apt-get install them as root.")
    _log(f"installing {' '.join(packages)} (Debian packages, for {needed_by})")
    _apt_update()
    # Another apt run (another checkout's build) may hold the lock for a while: wait for it.
    lock_wait = ["-o", "DPkg::Lock::Timeout=300"]
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *lock_wait, *packages], env=_apt_env())


def uv_binary() -> Path:
    """The uv that runs this (`uv run` sets $UV), else the one on PATH, else the Makefile's .tools/bin/uv."""
    for candidate in (os.environ.get("UV"), shutil.which("uv"), str(REPO / ".tools" / "bin" / "uv")):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise ImageError("uv is not installed: run `make venv` (it installs uv into .tools/)")


def uv_version() -> str:
    output = _run([str(uv_binary()), "--version"], capture=True)  # "uv 0.13.9 (x86_64-unknown-linux-gnu)"
    return output.split()[1]


def project_version(repo: Path = REPO) -> str:
    version: str = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["version"]
    return version


# Inputs and cache key -------------------------------------------------------------------------------


def context_files(repo: Path = REPO) -> Iterator[Path]:
    """Every file of the build context, relative to the repository, in a stable order."""
    for name in CONTEXT:
        path = repo / name
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for candidate in candidates:
            relative = candidate.relative_to(repo)
            if candidate.is_file() and not any(part.endswith(SKIPPED) for part in relative.parts):
                yield relative


def cache_key(repo: Path = REPO, uv: str = "", base: BaseRecipe = BaseRecipe()) -> str:
    """`<version>-<digest>`: the digest covers the Containerfile, the context, the base recipe and uv."""
    digest = hashlib.sha256()
    for relative in (CONTAINERFILE, *context_files(repo)):
        digest.update(str(relative).encode() + b"\0" + (repo / relative).read_bytes() + b"\0")
    digest.update(f"{base.tag()}\0uv {uv}\0".encode())
    return f"{project_version(repo)}-{digest.hexdigest()[:12]}"


def archive_path(key: str) -> Path:
    return images_dir() / f"maintenance-operator-{key}.oci.tar"


def reference() -> str:
    """The name the archive's index gives the image (org.opencontainers.image.ref.name)."""
    return f"{IMAGE}:{project_version()}"


# The local base and uv images -------------------------------------------------------------------------


def _image_exists(name: str) -> bool:
    command = ["buildah", *_storage_flags(), "inspect", "--type", "image", name]
    return subprocess.run(command, check=False, capture_output=True).returncode == 0


def apt_sources(suites: Sequence[str], root: Path = Path("/")) -> list[tuple[str, str]]:
    """(URI, suite) of this machine's Debian `deb` sources (one-line and deb822) for `suites`, in apt's order."""
    etc = root / "etc" / "apt"
    found: list[tuple[str, str]] = []
    for path in [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]:
        for line in path.read_text().splitlines() if path.is_file() else []:
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                found.append((words[1], words[2]))
    for path in sorted((etc / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields: dict[str, str] = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", stanza, re.MULTILINE))
            if "deb" in fields.get("Types", "").split() and fields.get("Enabled", "yes") != "no":
                found += [(uri, suite) for uri in fields.get("URIs", "").split() for suite in fields["Suites"].split()]
    return [(uri, suite) for uri, suite in found if suite in suites]


def _unmount_below(path: Path) -> None:
    """Unmount everything mounted at or below `path`, deepest first (e.g. what a failed debootstrap left)."""
    targets = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for target in sorted((t for t in targets if Path(t).is_relative_to(path)), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", target], check=False)


def _make_base(recipe: BaseRecipe, scratch: Path) -> None:
    """debootstrap into `scratch`, upgrade, trim, and commit it as a one-layer image named recipe.tag()."""
    sources = apt_sources(recipe.upgrade_from)
    mirrors = [uri for uri, suite in sources if suite == recipe.suite]
    if not mirrors:
        raise ImageError(f"no `deb` source for {recipe.suite} in /etc/apt: debootstrap needs a Debian mirror")
    rootfs = scratch / "rootfs"
    started = time.monotonic()
    _log(f"base: debootstrap --variant={recipe.variant} {recipe.suite} + {', '.join(recipe.include)}")
    command = [
        "debootstrap",
        f"--variant={recipe.variant}",
        f"--include={','.join(recipe.include)}",
        f"--keyring={KEYRING}",
        recipe.suite,
        str(rootfs),
        mirrors[0],
    ]
    try:
        _run(command)
        # Security and point-release updates, from the same sources the machine uses.
        lines = sorted({f"deb {uri} {suite} main\n" for uri, suite in sources}, key=lambda line: line.split()[2])
        (rootfs / "etc/apt/sources.list").write_text("".join(lines))
        _run(["chroot", str(rootfs), "apt-get", "update", "-qq"], env=_apt_env())
        _run(["chroot", str(rootfs), "apt-get", "upgrade", "-y", "-qq"], env=_apt_env())
    finally:
        _unmount_below(rootfs)
    for pattern in recipe.trim:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for name in recipe.emptied:
        (rootfs / name).unlink(missing_ok=True)
        (rootfs / name).touch()
    _log(f"base: rootfs ready in {time.monotonic() - started:.0f} s")
    # A failure leaves the working container to _tidy_storage().
    container = _buildah("from", "scratch", capture=True)
    mountpoint = _buildah("mount", container, capture=True)
    _run(["cp", "-a", f"{rootfs}/.", mountpoint])  # keeps owners, modes, links and special files
    _buildah("umount", container, capture=True)
    _buildah("config", *(arg for env in recipe.env for arg in ("--env", env)), container)
    _buildah("commit", "--quiet", "--rm", container, recipe.tag(), capture=True)
    _log(f"base: {recipe.tag()} in {time.monotonic() - started:.0f} s")


def _make_uv_image(tag: str) -> None:
    """A one-file image holding uv at /uv, as the official uv image does."""
    container = _buildah("from", "scratch", capture=True)
    _buildah("copy", "--quiet", container, str(uv_binary()), "/uv")
    _buildah("commit", "--quiet", "--rm", container, tag, capture=True)


def _ca_bundle_flags() -> list[str]:
    """The machine's CA bundle ($SSL_CERT_FILE, else Debian's) for the build stage's downloads.

    Behind a TLS-inspecting proxy uv's own roots fail; the machine's bundle holds the proxy's CA as well
    as the public ones.
    """
    bundle = os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
    if not Path(bundle).is_file():
        return []
    inside = "/run/build-ca.crt"
    return ["--volume", f"{Path(bundle).resolve()}:{inside}:ro", "--build-arg", f"SSL_CERT_FILE={inside}"]


def _stage_context(repo: Path, target: Path) -> None:
    for relative in context_files(repo):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / relative, target / relative)


def _prune(keep: Path, count: int = 3) -> None:
    """Keep the newest `count` archives (so switching branches back is cheap), and only the current unpack."""
    archives = sorted(images_dir().glob("maintenance-operator-*.oci.tar"), key=lambda p: p.stat().st_mtime)
    for old in archives[:-count]:
        if old != keep:
            old.unlink()
    for unpacked in (images_dir() / "unpacked").glob("*"):
        if unpacked.name != keep.name.removesuffix(".oci.tar"):
            shutil.rmtree(unpacked, ignore_errors=True)


def _tidy_storage() -> None:
    """Best effort: drop what builds leave in buildah's storage, and its mount of the storage directory.

    bud keeps the container of the `FROM ${UV_IMAGE} AS uv` stage and an untagged build-stage image, and an
    interrupted build keeps more; nothing else uses this storage. Unmounting the storage's own bind mount
    leaves the cache removable with plain `rm -rf` (buildah mounts it again when it next runs).
    """
    for args in (("rm", "--all"), ("rmi", "--prune")):
        subprocess.run(["buildah", *_storage_flags(), *args], check=False, capture_output=True)
    _unmount_below(images_dir() / "buildah" / "storage")


def _build(repo: Path, recipe: BaseRecipe, uv: str, key: str, archive: Path) -> None:
    with tempfile.TemporaryDirectory(dir=images_dir(), prefix=".build-") as scratch_name:
        scratch = Path(scratch_name)
        if not _image_exists(recipe.tag()):
            _make_base(recipe, scratch)
        uv_image = f"localhost/maintenance-operator-uv:{uv}"
        if not _image_exists(uv_image):
            _make_uv_image(uv_image)
        context = scratch / "context"
        _stage_context(repo, context)
        tag = f"{IMAGE}:{key}"
        started = time.monotonic()
        _log(f"buildah bud {CONTAINERFILE} (BASE={recipe.tag()}, UV_IMAGE={uv_image})")
        _buildah(
            "bud",
            *_ca_bundle_flags(),
            "--isolation",
            "chroot",
            "--network",
            "host",
            "--pull=never",  # a separate value would be read as the context: --pull takes an optional one
            "--build-arg",
            f"BASE={recipe.tag()}",
            "--build-arg",
            f"UV_IMAGE={uv_image}",
            "--file",
            str(repo / CONTAINERFILE),
            "--tag",
            tag,
            str(context),
        )
        _log(f"buildah bud done in {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        partial = scratch / archive.name
        _buildah("push", "--quiet", tag, f"oci-archive:{partial}:{reference()}")
        _buildah("rmi", tag, capture=True)
        os.replace(partial, archive)
        _log(f"pushed to the oci-archive in {time.monotonic() - started:.0f} s")


def ensure_image(repo: Path = REPO) -> Path:
    """The oci-archive of the image for the current inputs: reused when it exists, else built now."""
    uv = uv_version()
    recipe = BaseRecipe()
    key = cache_key(repo, uv, recipe)
    archive = archive_path(key)
    if archive.is_file():
        _log(f"reused {archive} (inputs unchanged)")
        return archive
    with _locked(images_dir() / ".build.lock"):
        if archive.is_file():
            _log(f"reused {archive} (built meanwhile)")
            return archive
        ensure_tools(BUILD_TOOLS)
        started = time.monotonic()
        _tidy_storage()
        try:
            _build(repo, recipe, uv, key, archive)
        finally:
            _tidy_storage()
        _log(f"built {archive} ({archive.stat().st_size / 2**20:.0f} MiB) in {time.monotonic() - started:.0f} s")
        _prune(archive)
    return archive


def base_archive_path(recipe: BaseRecipe = BaseRecipe()) -> Path:
    return images_dir() / f"base-{recipe.suite}-{recipe.key()}.oci.tar"


def ensure_base_archive(recipe: BaseRecipe = BaseRecipe()) -> Path:
    """The local base image as an oci-archive (made first if missing), for a containerd that cannot read buildah's
    storage: a real node imports it beside the operator's image."""
    archive = base_archive_path(recipe)
    if archive.is_file():
        return archive
    images_dir().mkdir(parents=True, exist_ok=True)
    with _locked(images_dir() / ".build.lock"):
        if archive.is_file():
            return archive
        ensure_tools(BUILD_TOOLS)
        with tempfile.TemporaryDirectory(dir=images_dir(), prefix=".base-") as scratch:
            try:
                if not _image_exists(recipe.tag()):
                    _make_base(recipe, Path(scratch))
                partial = Path(scratch) / archive.name
                _buildah("push", "--quiet", recipe.tag(), f"oci-archive:{partial}:{recipe.tag()}")
                os.replace(partial, archive)
            finally:
                _tidy_storage()
        for old in images_dir().glob("base-*.oci.tar"):
            if old != archive:
                old.unlink()
    return archive


# Reading and running the archive ----------------------------------------------------------------------


def _archive_json(archive: Path, member: str) -> Any:
    with tarfile.open(archive) as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise ImageError(f"{archive} has no file {member}")
        return json.load(handle)


def index(archive: Path) -> Any:
    """The archive's OCI index (index.json)."""
    return _archive_json(archive, "index.json")


def image_config(archive: Path) -> Any:
    """The image's config blob (its `config` holds User, Env, Entrypoint, Cmd)."""
    manifest_digest = index(archive)["manifests"][0]["digest"]
    manifest = _archive_json(archive, "blobs/" + manifest_digest.replace(":", "/"))
    return _archive_json(archive, "blobs/" + manifest["config"]["digest"].replace(":", "/"))


def unpack(archive: Path) -> Path:
    """The archive unpacked by umoci into an OCI runtime bundle (config.json + rootfs), once per archive."""
    bundle = images_dir() / "unpacked" / archive.name.removesuffix(".oci.tar")
    if (bundle / "config.json").is_file():
        return bundle
    ensure_tools(RUN_TOOLS)
    with _locked(images_dir() / ".unpack.lock"):
        if (bundle / "config.json").is_file():
            return bundle
        bundle.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=bundle.parent, prefix=".unpack-") as scratch:
            layout = Path(scratch) / "layout"
            layout.mkdir()
            _run(["tar", "-xf", str(archive), "-C", str(layout)])
            # umoci takes a plain tag: name the image by one in this private copy of the layout.
            listing = json.loads((layout / "index.json").read_text())
            listing["manifests"][0].setdefault("annotations", {})["org.opencontainers.image.ref.name"] = "image"
            (layout / "index.json").write_text(json.dumps(listing))
            _run(["umoci", "unpack", "--image", f"{layout}:image", str(Path(scratch) / "bundle")])
            shutil.rmtree(bundle, ignore_errors=True)
            os.replace(Path(scratch) / "bundle", bundle)
    return bundle


def run(
    archive: Path, args: Sequence[str], *, entrypoint: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the image with runc as a kubelet would with a restricted securityContext; output is captured.

    With `entrypoint` the args follow the image's Entrypoint, else they replace it. The process gets the
    image's User and Env, a read-only root filesystem, no capabilities, no new privileges and its own
    network namespace with no interfaces up.
    """
    bundle = unpack(archive)
    ensure_tools(RUN_TOOLS)
    spec = json.loads((bundle / "config.json").read_text())
    process = spec["process"]
    process["args"] = [*process["args"], *args] if entrypoint else list(args)
    process["terminal"] = False
    process["noNewPrivileges"] = True
    process["capabilities"] = {kind: [] for kind in ("bounding", "effective", "inheritable", "permitted", "ambient")}
    spec["root"] = {"path": str(bundle / "rootfs"), "readonly": True}
    state = images_dir() / "runc"
    name = f"mo-image-{os.getpid()}-{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory(prefix="mo-image-run-") as run_bundle:
        (Path(run_bundle) / "config.json").write_text(json.dumps(spec))
        command = ["runc", "--root", str(state), "run", "--bundle", run_bundle, name]
        try:
            return subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout)
        finally:
            # `runc run` deletes its container when the process exits; this covers a timeout.
            subprocess.run(["runc", "--root", str(state), "delete", "--force", name], check=False, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.image", description=__doc__)
    parser.add_argument("command", nargs="?", default="build", choices=("build", "path", "run"))
    parser.add_argument("args", nargs="*", help="for run: the arguments after the Entrypoint")
    options = parser.parse_args(argv)
    try:
        if options.command == "path":
            print(archive_path(cache_key(uv=uv_version())))
            return 0
        started = time.monotonic()
        archive = ensure_image()
        if options.command == "run":
            result = run(archive, options.args)
            print(result.stdout, end="")
            print(result.stderr, end="", file=sys.stderr)
            return result.returncode
        print(f"{archive}\n(image {reference()}; {time.monotonic() - started:.1f} s)")
    except ImageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
