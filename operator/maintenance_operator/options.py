"""The operator process's command line: every flag, its default and its help text (`maintenance-operator --help`)."""

import argparse

from maintenance_operator.planning.windows import webhooks


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maintenance-operator",
        description="Restarts Deployments and StatefulSets with pending maintenance inside their MaintenanceWindows, "
        "runs ManagedDatabases and upgrades them in those windows, takes VolumeSnapshots of their data in each "
        "BackupWindow with retention, and reports it all as Events, status and Prometheus metrics. Credentials: "
        "in-cluster ServiceAccount, else the kubeconfig.",
    )
    _add_scope_and_serving(parser)
    _add_leader_election(parser)
    _add_tuning(parser)
    return parser


def _add_scope_and_serving(parser: argparse.ArgumentParser) -> None:
    """What it watches, how it connects, and what it serves (metrics, probes, logs)."""
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
        "--probe-port",
        type=int,
        default=8081,
        help="port of /healthz (the event loop answers) and /readyz (workload cache synced; leader or warm "
        "standby), served by the operator's event loop (0 disables; default 8081)",
    )
    parser.add_argument("--probe-address", default="0.0.0.0", help="address of the probes (default 0.0.0.0)")
    parser.add_argument(
        "--node-maintenance",
        action="store_true",
        help="serve node (hardware) maintenance: Maintenance announcements with targets.nodes cordon those nodes and "
        "make the workloads with pods there pending; watches Nodes and pods, so it needs the node permissions of "
        "deploy/components/node-maintenance (default off: such announcements are Ready=False, no node is touched)",
    )
    parser.add_argument(
        "--liveness",
        default=None,
        metavar="URL",
        help="also serve kopf's own liveness endpoint there, e.g. http://127.0.0.1:8082/healthz (default off)",
    )


def _add_leader_election(parser: argparse.ArgumentParser) -> None:
    election = parser.add_argument_group(
        "leader election",
        "Every replica keeps a warm cache; only the holder of a coordination.k8s.io/v1 Lease acts and writes. On "
        "by default, so that two replicas (or the overlap of a rolling update) never both act.",
    )
    election.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="take part in leader election (default on; --no-leader-elect acts at once, for exactly one replica)",
    )
    election.add_argument(
        "--leader-election-namespace",
        default=None,
        metavar="NS",
        help="namespace of the Lease (default: the ServiceAccount's namespace in a Pod, else the kubeconfig "
        "context's, else default)",
    )
    election.add_argument(
        "--leader-election-name", default="maintenance-operator", metavar="NAME", help="name of the Lease"
    )
    election.add_argument(
        "--leader-election-id",
        default=None,
        metavar="ID",
        help="this replica's identity in the Lease (default: $POD_NAME or the host name, with a random suffix)",
    )
    election.add_argument("--lease-duration", type=float, default=15.0, metavar="S", help="seconds (default 15)")
    election.add_argument(
        "--renew-deadline",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds a leader may act after its last renewal before it stops and exits (default 10)",
    )
    election.add_argument(
        "--retry-period", type=float, default=2.0, metavar="S", help="seconds between renewals and tries (default 2)"
    )


def _add_tuning(parser: argparse.ArgumentParser) -> None:
    """Notice webhooks, and the watches' and LISTs' sizes."""
    parser.add_argument(
        webhooks.ALLOWED_HOSTS_FLAG,
        default="",
        metavar="PATTERNS",
        help="hosts a MaintenanceWindow's noticeWebhook may call: comma-separated glob patterns on the URL's host, "
        "e.g. 'hooks.example.com,*.internal.example' (default none: every webhook is refused, Ready=False)",
    )
    parser.add_argument(
        "--watch-timeout",
        type=int,
        default=300,
        metavar="S",
        help="seconds a watch request lasts before it is renewed (kopf's and the workload cache's; default 300)",
    )
    parser.add_argument(
        "--cache-page-size",
        type=int,
        default=500,
        metavar="N",
        help="objects per page of the workload cache's LISTs (default 500)",
    )
