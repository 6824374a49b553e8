"""kind-config.yaml through kind's own loader and validation (tests/cluster/kind.py), since no Docker runs here.

Integration only because it builds kind from its Go module (about 2 minutes cold, then cached); it needs
no cluster. The broken copies prove the check can fail: each is refused with kind's own message.
"""

from pathlib import Path

import pytest

from tests.cluster import build, kind

pytestmark = pytest.mark.integration

MINIMAL = "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\n"


@pytest.fixture(scope="module")
def kind_binary() -> Path:
    return kind.ensure_kind()


def test_kind_accepts_the_config_and_plans_one_control_plane_and_two_workers(kind_binary: Path) -> None:
    result = kind.validate(kind.CONFIG, kind_binary)
    assert result.accepted, result.error
    assert [(node.name, node.role) for node in result.nodes] == [
        ("maintenance-operator-control-plane", "control-plane"),
        ("maintenance-operator-worker", "worker"),
        ("maintenance-operator-worker2", "worker"),
    ]


def test_every_node_runs_the_image_the_pinned_kind_release_defaults_to(kind_binary: Path, tmp_path: Path) -> None:
    """kind's default node image is the one it was released with; a kind bump without a config bump fails here."""
    minimal = tmp_path / "minimal.yaml"
    minimal.write_text(MINIMAL)
    default = kind.validate(minimal, kind_binary)
    assert default.accepted, default.error
    (default_image,) = {node.image for node in default.nodes}
    assert {node.image for node in kind.validate(kind.CONFIG, kind_binary).nodes} == {default_image}
    # The same Kubernetes minor as the local test cluster (kind v0.33 ships v1.37.0; the tests run v1.37.2).
    tag = default_image.split(":")[1].split("@")[0]
    assert tag.split(".")[:2] == build.kubernetes_version().split(".")[:2]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("nodes:\n", "workers: 2\nnodes:\n", "field workers not found in type v1alpha4.Cluster"),
        ("  - role: worker\n", "  - role: manager\n", '"manager" is not a valid node role'),
        ("role: control-plane", "role: worker", "must have at least one control-plane node"),
        ("kind.x-k8s.io/v1alpha4", "kind.x-k8s.io/v1alpha3", "unknown apiVersion: kind.x-k8s.io/v1alpha3"),
        ("name: maintenance-operator", "name: Maintenance_Operator", "is not a valid cluster name"),
    ],
    ids=["unknown-field", "invalid-role", "no-control-plane", "old-api-version", "invalid-name"],
)
def test_kind_refuses_a_broken_copy_with_its_own_message(
    kind_binary: Path, tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = kind.CONFIG.read_text()
    assert old in text
    broken = tmp_path / "kind-config.yaml"
    broken.write_text(text.replace(old, new, 1))
    result = kind.validate(broken, kind_binary)
    assert not result.accepted
    assert message in result.error
    assert result.nodes == ()
