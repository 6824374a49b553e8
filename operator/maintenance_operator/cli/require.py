"""`kubectl maintenance require`: announce maintenance on a target with one merge PATCH of its annotations."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

from maintenance_operator.api import names, rest
from maintenance_operator.cli import common, kubeapi
from maintenance_operator.cli.errors import CliError
from maintenance_operator.planning.times import format_time, parse_time

# A --since ahead of the local clock by more than this is refused: nothing could ever complete it until then.
CLOCK_SKEW = timedelta(minutes=5)
MAX_REASON = 256


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "require",
        help="announce that targets need maintenance",
        description="Mark targets as needing maintenance: sets the annotations "
        f"{names.ANNOTATION_REQUIRED} (the reason) and {names.ANNOTATION_REQUIRED_SINCE} (when). The one "
        "MaintenanceWindow that handles a target (kubectl maintenance apps names it) restarts it; any restart or "
        "rollout after --since completes it earlier (self-service).",
    )
    p.add_argument(
        "targets",
        nargs="+",
        metavar="KIND/NAME",
        type=partial(common.parse_target, kinds=common.KIND_ALIASES),
        help="deployment/NAME (deploy), statefulset/NAME (sts) or manageddatabase/NAME (mdb)",
    )
    p.add_argument(
        "--reason",
        required=True,
        type=_reason,
        help=f"{', '.join(names.KNOWN_REASONS)}, or free text",
    )
    p.add_argument("--since", type=_since, help="RFC 3339 time the maintenance became due (default now)")
    common.add_connection_args(p)
    p.set_defaults(run=run)


def _reason(text: str) -> str:
    reason = text.strip()
    if not reason or "\n" in reason or len(reason) > MAX_REASON:
        raise argparse.ArgumentTypeError(f"the reason must be one line of 1 to {MAX_REASON} characters")
    return reason


def _since(text: str) -> datetime:
    value = parse_time(text)
    if value is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an RFC 3339 time with a UTC offset, e.g. 2026-12-01T14:00:00Z"
        )
    return value


def annotations_patch(reason: str, since: datetime) -> dict[str, object]:
    """The merge patch: both annotations at once, so the operator never sees one without the other."""
    return {
        "metadata": {
            "annotations": {names.ANNOTATION_REQUIRED: reason, names.ANNOTATION_REQUIRED_SINCE: format_time(since)}
        }
    }


def require(
    api: kubeapi.Api,
    targets: list[tuple[rest.Resource, str]],
    namespace: str,
    reason: str,
    since: datetime,
) -> Iterator[str]:
    """Patch the targets in turn, a line for each done; the first failure raises and stops the rest."""
    for resource, name in targets:
        api.patch(resource, namespace, name, annotations_patch(reason, since), rest.MERGE_PATCH)
        yield f"{common.target_ref(resource, name)}: maintenance required ({reason}) since {format_time(since)}"


def run(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    since = args.since or now
    if since > now + CLOCK_SKEW:
        raise CliError(f"--since {format_time(since)} is in the future; maintenance is due from now at most")
    api = common.connect(args)
    namespace = common.scope(args, api)
    assert namespace is not None
    for line in require(api, args.targets, namespace, args.reason, since):
        print(line)
    print(
        "It will be done in the MaintenanceWindow that handles it, or earlier by any restart or rollout: "
        "kubectl maintenance restart KIND/NAME. See: kubectl maintenance apps"
    )
    return 0
