"""`maintenance-operator`: the operator process."""

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence

import kopf
from prometheus_client import start_http_server

from maintenance_operator.handlers import runtime as rt
from maintenance_operator.handlers.registry import build_registry
from maintenance_operator.kube.client import KubeClient
from maintenance_operator.kube.credentials import load_credentials


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maintenance-operator",
        description="Restarts Deployments and StatefulSets with pending maintenance inside their MaintenanceWindows, "
        "runs ManagedDatabases and upgrades them in those windows, takes VolumeSnapshots of their data in each "
        "BackupWindow with retention, and reports it all as Events, status and Prometheus metrics. Credentials: "
        "in-cluster ServiceAccount, else the kubeconfig.",
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="watch only this namespace (repeatable; glob patterns like 'team-*' work); default: all namespaces",
    )
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace (the default)")
    parser.add_argument("--metrics-port", type=int, default=8080, help="port of /metrics (0 disables; default 8080)")
    parser.add_argument("--metrics-address", default="0.0.0.0", help="address of /metrics (default 0.0.0.0)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text", help="log line format (default text)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: in-cluster, then $KUBECONFIG)")
    parser.add_argument("--context", default=None, help="kubeconfig context to use")
    parser.add_argument(
        "--liveness", default=None, metavar="URL", help="serve kopf's liveness probe, e.g. http://0.0.0.0:8081/healthz"
    )
    return parser


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


async def run(args: argparse.Namespace) -> None:
    creds = load_credentials(args.kubeconfig, args.context)
    client = KubeClient(creds)
    rt.install(rt.Runtime(client=client))
    registry = build_registry(creds)
    await kopf.operator(
        registry=registry,
        standalone=True,
        clusterwide=not args.namespace,
        namespaces=args.namespace or (),
        liveness_endpoint=args.liveness,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_format, args.verbose)
    if args.metrics_port:
        start_http_server(args.metrics_port, addr=args.metrics_address)
    try:
        asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
