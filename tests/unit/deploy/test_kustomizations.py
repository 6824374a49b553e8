"""deploy/'s kustomizations name every manifest beside them: one left out would silently not be installed."""

from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
FOLDERS = ["base", *(f"overlays/{p.name}" for p in sorted((DEPLOY / "overlays").iterdir()))]


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_manifest_is_in_its_kustomization(folder: str) -> None:
    root = DEPLOY / folder
    kustomization = (root / "kustomization.yaml").read_text()
    missing = [p.name for p in root.glob("*.yaml") if p.name != "kustomization.yaml" and p.name not in kustomization]
    assert missing == [], f"deploy/{folder}: not in kustomization.yaml: {missing}"


def test_the_local_overlay_points_at_the_real_node_and_its_api_forwarder() -> None:
    """The overlay is static YAML, the harness has the values: a change to one must reach the other."""
    from tests.cluster import realnode  # noqa: PLC0415 - the harness, not the product

    patches = yaml.safe_load((DEPLOY / "overlays" / "local" / "kustomization.yaml").read_text())["patches"]
    ops = [op for patch in patches for op in yaml.safe_load(patch["patch"])]
    env = {op["value"]["name"]: op["value"] for op in ops if op["path"].endswith("/env/-")}
    fields = {op["path"].rsplit("/", 1)[-1]: op["value"] for op in ops}
    assert env["KUBERNETES_SERVICE_HOST"]["value"] == realnode.NODE_IP
    assert env["KUBERNETES_SERVICE_PORT"]["value"] == str(realnode.API_PORT)
    assert fields["nodeSelector"] == {realnode.LABEL: "true"}
    assert fields["tolerations"] == [{"key": realnode.TAINT, "operator": "Exists", "effect": "NoSchedule"}]
