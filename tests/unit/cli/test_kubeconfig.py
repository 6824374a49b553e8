"""Credentials are found as kubectl finds them: --kubeconfig, else KUBECONFIG; --context; namespace from context."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from maintenance_operator.api import rest
from maintenance_operator.cli import kubeapi


def write_kubeconfig(path: Path) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [
            {"name": "plain", "context": {"cluster": "c", "user": "u"}},
            {"name": "team", "context": {"cluster": "c", "user": "u", "namespace": "team-a"}},
        ],
        "current-context": "team",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_current_context_namespace_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "config")))
    kube = kubeapi.connect(None, None)
    assert kube.default_namespace == "team-a"


def test_explicit_file_and_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    kube = kubeapi.connect(str(write_kubeconfig(tmp_path / "config")), "plain")
    assert kube.default_namespace == "default"


def test_unknown_context(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config")
    with pytest.raises(kubeapi.KubeError, match=f"context 'nope' not found in {path}"):
        kubeapi.connect(str(path), "nope")


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    kube = kubeapi.connect(str(write_kubeconfig(tmp_path / "config")), None)
    with pytest.raises(kubeapi.KubeError) as info:
        kube.list_objects(rest.DEPLOYMENTS, "team-a")
    assert str(info.value).startswith("cannot reach the API server at https://127.0.0.1:1")
    assert "\n" not in str(info.value)
