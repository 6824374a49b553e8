"""The real node's pieces that need no kubelet: build targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster import build


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
