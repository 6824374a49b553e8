"""`kubectl maintenance announcements [NAME]`: each Maintenance's progress, and with NAME what is left where.

Everything shown is the Maintenance's own status, as the operator keeps it (the same as `kubectl get mnt`); the
plugin computes nothing of its own here, so what people and scripts see is what the operator counts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from maintenance_operator.api import names, rest
from maintenance_operator.cli import common, kubeapi
from maintenance_operator.cli.output import structured, table

COUNTS = ("total", "doneByWindow", "doneBySelfService", "pending", "failed", "overdue")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "announcements",
        help="list Maintenance announcements and their progress",
        description="List the Maintenance announcements (kubectl maintenance announce): reason, how many targets "
        "they cover, how many were done by a window or by their owners (self-service), how many are pending, "
        "failed (their rollout failed) or overdue (pending past the deadline), and whether each is complete. "
        "With NAME: also what is left, namespace by namespace. The counts are the operator's (status); '-' "
        "means the operator has not counted yet.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="one Maintenance: also what is left per namespace")
    p.add_argument("--kubeconfig", help="path to the kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
    p.add_argument("--context", help="the kubeconfig context to use (default its current context)")
    common.add_output_arg(p)
    p.set_defaults(run=run)


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def _is_true(status: Mapping[str, Any], kind: str) -> bool | None:
    found = _condition(status, kind)
    return None if found is None or found.get("status") == "Unknown" else found.get("status") == "True"


def describe(obj: Mapping[str, Any], *, left: bool = False) -> dict[str, Any]:
    """One Maintenance as scripts see it (`-o json|yaml`); counts are None until the operator has counted.

    `left`: also `left` (at most 20 namespaces, each with its first targets) and `leftNamespaces`."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    counted = bool(status) and "total" in status
    ready = _condition(status, names.CONDITION_READY)
    item: dict[str, Any] = {
        "name": meta.get("name"),
        "reason": spec.get("reason"),
        "description": spec.get("description", ""),
        "targets": spec.get("targets") or {},
        "requiredSince": status.get("requiredSince") or spec.get("requiredSince") or meta.get("creationTimestamp"),
        "deadline": spec.get("deadline"),
        **{count: (int(status.get(count) or 0) if counted else None) for count in COUNTS},
        "complete": _is_true(status, "Complete"),
        "overdueCondition": _is_true(status, "Overdue"),
        "ready": _is_true(status, names.CONDITION_READY),
        "problem": ready.get("message") if ready and ready.get("status") == "False" else None,
    }
    if left:
        item["left"] = [
            {"namespace": e.get("namespace"), "count": e.get("count", 0), "targets": list(e.get("targets") or [])}
            for e in status.get("left") or []
        ]
        item["leftNamespaces"] = int(status.get("leftNamespaces") or len(item["left"]))
    return item


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def render_table(items: list[dict[str, Any]]) -> str:
    headers = ["name", "reason", "total", "done (window/self)", "pending", "failed", "overdue", "deadline", "complete"]
    rows = [
        [
            str(i["name"]),
            str(i["reason"]),
            _cell(i["total"]),
            "-" if i["total"] is None else f"{i['doneByWindow']}/{i['doneBySelfService']}",
            _cell(i["pending"]),
            _cell(i["failed"]),
            _cell(i["overdue"]),
            i["deadline"] or "-",
            _cell(i["complete"]),
        ]
        for i in items
    ]
    return table(headers, rows)


def render_left(item: Mapping[str, Any]) -> str:
    """What is left of one announcement, namespace by namespace; '... and N more namespaces' past the list."""
    lines = [f"Description: {item['description']}"] if item["description"] else []
    if item["total"] is None:
        return "\n".join([*lines, "Not counted yet: is the operator running?"])
    if not item["left"]:
        return "\n".join([*lines, "Nothing left."])
    rows = []
    for entry in item["left"]:
        shown = entry["targets"]
        more = entry["count"] - len(shown)
        rows.append([entry["namespace"], str(entry["count"]), ", ".join(shown) + (f" and {more} more" if more else "")])
    lines += ["Left:", table(["namespace", "left", "targets"], rows)]
    hidden = item["leftNamespaces"] - len(item["left"])
    if hidden > 0:
        lines.append(f"... and {hidden} more namespace{'s' if hidden > 1 else ''}")
    return "\n".join(lines)


def collect(api: kubeapi.Api, name: str | None) -> list[dict[str, Any]]:
    """Every Maintenance, by name; or the one named, with what is left (not found: a KubeError)."""
    if name is not None:
        return [describe(api.get(rest.MAINTENANCES, "", name), left=True)]
    try:
        objects = api.list_objects(rest.MAINTENANCES, None)
    except kubeapi.KubeError as err:
        if err.forbidden:  # cluster-scoped: "across all namespaces" would mislead
            raise kubeapi.KubeError(f"forbidden: you may not list {rest.MAINTENANCES.name}", 403) from None
        raise
    return sorted((describe(o) for o in objects), key=lambda i: str(i["name"]))


def run(args: argparse.Namespace) -> int:
    items = collect(common.connect(args), args.name)
    if args.output != "table":
        print(structured({"items": items} if args.name is None else items[0], args.output))
    elif not items:
        print("No Maintenance announcements. Create one: kubectl maintenance announce NAME ...", file=sys.stderr)
    else:
        print(render_table(items))
        if args.name is not None:
            print(render_left(items[0]))
    for item in items:
        if item["problem"]:
            print(f"warning: Maintenance {item['name']} is not ready: {item['problem']}", file=sys.stderr)
    return 0
