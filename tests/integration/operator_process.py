"""Run the real operator (`python -m maintenance_operator.main`) as a subprocess against the test cluster."""

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import TracebackType

from tests.cluster.cluster import LocalCluster
from tests.cluster.processes import free_port, http_ok
from tests.integration.polling import eventually


class OperatorProcess:
    """The operator, watching the given namespaces, with its log kept in a file for failure reports."""

    def __init__(self, cluster: LocalCluster, namespaces: list[str], log_path: Path) -> None:
        self.cluster = cluster
        self.namespaces = namespaces
        self.log_path = log_path
        self.metrics_port = free_port()
        self.liveness_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "OperatorProcess":
        args = [sys.executable, "-m", "maintenance_operator.main", "--metrics-port", str(self.metrics_port)]
        args += ["--metrics-address", "127.0.0.1", "--liveness", f"http://127.0.0.1:{self.liveness_port}/healthz"]
        for ns in self.namespaces:
            args += ["--namespace", ns]
        env = {**self.cluster.env, "PYTHONUNBUFFERED": "1"}
        root = Path(__file__).resolve().parents[2]
        env["PYTHONPATH"] = os.pathsep.join([str(root / "operator"), env.get("PYTHONPATH", "")])
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        eventually(self._live, timeout=60, what=f"operator liveness; log:\n{self.log_text()}")
        return self

    def _live(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"operator exited with {self.proc.returncode}:\n{self.log_text()}")
        return http_ok(f"http://127.0.0.1:{self.liveness_port}/healthz")

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            text: str = r.read().decode()
            return text

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no cleanup handlers run, as in a node failure or OOM kill."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> "OperatorProcess":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
