"""The real node's pieces that need no kubelet: build targets and the pause image's archive."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.cluster import build, pause


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(build.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_kubelet_is_its_own_build_target_built_like_the_control_plane() -> None:
    assert build.REAL_NODE == ("kubelet",)
    assert "kubelet" not in build.CONTROL_PLANE and "kubelet" in build.ALL
    recipes = {binary.name: binary for binary in build.recipes()}
    kubelet, apiserver = recipes["kubelet"], recipes["kube-apiserver"]
    assert kubelet.package == "k8s.io/kubernetes/cmd/kubelet"
    # Same module, tags and version stamp: one `go build` compiles it with the control plane's shared packages.
    assert (kubelet.module, kubelet.tags, kubelet.ldflags) == (apiserver.module, apiserver.tags, apiserver.ldflags)
    assert "k8s.io/kubernetes/cmd/kubelet" in (build.GO_DIR / "kubernetes" / "go.mod").read_text()


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_the_pause_archive_is_an_oci_layout_naming_its_image(tmp_path: Path) -> None:
    archive = tmp_path / "pause.oci.tar"
    pause.write_oci_archive(archive, "localhost/p:1", b"\x7fELF binary", {"Entrypoint": ["/pause"]})
    files = _members(archive)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    # Every blob is stored under its own digest.
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert name.removeprefix("blobs/sha256/") == hashlib.sha256(data).hexdigest()
    (descriptor,) = json.loads(files["index.json"])["manifests"]
    assert descriptor["annotations"]["org.opencontainers.image.ref.name"] == "localhost/p:1"

    def blob(digest: str) -> bytes:
        return files["blobs/sha256/" + digest.removeprefix("sha256:")]

    manifest = json.loads(blob(descriptor["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    assert config["config"]["Entrypoint"] == ["/pause"]
    (layer,) = manifest["layers"]
    assert config["rootfs"]["diff_ids"] == [layer["digest"]]  # uncompressed: the diff id is the blob's digest
    with tarfile.open(fileobj=io.BytesIO(blob(layer["digest"]))) as tar:
        (member,) = tar.getmembers()
        assert (member.name, member.mode, member.uid) == ("pause", 0o755, 0)


def test_the_pause_archive_is_reproducible(tmp_path: Path) -> None:
    first, second = tmp_path / "a.tar", tmp_path / "b.tar"
    for path in (first, second):
        pause.write_oci_archive(path, "localhost/p:1", b"same", {"Entrypoint": ["/pause"]})
    assert first.read_bytes() == second.read_bytes()
