"""deploy/'s kustomizations name every manifest beside them: one left out would silently not be installed."""

from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
FOLDERS = ["base", *(f"overlays/{p.name}" for p in sorted((DEPLOY / "overlays").iterdir()))]


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_manifest_is_in_its_kustomization(folder: str) -> None:
    root = DEPLOY / folder
    kustomization = (root / "kustomization.yaml").read_text()
    missing = [p.name for p in root.glob("*.yaml") if p.name != "kustomization.yaml" and p.name not in kustomization]
    assert missing == [], f"deploy/{folder}: not in kustomization.yaml: {missing}"
