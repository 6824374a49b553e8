"""The real node's pieces that need no kubelet: build targets, the kwokctl patches, the pause image's archive, and
the teardown's bookkeeping (what it removes and, as important, what it leaves alone)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.cluster import build, pause, pytest_plugin, realnode
from tests.cluster import cluster as cluster_module
from tests.cluster.cluster import LocalCluster


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


def _config(cluster: LocalCluster) -> dict[str, Any]:
    cluster.state_dir.mkdir(parents=True)
    config: dict[str, Any] = json.loads(cluster._kwokctl_config().read_text())
    return config


def test_a_cluster_without_a_real_node_keeps_kwok_managing_every_node() -> None:
    config = _config(LocalCluster("plain"))
    assert "componentsPatches" not in config
    assert "kubeApiserverCertSANs" not in config["options"]


def test_a_real_node_cluster_leaves_unannotated_nodes_to_their_kubelet() -> None:
    cluster = LocalCluster("real", real_node=True)
    config = _config(cluster)
    patches = {patch["name"]: patch["extraArgs"] for patch in config["componentsPatches"]}
    kwok = {arg["key"]: arg for arg in patches["kwok-controller"]}
    assert kwok["manage-all-nodes"] == {"key": "manage-all-nodes", "value": "false", "override": True}
    # kwokctl's node template annotates its nodes so: they stay kwok's.
    assert kwok["manage-nodes-with-annotation-selector"]["value"] == "kwok.x-k8s.io/node=fake"
    apiserver = {arg["key"]: arg["value"] for arg in patches["kube-apiserver"]}
    assert apiserver["kubelet-client-certificate"] == str(cluster.workdir / "pki" / "admin.crt")
    assert apiserver["kubelet-client-key"] == str(cluster.workdir / "pki" / "admin.key")
    assert apiserver["kubelet-preferred-address-types"] == "InternalIP,Hostname"
    assert config["options"]["kubeApiserverCertSANs"] == [realnode.NODE_IP]


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


def _state(**changes: Any) -> realnode.State:
    values: dict[str, Any] = {
        "cluster": "c",
        "node": "c-real",
        "sysctls": {},
        "mounts": [],
        "tables": [],
        "chains": [],
        "links": [],
        "cgroups": [],
        "paths": {},
    }
    return realnode.State(**{**values, **changes})


def test_the_state_survives_a_round_trip() -> None:
    state = _state(sysctls={"kernel.panic": "1"}, api_port=6443, paths={"/run/netns": None})
    state.save()
    assert realnode.State.load() == state


def test_netfilter_undo_removes_only_what_appeared(monkeypatch: pytest.MonkeyPatch) -> None:
    def table(family: str, name: str) -> dict[str, Any]:
        return {"table": {"family": family, "name": name}}

    def chain(name: str, table: str = "filter") -> dict[str, Any]:
        return {"chain": {"family": "ip", "table": table, "name": name}}

    def rule(chain: str, handle: int, jump: str | None) -> dict[str, Any]:
        expr = [{"counter": None}] + ([{"jump": {"target": jump}}] if jump else [])
        return {"rule": {"family": "ip", "table": "filter", "chain": chain, "handle": handle, "expr": expr}}

    # Before: the host had ip filter with INPUT and its own chain. The kubelet added a chain there with a jump
    # to it, and a whole new table.
    state = _state(tables=[["ip", "filter"]], chains=[["ip", "filter", "INPUT"], ["ip", "filter", "MINE"]])
    ruleset = [
        table("ip", "filter"),
        chain("INPUT"),
        chain("MINE"),
        chain("KUBE-FIREWALL"),
        rule("INPUT", 4, "MINE"),
        rule("INPUT", 5, "KUBE-FIREWALL"),
        rule("KUBE-FIREWALL", 6, None),
        table("ip", "mangle"),
        chain("KUBE-KUBELET-CANARY", "mangle"),
    ]
    commands: list[tuple[str, ...]] = []

    def fake_ruleset() -> list[dict[str, Any]]:
        deleted = {c[4] for c in commands if c[:3] == ("nft", "delete", "table")}

        def table_of(item: dict[str, Any]) -> str:
            (kind, body), *_ = item.items()
            return str(body["name"] if kind == "table" else body["table"])

        return [item for item in ruleset if table_of(item) not in deleted]

    monkeypatch.setattr(realnode, "nft_ruleset", fake_ruleset)
    monkeypatch.setattr(realnode, "_run", lambda *command, **_: commands.append(command))
    realnode._undo_netfilter(state)
    assert commands == [
        ("nft", "delete", "table", "ip", "mangle"),
        ("nft", "delete", "rule", "ip", "filter", "INPUT", "handle", "5"),
        ("nft", "flush", "chain", "ip", "filter", "KUBE-FIREWALL"),
        ("nft", "delete", "chain", "ip", "filter", "KUBE-FIREWALL"),
    ]


def test_new_files_under_host_paths_go_and_old_ones_stay(tmp_path: Path) -> None:
    kept, created = tmp_path / "kept", tmp_path / "created"
    (kept / "old").mkdir(parents=True)
    state = _state(paths={str(kept): realnode._tree(kept), str(created): realnode._tree(created)})
    (kept / "old" / "new-file").write_text("x")
    (kept / "new-dir" / "deeper").mkdir(parents=True)
    (created / "device-plugins").mkdir(parents=True)
    realnode._remove_new_paths(state)
    assert realnode._tree(kept) == ["old"]
    assert not created.exists()


def test_tests_on_the_shared_real_node_are_ordered_last() -> None:
    items = [SimpleNamespace(name=name, fixturenames=fixtures) for name, fixtures in [
        ("a", ["cluster", "real_node"]), ("b", ["cluster"]), ("c", ["real_node"]), ("d", []),
    ]]  # fmt: skip
    pytest_plugin.pytest_collection_modifyitems(None, None, items)  # type: ignore[arg-type]
    assert [item.name for item in items] == ["b", "d", "a", "c"]


@pytest.mark.parametrize(
    ("holder", "stale", "exists", "torn_down"),
    [
        (None, False, False, False),  # a free machine
        ("mine", False, True, True),  # my cluster's previous node
        ("dead", True, True, True),  # its owner died
        ("gone", False, False, True),  # its cluster was deleted
    ],
)
def test_a_start_claims_the_machine_after_removing_a_stale_node(
    monkeypatch: pytest.MonkeyPatch, holder: str | None, stale: bool, exists: bool, torn_down: bool
) -> None:
    if holder is not None:
        _state(cluster=holder, node=f"{holder}-real").save()
    removed: list[str | None] = []
    monkeypatch.setattr(realnode, "_teardown_locked", lambda state: removed.append(state and state.cluster))
    monkeypatch.setattr(
        realnode.State, "record", staticmethod(lambda cluster, node: _state(cluster=cluster, node=node))
    )
    monkeypatch.setattr(cluster_module, "is_stale", lambda name: stale)
    monkeypatch.setattr(LocalCluster, "exists", lambda self: exists)
    state = realnode._claim_machine("mine", "mine-real", 1234)
    assert removed == ([holder] if torn_down else [])
    assert (state.cluster, state.node, state.api_port) == ("mine", "mine-real", 1234)
    assert realnode.State.load() == state


def test_a_live_node_of_another_run_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    _state(cluster="theirs", node="theirs-real").save()
    monkeypatch.setattr(cluster_module, "is_stale", lambda name: False)
    monkeypatch.setattr(LocalCluster, "exists", lambda self: True)
    monkeypatch.setattr(realnode, "WAIT_FOR_OTHER_NODE", 0.0)
    with pytest.raises(realnode.RealNodeError, match="one real node per machine"):
        realnode._claim_machine("mine", "mine-real", 1234)
    assert realnode.State.load() == _state(cluster="theirs", node="theirs-real")
