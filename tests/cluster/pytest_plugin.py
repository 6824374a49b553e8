"""pytest fixtures: one local cluster per test run, a fresh namespace per test, the snapshot stack and the real
node on demand.

Registered from tests/conftest.py. The cluster is only started when a selected test asks for it, so unit
test runs stay fast; binaries missing from the cache are built (never skipped), and a build or start
failure fails the tests that need the cluster with the component log that explains it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator

import pytest

from tests.cluster import build
from tests.cluster.cluster import LocalCluster, SnapshotStack
from tests.cluster.realnode import RealNode

NODES_ENV = "MAINTENANCE_OPERATOR_CLUSTER_NODES"
KEEP_LOGS_ENV = "MAINTENANCE_OPERATOR_CLUSTER_LOGS"
CREDENTIALS_ENV = "MAINTENANCE_OPERATOR_TEST_CREDENTIALS"
FAULT_SEED_ENV = "MAINTENANCE_OPERATOR_FAULT_SEED"
FUZZ_EXAMPLES_ENV = "MAINTENANCE_OPERATOR_FUZZ_EXAMPLES"
FUZZ_SEED_ENV = "MAINTENANCE_OPERATOR_FUZZ_SEED"
FUZZ_SEED = 3709723775  # a seed whose 300 resources passed once the defects it found were fixed


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("local cluster")
    group.addoption(
        "--cluster-nodes",
        type=int,
        default=int(os.environ.get(NODES_ENV, "3")),
        help=f"fake nodes of the test run's cluster, 110 pods each (default 3, or ${NODES_ENV})",
    )
    group.addoption(
        "--cluster-logs",
        default=os.environ.get(KEEP_LOGS_ENV),
        help=f"copy the cluster's component logs to this directory at the end (or ${KEEP_LOGS_ENV})",
    )
    group.addoption(
        "--operator-credentials",
        choices=("serviceaccount", "admin"),
        default=os.environ.get(CREDENTIALS_ENV, "serviceaccount"),
        help="run the operator in integration tests under its ServiceAccount's token, bound to deploy/base's "
        "roles (the default: every permission the code needs must be in them), or as the cluster admin "
        f"(or ${CREDENTIALS_ENV})",
    )
    # Here rather than in tests/integration/conftest.py: only the root conftest's plugins may add options.
    group.addoption(
        "--fault-seed",
        type=int,
        default=int(os.environ[FAULT_SEED_ENV]) if os.environ.get(FAULT_SEED_ENV) else None,
        help=f"seed of the fault tests' random kill instants, to replay a failure (default random, printed; "
        f"or ${FAULT_SEED_ENV})",
    )
    fuzz = parser.getgroup("fuzzing (tests/integration/test_fuzz.py)")
    fuzz.addoption(
        "--fuzz-examples",
        type=int,
        default=int(os.environ.get(FUZZ_EXAMPLES_ENV, "300")),
        help=f"resources generated from the CRD schemas and applied (default 300, or ${FUZZ_EXAMPLES_ENV})",
    )
    fuzz.addoption(
        "--fuzz-seed",
        type=int,
        default=int(os.environ.get(FUZZ_SEED_ENV, str(FUZZ_SEED))),
        help=f"the hypothesis seed of the generated resources, 0 for a random one (printed to rerun it); default "
        f"{FUZZ_SEED}, so that CI meets the same resources each run (or ${FUZZ_SEED_ENV})",
    )


def _build_visibly(config: pytest.Config, names: tuple[str, ...]) -> None:
    """Build missing binaries with go's output on the terminal: a silent 15-minute pause looks like a hang."""
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        build.ensure_binaries(names)


def _wanted(session: pytest.Session, fixture: str) -> bool:
    return any(fixture in getattr(item, "fixturenames", ()) for item in session.items)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests on the shared real node run last: only one real node runs per machine, so tests that start and
    tear down their own (the host-cleanliness ones) must be done before the shared one starts."""
    items.sort(key=lambda item: "real_node" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[LocalCluster]:
    """The test run's cluster; deleted at the end, also on Ctrl-C, SIGTERM or SIGKILL (by its guard)."""
    # Build the snapshot stack's and the real node's binaries up front too when a selected test will ask for them.
    names: tuple[str, ...] = build.CONTROL_PLANE
    names += build.SNAPSHOT_STACK if _wanted(request.session, "snapshot_stack") else ()
    real_node = _wanted(request.session, "real_node")
    names += build.REAL_NODE if real_node else ()
    _build_visibly(request.config, names)
    local = LocalCluster(nodes=request.config.getoption("--cluster-nodes"), real_node=real_node)
    with local:
        yield local
        keep = request.config.getoption("--cluster-logs")
        if keep:
            shutil.copytree(local.logs_dir, os.path.join(keep, local.name), dirs_exist_ok=True)


@pytest.fixture(scope="session")
def snapshot_stack(cluster: LocalCluster, request: pytest.FixtureRequest) -> SnapshotStack:
    """The CSI mock driver, provisioner and snapshot controllers in the session cluster, started once."""
    _build_visibly(request.config, build.SNAPSHOT_STACK)
    return cluster.start_snapshot_stack()


@pytest.fixture(scope="session")
def real_node(cluster: LocalCluster, request: pytest.FixtureRequest) -> Iterator[RealNode]:
    """The session cluster's real node (a kubelet on containerd) with the project's images imported; torn down
    at the end (by the cluster's guard, however the run ends), leaving the host as it was."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        node = cluster.start_real_node()
        print(f"\n[real node] {node.name} Ready in {node.start_seconds:.1f} s", flush=True)
    yield node
    node.teardown()
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        print(f"\n[real node] {node.name} torn down in {node.teardown_seconds:.1f} s", flush=True)


@pytest.fixture
def namespace(cluster: LocalCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace named after the test, ready for pods (default ServiceAccount exists), deleted after."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{slug}-{secrets.token_hex(3)}"
    cluster.create_namespace(name)
    yield name
    # Do not wait for finalization: namespace deletion is slow and nothing reuses the name.
    cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")
