"""`/healthz` and `/readyz` for the kubelet, served by the operator's own event loop.

They are answered on the loop that runs every window, database and backup task (not on the metrics server's
thread), so a blocked or wedged loop fails liveness. Readiness means this replica has a complete view: its
workload cache finished its first LIST, and it is the leader or a warm standby (a standby with a synced cache is
ready, so a rolling update waits for the new replica's cache before it stops an old one).
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from maintenance_operator.handlers.leader_election import LeaderElection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    ready: bool
    why: str


def readiness(synced: bool, election: str | None) -> Readiness:
    """`election`: None without leader election, else `leading`, `standby`, `lost` or `released`."""
    if not synced:
        return Readiness(False, "workload cache not synced yet (first LIST incomplete)")
    if election in ("lost", "released"):
        return Readiness(False, f"leader election: Lease {election}; this replica is stopping")
    return Readiness(True, f"cache synced; {election or 'leader election off'}")


class ProbeServer:
    def __init__(self, address: str, port: int, state: Callable[[], Readiness]) -> None:
        self.address = address
        self.port = port
        self._state = state
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.address, self.port).start()
        log.info("probes on http://%s:%d/healthz and /readyz", self.address, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _: web.Request) -> web.Response:
        state = self._state()
        return web.Response(status=200 if state.ready else 503, text=state.why + "\n")


async def start_probes(
    address: str, port: int, synced: asyncio.Event, election: LeaderElection | None
) -> ProbeServer | None:
    """The probe server, started (None when `port` is 0: no probes)."""
    if not port:
        return None

    def ready() -> Readiness:
        return readiness(synced.is_set(), election.state if election is not None else None)

    probes = ProbeServer(address, port, ready)
    await probes.start()
    return probes
