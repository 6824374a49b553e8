"""`kubectl maintenance announce`: create a Maintenance, the platform's announcement over many namespaces.

Label selectors are written as kubectl writes them (`-l 'tier=web,env in (prod,staging),!legacy'`) and parsed
(`label_selectors`) into a metav1.LabelSelector, the form the Maintenance's spec stores.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from maintenance_operator.api import names, rest
from maintenance_operator.cli import common, kubeapi
from maintenance_operator.cli.errors import CliError
from maintenance_operator.cli.label_selectors import SelectorError, parse_selector
from maintenance_operator.cli.output import FORMATS, structured
from maintenance_operator.cli.require import _reason as require_reason
from maintenance_operator.cli.require import _since as _time  # the same RFC 3339 check and message
from maintenance_operator.planning.targets.selectors import to_query
from maintenance_operator.planning.times import format_time

MAX_REASON = 63  # the CRD's limits, checked here so the message names the flag
MAX_DESCRIPTION = 2048
_INVALID = re.compile(r'^\S+ "[^"]*" is invalid: ')


def _selector_arg(text: str) -> dict[str, Any]:
    try:
        return parse_selector(text)
    except SelectorError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _reason(text: str) -> str:
    """`require`'s one-line check, within the CRD's shorter limit."""
    if not text.strip() or len(text.strip()) > MAX_REASON:
        raise argparse.ArgumentTypeError(f"the reason must be one line of 1 to {MAX_REASON} characters")
    return require_reason(text)


def _description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION:
        raise argparse.ArgumentTypeError(f"the description has at most {MAX_DESCRIPTION} characters")
    return text


def _image(text: str) -> str:
    if not text or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"{text!r}: an image pattern is one word, e.g. '*/nginx:1.2*'")
    return text


def _kind(text: str) -> str:
    resource = common.KIND_ALIASES.get(text.lower())
    if resource is None:
        accepted = ", ".join(sorted(k for k in common.KIND_ALIASES if "." not in k))
        raise argparse.ArgumentTypeError(f"{text!r}: unknown kind; use one of {accepted}")
    return resource.kind


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "announce",
        help="announce maintenance over many namespaces (creates a Maintenance)",
        description="Create a Maintenance: every Deployment, StatefulSet and ManagedDatabase it covers is pending "
        "with REASON, done in whatever maintenance window handles it, or earlier by any restart or rollout after "
        "--since (self-service). Every part of the targets must match; a part left out matches everything. "
        "Follow it with: kubectl maintenance announcements NAME",
        epilog="example: kubectl maintenance announce openssl-fix --reason security --description 'Base image "
        "openssl fix' --namespaces 'env in (prod,staging)' --image '*/base:2026.1*' --deadline 2026-12-15T00:00:00Z",
    )
    p.add_argument("name", metavar="NAME", help="the Maintenance's name (a DNS subdomain)")
    p.add_argument("--reason", required=True, type=_reason, help=f"{', '.join(names.KNOWN_REASONS)}, or your own word")
    p.add_argument("--description", required=True, type=_description, help="what the owners are told, in notices too")
    p.add_argument(
        "-l",
        "--selector",
        type=_selector_arg,
        default={},
        help="the targets' own labels, as kubectl -l (a ManagedDatabase's, not its StatefulSet's)",
    )
    p.add_argument(
        "--namespaces",
        type=_selector_arg,
        default={},
        metavar="SELECTOR",
        help="the namespaces, by their labels, as kubectl -l (default every namespace)",
    )
    for flag, dest, parse, metavar, text in (
        ("--image", "images", _image, "PATTERN", "a glob pattern on container images, e.g. '*/nginx:1.2*'"),
        ("--kind", "kinds", _kind, "KIND", "deployment, statefulset or manageddatabase (deploy, sts, mdb)"),
    ):
        p.add_argument(
            flag, dest=dest, action="append", type=parse, default=[], metavar=metavar, help=f"{text} (repeat: any)"
        )
    p.add_argument("--since", type=_time, help="RFC 3339: restarts from then on complete it (default its creation)")
    p.add_argument("--deadline", type=_time, help="RFC 3339: targets still pending then are counted overdue")
    p.add_argument("--dry-run", action="store_true", help="print the Maintenance instead of creating it")
    p.add_argument("-o", "--output", choices=FORMATS, help="print the object as json or yaml instead of a summary")
    p.add_argument("--kubeconfig", help="path to the kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
    p.add_argument("--context", help="the kubeconfig context to use (default its current context)")
    p.set_defaults(run=run)


def maintenance(
    name: str,
    reason: str,
    description: str,
    *,
    selector: Mapping[str, Any] | None = None,
    namespaces: Mapping[str, Any] | None = None,
    images: Sequence[str] = (),
    kinds: Sequence[str] = (),
    since: datetime | None = None,
    deadline: datetime | None = None,
) -> dict[str, Any]:
    """The Maintenance object; parts left out are not written, so they match everything."""
    targets: dict[str, Any] = {}
    if namespaces:
        targets["namespaceSelector"] = dict(namespaces)
    if selector:
        targets["selector"] = dict(selector)
    if kinds:
        targets["kinds"] = list(dict.fromkeys(kinds))
    if images:
        targets["images"] = list(dict.fromkeys(images))
    spec: dict[str, Any] = {"reason": reason, "description": description}
    if targets:
        spec["targets"] = targets
    if since is not None:
        spec["requiredSince"] = format_time(since)
    if deadline is not None:
        spec["deadline"] = format_time(deadline)
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.MAINTENANCE,
        "metadata": {"name": name},
        "spec": spec,
    }


def summary(obj: Mapping[str, Any], verb: str) -> list[str]:
    """What was created (or would be), in a few lines."""
    spec = obj.get("spec") or {}
    targets = spec.get("targets") or {}
    name = (obj.get("metadata") or {}).get("name")
    namespaces = targets.get("namespaceSelector")
    parts = [
        f"namespaces {to_query(namespaces)}" if namespaces else "every namespace",
        f"labels {to_query(targets['selector'])}" if targets.get("selector") else "",
        f"kinds {', '.join(targets['kinds'])}" if targets.get("kinds") else "",
        f"images {', '.join(targets['images'])}" if targets.get("images") else "",
    ]
    since = spec.get("requiredSince") or "its creation"
    return [
        f"{names.MAINTENANCE.lower()}/{name} {verb}: {spec.get('reason')}, required since {since}"
        + (f", deadline {spec['deadline']}" if spec.get("deadline") else ""),
        f"targets: {'; '.join(p for p in parts if p)}",
    ]


def create(api: kubeapi.Api, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST the Maintenance; the API server's refusals (its schema, the CEL rules) in its own words."""
    name = body["metadata"]["name"]
    try:
        return api.create(rest.MAINTENANCES, "", body)
    except kubeapi.KubeError as err:
        if err.status == 409:
            raise CliError(f"Maintenance {name} already exists: see kubectl maintenance announcements {name}") from None
        if err.status in (400, 422):
            detail = str(err).partition("): ")[2] or str(err)
            raise CliError(f"the API server refused Maintenance {name}: {_INVALID.sub('', detail)}") from None
        raise


def run(args: argparse.Namespace) -> int:
    body = maintenance(
        args.name,
        args.reason,
        args.description,
        selector=args.selector,
        namespaces=args.namespaces,
        images=args.images,
        kinds=args.kinds,
        since=args.since,
        deadline=args.deadline,
    )
    if args.dry_run:
        print(structured(body, args.output or "yaml"))
        return 0
    created = create(common.connect(args), body)
    if args.output:
        print(structured(created, args.output))
        return 0
    for line in summary(created, "created"):
        print(line)
    print(f"Progress: kubectl maintenance announcements {args.name}")
    return 0
