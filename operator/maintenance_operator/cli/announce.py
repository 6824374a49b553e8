"""`kubectl maintenance announce`: create a Maintenance, the platform's announcement over many namespaces.

Label selectors are written as kubectl writes them (`-l 'tier=web,env in (prod,staging),!legacy'`) and parsed
here into a metav1.LabelSelector, the form the Maintenance's spec stores.
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
from maintenance_operator.cli.output import FORMATS, structured
from maintenance_operator.cli.require import _reason as require_reason
from maintenance_operator.cli.require import _since as _time  # the same RFC 3339 check and message
from maintenance_operator.planning.targets.selectors import to_query
from maintenance_operator.planning.times import format_time

MAX_REASON = 63  # the CRD's limits, checked here so the message names the flag
MAX_DESCRIPTION = 2048
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$")
_VALUE = re.compile(rf"^({_NAME})?$")
_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|[^\s,()=!]+)")
_INVALID = re.compile(r'^\S+ "[^"]*" is invalid: ')


class SelectorError(ValueError):
    """Why a selector string is not a label selector; the text names the part that is wrong."""


def parse_selector(text: str) -> dict[str, Any]:
    """`a=b,c!=d,e in (x,y),f notin (z),g,!h` as a metav1.LabelSelector (`{}` for an empty string), as
    `kubectl -l` reads it. `=`/`==` become matchLabels, `!=` a NotIn of one value; `>` and `<` are refused, as
    a LabelSelector cannot hold them."""
    tokens = _tokens(text)
    match_labels: dict[str, str] = {}
    expressions: list[dict[str, Any]] = []
    i = 0
    while i < len(tokens):
        i, requirement = _requirement(tokens, i, text)
        if isinstance(requirement, tuple):
            key, value = requirement
            if key in match_labels and match_labels[key] != value:
                raise SelectorError(f"{text!r}: {key}={match_labels[key]} and {key}={value} never both hold")
            match_labels[key] = value
        else:
            expressions.append(requirement)
        if i < len(tokens):
            if tokens[i] != ",":
                raise SelectorError(f"{text!r}: expected ',' before {tokens[i]!r}")
            i += 1
            if i == len(tokens):
                raise SelectorError(f"{text!r}: a requirement must follow the last ','")
    selector: dict[str, Any] = {}
    if match_labels:
        selector["matchLabels"] = match_labels
    if expressions:
        selector["matchExpressions"] = expressions
    return selector


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while text[position:].strip():
        found = _TOKEN.match(text, position)
        if found is None:  # pragma: no cover - the pattern matches any non-blank character
            raise SelectorError(f"{text!r}: cannot read {text[position:]!r}")
        tokens.append(found.group(1))
        position = found.end()
    if any("<" in token or ">" in token for token in tokens):
        raise SelectorError(f"{text!r}: '<' and '>' cannot be stored in a label selector")
    return tokens


def _key(token: str | None, text: str) -> str:
    if token is None or token in ("==", "!=", "=", "!", "(", ")", ","):
        raise SelectorError(f"{text!r}: expected a label key, found {token or 'the end'!r}")
    if len(token.rpartition("/")[2]) > 63 or len(token.partition("/")[0]) > 253 or not _KEY.match(token):
        raise SelectorError(
            f"{text!r}: {token!r} is not a label key (at most 63 letters, digits, '-', '_', '.', optionally "
            "after a DNS prefix and '/')"
        )
    return token


def _value(token: str | None, key: str, text: str) -> str:
    if token is None or token in ("==", "!=", "=", "!", "(", ")", ","):
        raise SelectorError(f"{text!r}: expected a value for {key}, found {token or 'the end'!r}")
    if len(token) > 63 or not _VALUE.match(token):
        raise SelectorError(f"{text!r}: {token!r} is not a label value (at most 63 letters, digits, '-', '_', '.')")
    return token


def _at(tokens: Sequence[str], i: int) -> str | None:
    return tokens[i] if i < len(tokens) else None


def _requirement(tokens: Sequence[str], i: int, text: str) -> tuple[int, tuple[str, str] | dict[str, Any]]:
    """One requirement from `tokens[i]`: the next index, and (key, value) for equality or an expression."""
    if tokens[i] == "!":
        return i + 2, {"key": _key(_at(tokens, i + 1), text), "operator": "DoesNotExist"}
    key = _key(tokens[i], text)
    op = _at(tokens, i + 1)
    if op in (None, ","):
        return i + 1, {"key": key, "operator": "Exists"}
    if op in ("=", "==", "!="):
        # `a=` is the empty value, as kubectl reads it
        empty = _at(tokens, i + 2) in (None, ",")
        value = "" if empty else _value(_at(tokens, i + 2), key, text)
        end = i + 2 if empty else i + 3
        if op == "!=":
            return end, {"key": key, "operator": "NotIn", "values": [value]}
        return end, (key, value)
    if op in ("in", "notin"):
        if _at(tokens, i + 2) != "(":
            raise SelectorError(f"{text!r}: expected '(' after {key} {op}")
        values: list[str] = []
        j = i + 3
        while True:
            values.append(_value(_at(tokens, j), key, text))
            sep = _at(tokens, j + 1)
            if sep == ")":
                break
            if sep != ",":
                raise SelectorError(f"{text!r}: expected ',' or ')' in the values of {key} {op}")
            j += 2
        return j + 2, {"key": key, "operator": "In" if op == "in" else "NotIn", "values": sorted(set(values))}
    raise SelectorError(f"{text!r}: expected =, ==, !=, in or notin after {key}, found {op!r}")


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
