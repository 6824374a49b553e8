"""Fixtures for tests that run the operator against the local cluster."""

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.cluster.cluster import LocalCluster
from tests.cluster.prometheus import PrometheusServer
from tests.integration.credentials import install_rbac, serviceaccount_kubeconfig
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def crds(cluster: LocalCluster) -> LocalCluster:
    """The project's CRDs, installed once and Established."""
    cluster.install_crds()
    return cluster


@pytest.fixture(scope="session")
def operator_kubeconfig(
    crds: LocalCluster, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path | None:
    """The operator's credentials in tests: its ServiceAccount's (deploy/base's roles), or None for the admin's."""
    if request.config.getoption("--operator-credentials") == "admin":
        return None
    install_rbac(crds)
    return serviceaccount_kubeconfig(crds, tmp_path_factory.mktemp("operator") / "kubeconfig.json")


@pytest.fixture
def operator(
    crds: LocalCluster,
    namespace: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    operator_kubeconfig: Path | None,
) -> Iterator[OperatorProcess]:
    """The real operator process, watching only this test's namespace; its log is printed if the test fails."""
    yield from running(crds, namespace, tmp_path, request, operator_kubeconfig)


def running(
    cluster: LocalCluster,
    namespace: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    kubeconfig: Path | None,
    extra_args: Sequence[str] = (),
) -> Iterator[OperatorProcess]:
    """The `operator` fixture's body, for fixtures of an operator started with other arguments."""
    log = tmp_path / "operator.log"
    proc = OperatorProcess(cluster, [namespace], log, extra_args=list(extra_args), kubeconfig=kubeconfig)
    with proc:
        yield proc
    if request.node.stash.get(FAILED, False):
        print(f"--- operator log ---\n{proc.log_text()[-20000:]}")


@pytest.fixture
def prometheus(operator: OperatorProcess, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping this test's operator every second, with the shipped alert rules loaded (so they
    are evaluated against real series), returned once it has scraped the operator."""
    yield from scraping(operator, tmp_path, request)


def scraping(operator: OperatorProcess, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[PrometheusServer]:
    """The `prometheus` fixture's body, for fixtures of an operator started otherwise (its log printed on failure)."""
    rules = [ROOT / "deploy" / "prometheus" / "rules.yaml"]
    server = PrometheusServer(tmp_path / "prometheus", [f"127.0.0.1:{operator.metrics_port}"], rule_files=rules)
    with server:
        # The first scrape waits for target discovery's first update, about 5 s after start.
        eventually(lambda: server.value("up") == 1.0, timeout=30, what="Prometheus to scrape the operator")
        yield server
    if request.node.stash.get(FAILED, False):
        print(f"--- prometheus log ---\n{server.log_text()[-5000:]}")


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def node_label(crds: LocalCluster, namespace: str) -> Iterator[str]:
    """A label on every node that only this test's pods require; removing it makes new pods unschedulable (their
    rollouts are held), putting it back lets them schedule."""
    key = f"test.maintenance.ops.dev/{namespace}"
    crds.kubectl("label", "nodes", "--all", f"{key}=yes")
    yield key
    crds.kubectl("label", "nodes", "--all", f"{key}-", check=False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if getattr(report, "when", "") == "call" and getattr(report, "failed", False):
        item.stash[FAILED] = True
    return report
