"""Local Kubernetes for tests and the demo: a real control plane with fake nodes, built from Go modules.

See README "Development". Entry points: LocalCluster (context manager), tests.cluster.pytest_plugin
(fixtures) and `python -m tests.cluster` (CLI).
"""

from tests.cluster.build import BuildError, bin_dir, ensure_binaries
from tests.cluster.cluster import ClusterError, KubectlError, LocalCluster, SnapshotStack

__all__ = [
    "BuildError",
    "ClusterError",
    "KubectlError",
    "LocalCluster",
    "SnapshotStack",
    "bin_dir",
    "ensure_binaries",
]
