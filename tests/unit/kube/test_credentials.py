"""A rotated token file: the operator's own client follows it, by its stamp and after a 401, and kubeconfig
`tokenFile` users are found."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from maintenance_operator.kube.client import ApiError, KubeClient
from maintenance_operator.kube.credentials import Credentials, TokenFile, kubeconfig_token_file
from tests.unit.kube.fake_api import FakeKubeClient

PATH = "/apis/apps/v1/namespaces/shop/deployments"


class RevokingApi(FakeKubeClient):
    """Accepts only the tokens in `valid`; records the token every request carried."""

    watch = KubeClient.watch  # the real one (with its 401 handling) over the transport below

    def __init__(self, token_file: Path, valid: set[str]) -> None:
        token = token_file.read_text()
        super().__init__(creds=Credentials(server="https://fake.invalid", token=token, token_path=str(token_file)))
        self.valid = valid
        self.seen: list[str | None] = []

    def _check(self, method: str, path: str) -> None:
        self.seen.append(self.token())
        if self.token() not in self.valid:
            raise ApiError(401, method, path, "Unauthorized", "Unauthorized")

    async def _send(
        self,
        method: str,
        path: str,
        body: Any,
        content_type: str,
        params: Mapping[str, str] | None,
        accept: str | None,
    ) -> dict[str, Any]:
        self._check(method, path)
        return {"kind": "DeploymentList", "items": []}

    async def _watch(self, path: str, params: Mapping[str, str], accept: str | None) -> AsyncIterator[dict[str, Any]]:
        self._check("WATCH", path)
        yield {"type": "BOOKMARK", "object": {}}


def rewrite_same_stamp(path: Path, token: str) -> None:
    """Replace the content but keep size and mtime, as a rewrite within the filesystem's time resolution can."""
    st = path.stat()
    path.write_text(token)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_token_file_is_reread_only_when_its_stamp_changes(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("one\n")
    tokens = TokenFile(str(path))
    assert tokens.current() == "one"
    rewrite_same_stamp(path, "two\n")
    assert tokens.current() == "one"  # same stamp: not read again
    assert tokens.reread() == "two"
    path.unlink()
    (tmp_path / "new").write_text("three")
    (tmp_path / "new").rename(path)  # an atomic swap, like kubelet's
    assert tokens.current() == "three"
    path.unlink()
    assert tokens.current() == "three"  # gone mid-rotation: the last token stays


async def test_a_changed_token_file_is_used_for_the_next_request(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("one")
    api = RevokingApi(path, {"one", "two"})
    await api.request("GET", PATH)
    path.write_text("two-")  # another size: a new stamp
    path.write_text("two")
    await api.request("GET", PATH)
    assert api.seen == ["one", "two"]


async def test_a_401_rereads_the_token_and_retries_once(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("one")
    api = RevokingApi(path, {"one"})
    await api.request("GET", PATH)
    rewrite_same_stamp(path, "two")  # the stamp does not show the change: only the 401 does
    api.valid = {"two"}
    await api.request("PATCH", f"{PATH}/web", body={})
    assert api.seen == ["one", "one", "two"]


async def test_a_401_with_an_unchanged_token_is_not_retried(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("one")
    api = RevokingApi(path, set())
    with pytest.raises(ApiError) as err:
        await api.request("GET", PATH)
    assert err.value.status == 401
    assert api.seen == ["one"]


async def test_a_watch_refused_with_401_is_reopened_with_the_new_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("one")
    api = RevokingApi(path, {"two"})
    rewrite_same_stamp(path, "two")
    events = [e async for e in api.watch(PATH, {"timeoutSeconds": "5"})]
    assert [e["type"] for e in events] == ["BOOKMARK"]
    assert api.seen == ["one", "two"]


def kubeconfig(tmp_path: Path, user: dict[str, str]) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }
    path = tmp_path / "config"
    path.write_text(json.dumps(config))
    return path


def test_kubeconfig_token_file_is_resolved_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    assert kubeconfig_token_file(str(kubeconfig(tmp_path, {"tokenFile": "sa/token"})), None) == str(
        tmp_path / "sa" / "token"
    )
    assert kubeconfig_token_file(str(kubeconfig(tmp_path, {"tokenFile": "/run/t"})), "ctx") == "/run/t"
    assert kubeconfig_token_file(str(kubeconfig(tmp_path, {"token": "inline", "tokenFile": "/run/t"})), None) is None
    assert kubeconfig_token_file(str(kubeconfig(tmp_path, {"token": "inline"})), None) is None
