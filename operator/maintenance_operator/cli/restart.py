"""`kubectl maintenance restart`: self-service maintenance, the same restart `kubectl rollout restart` does."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

from maintenance_operator.api import names, rest
from maintenance_operator.cli import common, kubeapi
from maintenance_operator.cli.errors import CliError
from maintenance_operator.planning.targets.pending import needs_since_stamp, pending
from maintenance_operator.planning.targets.workloads import restart_patch, workload_from_object
from maintenance_operator.planning.times import format_time

RESTARTABLE = {alias: r for alias, r in common.KIND_ALIASES.items() if r in (rest.DEPLOYMENTS, rest.STATEFULSETS)}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "restart",
        help="restart targets now (self-service maintenance)",
        description="Restart Deployments or StatefulSets now, exactly as `kubectl rollout restart` does. Once the "
        "rollout completes, the operator records their pending maintenance as done and no window restarts them.",
    )
    p.add_argument(
        "targets",
        nargs="+",
        metavar="KIND/NAME",
        type=partial(common.parse_target, kinds=RESTARTABLE),
        help="deployment/NAME (deploy) or statefulset/NAME (sts)",
    )
    common.add_connection_args(p)
    p.set_defaults(run=run)


def restart(api: kubeapi.Api, targets: list[tuple[rest.Resource, str]], namespace: str, now: datetime) -> Iterator[str]:
    """Restart the targets in turn, saying for each what the operator will make of it; stops at a failure."""
    for resource, name in targets:
        ref = common.target_ref(resource, name)
        w = workload_from_object(resource.kind, api.get(resource, namespace, name))
        if w.paused:
            raise CliError(f"{ref} is paused and cannot be restarted (resume it first: kubectl rollout resume {ref})")
        api.patch(resource, namespace, name, restart_patch(now), rest.STRATEGIC_MERGE_PATCH)
        if w.on_delete:
            yield (
                f"{ref} has updateStrategy OnDelete: no pod is replaced until it is deleted, and maintenance counts "
                f"only once every pod runs the new revision; delete its pods one at a time, or let its window "
                "evict them"
            )
        found = pending(w)
        if w.required is None:
            yield f"{ref} restarted; no maintenance was pending on it"
        elif needs_since_stamp(w):
            yield (
                f"{ref} restarted; its {w.required} maintenance has no {names.ANNOTATION_REQUIRED_SINCE} yet, so "
                "the operator may not count this restart"
            )
        elif found is None:
            yield f"{ref} restarted; its {w.required} maintenance was already done"
        else:
            yield (
                f"{ref} restarted; the operator will record its pending {found.reason} maintenance (required since "
                f"{format_time(found.since)}) as done once the rollout completes. "
                f"Follow it: kubectl rollout status -n {namespace} {ref}"
            )


def run(args: argparse.Namespace) -> int:
    api = common.connect(args)
    namespace = common.scope(args, api)
    assert namespace is not None
    for line in restart(api, args.targets, namespace, datetime.now(UTC)):
        print(line)
    return 0
