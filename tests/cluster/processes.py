"""Small process helpers: liveness that survives pid reuse, deadline polling, and stopping by pid file.

The control plane's processes are started detached (by kwokctl, and the CSI stack beside it), so a
cluster outlives the Python process that started it unless someone stops it by pid. These helpers
are what makes that safe: a recorded pid only counts as "ours" while its start time still matches.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class Timeout(RuntimeError):
    """A polled condition did not hold before its deadline."""


def poll(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """Call `check` until it returns something other than None/False, or raise Timeout after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            raise Timeout(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot), or None when it is not running.

    Recording it next to a pid lets a later run tell "still the process we started" from "a new
    process that got the same pid". Without /proc (macOS) only existence can be checked.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return "unknown" if is_alive(pid) else None
    # Field 2 (comm) may contain spaces; everything after its closing paren is space-separated.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has exited already
        return None
    return fields[19]


def is_alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie, where /proc tells)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def terminate(pid: int, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; returns once the process is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        try:
            poll(lambda: not is_alive(pid), grace, f"pid {pid} to exit", interval=0.05)
        except Timeout:
            os.kill(pid, signal.SIGKILL)
            poll(lambda: not is_alive(pid), grace, f"pid {pid} to exit after SIGKILL", interval=0.05)


def read_pid_file(path: Path) -> tuple[int, str | None] | None:
    """A pid file as `<pid>` or `<pid> <start time>`; None when absent or unreadable."""
    try:
        parts = path.read_text().split()
        return int(parts[0]), (parts[1] if len(parts) > 1 else None)
    except (OSError, ValueError, IndexError):
        return None


def write_pid_file(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{pid} {start_time(pid) or ''}\n")


def pid_file_alive(path: Path) -> int | None:
    """The pid recorded in `path` if that very process (same start time, when recorded) still runs."""
    record = read_pid_file(path)
    if record is None:
        return None
    pid, started = record
    current = start_time(pid)
    if current is None or (started not in (None, "unknown") and current not in (started, "unknown")):
        return None
    return pid


def start_detached(command: list[str], pid_file: Path, log: Path, cwd: Path | None = None) -> int:
    """Start `command` in its own session (Ctrl-C of the starter does not reach it; whoever tears down stops
    it by pid), appending its output to `log`, unless the process recorded in `pid_file` still runs."""
    running = pid_file_alive(pid_file)
    if running is not None:
        return running
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
        )
    write_pid_file(pid_file, process.pid)
    return process.pid


def free_port() -> int:
    """A loopback port nobody listens on right now, for a server the tests start."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_ok(url: str) -> bool:
    """Whether `url` answers 200 now; a refused or failing connection is a plain False for polling."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False
