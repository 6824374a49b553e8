"""`kubectl maintenance nodes`: each node a Maintenance announces, how far it has been emptied, and the window that
moves each workload's pods off it next.

Everything shown is the Maintenances' own status, as the operator keeps it: the plugin reads no pod or node.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from maintenance_operator.api import rest
from maintenance_operator.cli import common, kubeapi
from maintenance_operator.cli.output import structured, table


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "nodes",
        help="list the nodes under maintenance and how far each has been emptied",
        description="List each node that a Maintenance with targets.nodes announces: whether it is cordoned, "
        "when it was drained (no pod of a maintained workload left), how many such pods are left, and for each "
        "workload with pods there the window (and its start) that moves them off. DaemonSet, static and other "
        "pods are the node owner's and only counted. From the Maintenances' status, as the operator keeps it.",
    )
    p.add_argument("--kubeconfig", help="path to the kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
    p.add_argument("--context", help="the kubeconfig context to use (default its current context)")
    common.add_output_arg(p)
    p.set_defaults(run=run)


def rows_of(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per announced node of one Maintenance (none for an announcement without targets.nodes)."""
    name = (obj.get("metadata") or {}).get("name")
    status = obj.get("status") or {}
    return [
        {
            "node": n.get("name"),
            "announcement": name,
            "reason": (obj.get("spec") or {}).get("reason"),
            "cordoned": bool(n.get("cordoned")),
            "drained": n.get("drained"),
            "podsLeft": int(n.get("podsLeft") or 0),
            "unmanagedPods": int(n.get("unmanagedPods") or 0),
            "workloadsLeft": [dict(w) for w in n.get("workloadsLeft") or []],
        }
        for n in status.get("nodes") or []
    ]


def _for_nodes(obj: Mapping[str, Any]) -> bool:
    return ((obj.get("spec") or {}).get("targets") or {}).get("nodes") is not None


def collect(api: kubeapi.Api) -> list[dict[str, Any]]:
    try:
        objects = api.list_objects(rest.MAINTENANCES, None)
    except kubeapi.KubeError as err:
        if err.forbidden:
            raise kubeapi.KubeError(f"forbidden: you may not list {rest.MAINTENANCES.name}", 403) from None
        raise
    rows = [r for o in objects if _for_nodes(o) for r in rows_of(o)]
    return sorted(rows, key=lambda r: (str(r["node"]), str(r["announcement"])))


def _next(row: Mapping[str, Any]) -> str:
    """The first workload still to move, and its window: what empties the node next."""
    waiting = [w for w in row["workloadsLeft"] if w.get("window")]
    if not waiting:
        return "-" if row["podsLeft"] == 0 else "no window handles them"
    first = min(waiting, key=lambda w: str(w.get("windowStart") or ""))
    return f"{first['namespace']}/{first['target']} in {first['window']} at {first.get('windowStart') or '?'}"


def render_table(rows: list[dict[str, Any]]) -> str:
    headers = ["node", "announcement", "reason", "cordoned", "drained", "pods left", "next move"]
    return table(
        headers,
        [
            [
                str(r["node"]),
                str(r["announcement"]),
                str(r["reason"]),
                "yes" if r["cordoned"] else "no",
                r["drained"] or "-",
                str(r["podsLeft"]),
                _next(r),
            ]
            for r in rows
        ],
    )


def run(args: argparse.Namespace) -> int:
    rows = collect(common.connect(args))
    if args.output != "table":
        print(structured({"items": rows}, args.output))
    elif not rows:
        print("No node is under maintenance.", file=sys.stderr)
    else:
        print(render_table(rows))
    return 0
