"""Run the real operator (`python -m maintenance_operator.main`) as a subprocess against the test cluster."""

import os
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from tests.cluster.cluster import LocalCluster
from tests.cluster.processes import free_port, http_ok
from tests.integration.credentials import grant_lease
from tests.integration.polling import eventually


class PortTaken(RuntimeError):
    """The operator could not bind one of its ports."""


class OperatorProcess:
    """The operator, watching the given namespaces, with its log kept in a file for failure reports.

    Its Lease lives in the first watched namespace, so every test elects its own leader; `identity` names it in
    the Lease and in its User-Agent, which is how the API server's audit log tells two replicas apart.
    """

    def __init__(
        self,
        cluster: LocalCluster,
        namespaces: list[str],
        log_path: Path,
        *,
        identity: str | None = None,
        extra_args: list[str] | None = None,
        kubeconfig: Path | None = None,
    ) -> None:
        self.cluster = cluster
        self.namespaces = namespaces
        self.log_path = log_path
        self.identity = identity or f"test-{secrets.token_hex(4)}"
        self.extra_args = extra_args or []
        self.kubeconfig = kubeconfig  # None: the cluster admin's; else e.g. the ServiceAccount's (credentials.py)
        self.metrics_port = free_port()
        self.liveness_port = free_port()
        self.probe_port = free_port()
        self.started_once = False
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def user_agent(self) -> str:
        return f"maintenance-operator ({self.identity})"

    def start(self) -> "OperatorProcess":
        """Start it and wait for liveness. A port free when chosen can be taken since by any client's ephemeral
        port (they share the range): then the first start of this object picks new ports and tries again."""
        for attempt in range(3):
            try:
                return self._start()
            except PortTaken:
                if self.started_once or attempt == 2:
                    raise
                self.metrics_port, self.liveness_port, self.probe_port = free_port(), free_port(), free_port()
        raise AssertionError("unreachable")

    def _start(self) -> "OperatorProcess":
        args = [sys.executable, "-m", "maintenance_operator.main", "--metrics-port", str(self.metrics_port)]
        args += ["--metrics-address", "127.0.0.1", "--liveness", f"http://127.0.0.1:{self.liveness_port}/healthz"]
        args += ["--probe-port", str(self.probe_port), "--probe-address", "127.0.0.1"]
        args += ["--leader-election-id", self.identity]
        if self.namespaces:
            args += ["--leader-election-namespace", self.namespaces[0]]
        for ns in self.namespaces:
            args += ["--namespace", ns]
        args += self.extra_args
        env = {**self.cluster.env, "PYTHONUNBUFFERED": "1"}
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
            if self.namespaces:
                grant_lease(self.cluster, self.namespaces[0])
        root = Path(__file__).resolve().parents[2]
        env["PYTHONPATH"] = os.pathsep.join([str(root / "operator"), env.get("PYTHONPATH", "")])
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        eventually(self._live, timeout=60, what=f"operator liveness; log:\n{self.log_text()}")
        self.started_once = True
        return self

    def _live(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            log = self.log_text()
            if "address already in use" in log[-300:]:  # the traceback's last line
                raise PortTaken(log)
            raise RuntimeError(f"operator exited with {self.proc.returncode}:\n{log}")
        return http_ok(f"http://127.0.0.1:{self.liveness_port}/healthz")

    def probe(self, path: str) -> tuple[int, str]:
        """The status and text of `/healthz` or `/readyz` on the operator's probe port."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.probe_port}{path}", timeout=5) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as err:
            return int(err.code), err.read().decode()

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            text: str = r.read().decode()
            return text

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def is_leader(self) -> bool:
        return "maintenance_operator_leader 1.0" in self.metrics()

    def cache_synced(self) -> bool:
        return "maintenance_operator_cache_synced 1.0" in self.metrics()

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def exit_code(self, timeout: float) -> int:
        """Wait for the process to end by itself; its return code."""
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no cleanup handlers run, as in a node failure or OOM kill."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test froze it
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
