"""A separate Python process that owns a local cluster, so a test can kill it the way a run dies."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.cluster.cluster import REPO_ROOT


def owner_process(script: str) -> subprocess.Popen[str]:
    """Run `script` with the repository importable; its stdout is a pipe for it to say what it started."""
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
