"""`maintenance-operator`: the operator process."""

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence

import kopf
from prometheus_client import start_http_server

from maintenance_operator.handlers import runtime as rt
from maintenance_operator.handlers.annotated_nodes import AnnotatedNodes
from maintenance_operator.handlers.cache_events import CacheEvents
from maintenance_operator.handlers.leader_election import LeaderElection
from maintenance_operator.handlers.probes import start_probes
from maintenance_operator.handlers.registry import build_registry
from maintenance_operator.kube.cache import ClusterCache
from maintenance_operator.kube.client import KubeClient
from maintenance_operator.kube.credentials import load_credentials
from maintenance_operator.kube.informer import cancel
from maintenance_operator.options import build_parser
from maintenance_operator.planning.leases import Timing
from maintenance_operator.planning.windows import webhooks

log = logging.getLogger("maintenance_operator")


def default_identity() -> str:
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}_{secrets.token_hex(4)}"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out)


def configure_logging(fmt: str, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        for noisy in ("kopf.objects", "kopf._core", "kopf._cogs", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def leader_timing(args: argparse.Namespace) -> Timing:
    timing = Timing(args.lease_duration, args.renew_deadline, args.retry_period)
    if args.leader_elect and (problem := timing.problem()):
        raise SystemExit(f"maintenance-operator: {problem}")
    return timing


def elect(
    args: argparse.Namespace, client: KubeClient, namespace: str | None, identity: str, lost: Callable[[str], None]
) -> LeaderElection | None:
    """The replica's leader election (None when it is off); every write of `client` is fenced by it."""
    if not args.leader_elect:
        return None
    where = args.leader_election_namespace or namespace or "default"
    election = LeaderElection(client, where, args.leader_election_name, identity, leader_timing(args), lost)
    client.may_write = election.may_write
    return election


def background_tasks(
    runtime: rt.Runtime, cache_events: CacheEvents, election: LeaderElection | None
) -> list[asyncio.Task[None]]:
    """What runs beside kopf: acting once ready, leader election, and (node maintenance) the annotated nodes."""
    background = [asyncio.create_task(cache_events.act_when_ready(election), name="act when ready")]
    if runtime.node_maintenance:  # nodes annotated maintenance.ops.dev/required: announcements of their own
        annotated = AnnotatedNodes(runtime)
        runtime.cache.node_listeners.append(annotated.wake)
        background.append(asyncio.create_task(annotated.run(), name="annotated nodes"))
    if election is not None:
        background.append(asyncio.create_task(election.run(), name="leader election"))
    return background


def hand_over_on_signal(
    election: LeaderElection | None, background: list[asyncio.Task[None]], stop: asyncio.Event
) -> Callable[[], None]:
    """SIGTERM or SIGINT: hand the Lease over now (writes are fenced from then on), then stop as kopf does.

    Not in kopf's cleanup: that runs only once kopf has stopped its watchers and waited for (then cancelled)
    every other task, the election's renewals included, and a busy replica may then no longer surely lead."""

    def signalled() -> None:
        log.info("stopping on a signal: the Lease is released first")
        if election is not None:
            background.append(asyncio.create_task(election.release(), name="release the Lease"))
        stop.set()

    return signalled


async def on_signals(kopf_ready: asyncio.Event, handler: Callable[[], None]) -> None:
    """Take SIGTERM and SIGINT over from kopf, which installs its own handlers as it starts (before it is ready)."""
    await kopf_ready.wait()
    if threading.current_thread() is threading.main_thread():
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, handler)


async def run(args: argparse.Namespace) -> int:
    """Run until stopped; 1 when leadership was lost (the process must restart as a standby), else 0."""
    creds = load_credentials(args.kubeconfig, args.context)
    identity = args.leader_election_id or default_identity()
    client = KubeClient(creds, user_agent=f"maintenance-operator ({identity})")
    cache = ClusterCache(
        client,
        args.namespace,
        page_size=args.cache_page_size,
        watch_seconds=args.watch_timeout,
        nodes=args.node_maintenance,
    )
    hosts = webhooks.parse_patterns(args.notice_webhook_allowed_hosts)
    runtime = rt.Runtime(client=client, cache=cache, notice_hosts=hosts, node_maintenance=args.node_maintenance)
    cache_events = CacheEvents(runtime)
    cache_events.subscribe()
    stop = asyncio.Event()
    exit_code = 0

    def lost(_why: str) -> None:
        nonlocal exit_code
        exit_code = 1
        stop.set()

    election = elect(args, client, creds.namespace, identity, lost)

    async def cleanup() -> None:
        """After every task stopped: hand the Lease over if not yet done, then stop watching (before the client
        closes)."""
        if election is not None:
            await election.release()
        await cache.stop()

    probes = await start_probes(args.probe_address, args.probe_port, cache.synced, election)
    await cache.start()
    background = background_tasks(runtime, cache_events, election)

    kopf_ready = asyncio.Event()
    signalled = hand_over_on_signal(election, background, stop)
    background.append(asyncio.create_task(on_signals(kopf_ready, signalled), name="signal handlers"))
    try:
        await kopf.operator(
            registry=build_registry(runtime, creds, cleanup, watch_timeout=args.watch_timeout),
            standalone=True,
            clusterwide=not args.namespace,
            namespaces=args.namespace or (),
            liveness_endpoint=args.liveness,
            stop_flag=stop,
            ready_flag=kopf_ready,
        )
    finally:
        await cancel(background)
        await cache.stop()
        if probes is not None:
            await probes.stop()
    return exit_code


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_format, args.verbose)
    if args.metrics_port:
        start_http_server(args.metrics_port, addr=args.metrics_address)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
