"""The probe server on 127.0.0.1: /healthz is answered by the event loop itself, /readyz says why it is not ready."""

import asyncio
import threading
import urllib.error
import urllib.request

import pytest

from maintenance_operator.handlers.probes import ProbeServer, Readiness, readiness, start_probes
from tests.cluster.processes import free_port


@pytest.mark.parametrize(
    ("synced", "election", "ready", "says"),
    [
        pytest.param(False, "leading", False, "not synced", id="leader-cache-not-synced"),
        pytest.param(False, None, False, "not synced", id="no-election-cache-not-synced"),
        pytest.param(True, "leading", True, "leading", id="leader"),
        pytest.param(True, "standby", True, "standby", id="warm-standby"),
        pytest.param(True, None, True, "leader election off", id="no-election"),
        pytest.param(True, "lost", False, "Lease lost", id="lost-the-lease"),
        pytest.param(True, "released", False, "Lease released", id="shutting-down"),
    ],
)
def test_readiness(synced: bool, election: str | None, ready: bool, says: str) -> None:
    state = readiness(synced, election)
    assert state.ready is ready
    assert says in state.why


def get(url: str, timeout: float = 5.0) -> tuple[int, str] | str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except TimeoutError:
        return "timeout"


async def test_readyz_follows_the_state_and_healthz_needs_a_running_loop() -> None:
    state = Readiness(False, "workload cache not synced yet")
    port = free_port()
    server = ProbeServer("127.0.0.1", port, lambda: state)
    await server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        assert await asyncio.to_thread(get, f"{base}/readyz") == (503, "workload cache not synced yet\n")
        state = Readiness(True, "cache synced; standby")
        assert await asyncio.to_thread(get, f"{base}/readyz") == (200, "cache synced; standby\n")
        assert await asyncio.to_thread(get, f"{base}/healthz") == (200, "ok\n")

        outcome: list[object] = []
        answered = threading.Event()

        def probe_while_blocked() -> None:
            outcome.append(get(f"{base}/healthz", timeout=0.5))
            answered.set()

        threading.Thread(target=probe_while_blocked).start()
        answered.wait(timeout=10)  # blocks the event loop, as a synchronous call in a handler would
        assert outcome == ["timeout"]
        assert await asyncio.to_thread(get, f"{base}/healthz") == (200, "ok\n")
    finally:
        await server.stop()


async def test_start_probes_serves_readiness_from_the_cache_and_none_on_port_0() -> None:
    synced = asyncio.Event()
    assert await start_probes("127.0.0.1", 0, synced, None) is None
    port = free_port()
    probes = await start_probes("127.0.0.1", port, synced, None)
    assert probes is not None
    try:
        answer = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/readyz")
        assert isinstance(answer, tuple) and answer[0] == 503
        synced.set()
        answer = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/readyz")
        assert answer == (200, "cache synced; leader election off\n")
    finally:
        await probes.stop()
