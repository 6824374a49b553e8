"""Flags and argument forms shared by the verbs that talk to the cluster, spelled as kubectl spells them."""

from __future__ import annotations

import argparse

from maintenance_operator.api import rest
from maintenance_operator.cli import kubeapi
from maintenance_operator.cli.output import FORMATS

# kubectl's names and short names for the kinds the plugin acts on.
KIND_ALIASES = {
    "deployment": rest.DEPLOYMENTS,
    "deployments": rest.DEPLOYMENTS,
    "deploy": rest.DEPLOYMENTS,
    "deployment.apps": rest.DEPLOYMENTS,
    "statefulset": rest.STATEFULSETS,
    "statefulsets": rest.STATEFULSETS,
    "sts": rest.STATEFULSETS,
    "statefulset.apps": rest.STATEFULSETS,
    "manageddatabase": rest.MANAGED_DATABASES,
    "manageddatabases": rest.MANAGED_DATABASES,
    "mdb": rest.MANAGED_DATABASES,
}


def add_connection_args(p: argparse.ArgumentParser, *, all_namespaces: bool = False) -> None:
    """--kubeconfig, --context, -n (and -A for listing verbs)."""
    p.add_argument("--kubeconfig", help="path to the kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
    p.add_argument("--context", help="the kubeconfig context to use (default its current context)")
    p.add_argument("-n", "--namespace", help="namespace (default the context's namespace)")
    if all_namespaces:
        p.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace you may read, not only one")


def add_output_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", choices=FORMATS, default="table", help="table (default), json or yaml")


def connect(args: argparse.Namespace) -> kubeapi.Kube:
    return kubeapi.connect(args.kubeconfig, args.context)


def scope(args: argparse.Namespace, api: kubeapi.Api) -> str | None:
    """The namespace to read, or None for all of them (-A)."""
    if getattr(args, "all_namespaces", False):
        return None
    return str(args.namespace or api.default_namespace)


def parse_target(text: str, kinds: dict[str, rest.Resource]) -> tuple[rest.Resource, str]:
    """`deployment/web` -> (DEPLOYMENTS, "web"); raises argparse.ArgumentTypeError naming the accepted kinds."""
    kind, sep, name = text.partition("/")
    resource = kinds.get(kind.lower())
    if not sep or not name or "/" in name:
        raise argparse.ArgumentTypeError(f"{text!r}: name a target as KIND/NAME, e.g. deployment/web")
    if resource is None:
        accepted = ", ".join(sorted({k for k in kinds if "." not in k}))
        raise argparse.ArgumentTypeError(f"{text!r}: unknown kind {kind!r}; use one of {accepted}")
    return resource, name


def target_ref(resource: rest.Resource, name: str) -> str:
    """How kubectl prints a target: `deployment/web`."""
    return f"{resource.kind.lower()}/{name}"
