"""Fixtures for tests that run the operator against the local cluster."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def crds(cluster: LocalCluster) -> LocalCluster:
    """The project's CRDs, installed once and Established."""
    files = [arg for path in sorted((ROOT / "crds").glob("*.yaml")) for arg in ("-f", str(path))]
    cluster.kubectl("apply", *files)
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *files)
    return cluster


@pytest.fixture
def operator(
    crds: LocalCluster, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OperatorProcess]:
    """The real operator process, watching only this test's namespace; its log is printed if the test fails."""
    proc = OperatorProcess(crds, [namespace], tmp_path / "operator.log")
    with proc:
        yield proc
    report = request.node.stash.get(FAILED, False)
    if report:
        print(f"--- operator log ---\n{proc.log_text()[-20000:]}")


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if getattr(report, "when", "") == "call" and getattr(report, "failed", False):
        item.stash[FAILED] = True
    return report
