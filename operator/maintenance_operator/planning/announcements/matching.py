"""Which targets an announcement covers, and the workload as maintenance sees it with every announcement on it.

Pending is derived here, in memory, from the announcements and the cached workloads: an announcement over 5,000
workloads costs no PATCH per target, nothing is left behind when it is deleted, and a workload created or
relabelled later is covered the moment the cache sees it.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from pydantic import ValidationError

from maintenance_operator.api import names
from maintenance_operator.api.base import describe_errors
from maintenance_operator.api.platform import MaintenanceSpec
from maintenance_operator.planning.targets import selectors
from maintenance_operator.planning.targets.workloads import Workload

KINDS = ("Deployment", "StatefulSet", "ManagedDatabase")
# Between the reasons a target is pending for: as a ManagedDatabase's StatefulSet joins its version update and
# its announced maintenance, so each reason stays one entry of the database's status.
REASONS_SEPARATOR = "; "


@dataclass(frozen=True)
class Targets:
    """`spec.targets`: every part must match; an empty part matches everything."""

    namespace_selector: Mapping[str, Any]
    selector: Mapping[str, Any]
    kinds: frozenset[str] = frozenset()
    images: tuple[str, ...] = ()  # glob patterns on container images (`*/nginx:1.2*`)

    def matches(
        self, kind: str, labels: Mapping[str, str], images: Iterable[str], namespace_labels: Mapping[str, str]
    ) -> bool:
        """`kind` and `labels` are the user's object's: a ManagedDatabase's own, not its StatefulSet's."""
        if self.kinds and kind not in self.kinds:
            return False
        if not selectors.matches(self.namespace_selector, namespace_labels):
            return False
        if not selectors.matches(self.selector, labels):
            return False
        return not self.images or any(fnmatchcase(i, p) for i in images for p in self.images)


@dataclass(frozen=True)
class Announcement:
    name: str
    reason: str
    description: str
    since: datetime  # spec.requiredSince, else the announcement's creation
    deadline: datetime | None
    targets: Targets
    # Node maintenance (`targets.nodes`): the node selector, whether to cordon, and the workloads it covers (those
    # with pods on the selected nodes, and those that had: recorded in its status). None: not a node announcement.
    nodes: Mapping[str, Any] | None = None
    cordon: bool = True
    affected: frozenset[tuple[str, str, str]] | None = None
    owner: str = ""  # who announces it, as nodes are marked (`cordoned-by`): `Maintenance/<name>` unless set
    node_names: tuple[str, ...] | None = None  # a node's own annotation names its node instead of a selector

    @property
    def stamp(self) -> str:
        return self.owner or f"{names.MAINTENANCE}/{self.name}"


def effective(w: Workload, covering: Sequence[Announcement]) -> Workload:
    """The workload with every announcement covering it: pending since the latest `requiredSince` of all of them
    (its own annotation included), so one restart after that completes them all.

    The reasons are listed oldest first, the annotation's first of all; `announcements` names the announcements.
    """
    if not covering:
        return w
    ordered = sorted(covering, key=lambda a: (a.since, a.name))
    reasons = w.required.split(REASONS_SEPARATOR) if w.required else []
    reasons += [a.reason for a in ordered if a.reason not in reasons]
    sinces = [a.since for a in ordered] + ([w.required_since] if w.required_since is not None else [])
    return replace(
        w,
        required=REASONS_SEPARATOR.join(r for r in reasons if r),
        required_since=max(sinces),
        announcements=tuple(a.name for a in ordered),
    )


def for_announcement(w: Workload, a: Announcement) -> Workload:
    """The workload as this announcement alone sees it: done by any restart after its own `requiredSince`."""
    return replace(w, required=a.reason, required_since=a.since, announcements=(a.name,))


NODES_DISABLED = (
    "spec.targets.nodes: node maintenance is not enabled in this operator: start it with --node-maintenance and "
    "install deploy/components/node-maintenance (its node permissions); until then no node is touched"
)


def announcement_of(
    name: str, spec: Mapping[str, Any], created: datetime | None, *, nodes_enabled: bool = False
) -> Announcement | str:
    """A Maintenance object's announcement (`requiredSince` defaults to its creation), or why its spec cannot be
    used: what the CRD schema cannot refuse at admission (a selector's values, an unparsable time). One
    conversion for the operator and the CLI, so both cover exactly the same targets."""
    try:
        parsed = MaintenanceSpec.model_validate(spec)
    except ValidationError as err:
        return describe_errors(err)
    targets = parsed.targets
    if targets.nodes is not None and not nodes_enabled:
        return NODES_DISABLED
    for field, selector in (("namespaceSelector", targets.namespace_selector), ("selector", targets.selector)):
        if (problem := selectors.selector_problem(selector.wire())) is not None:
            return f"spec.targets.{field}: {problem}"
    since = parsed.required_since or created
    if since is None:
        return "spec.requiredSince: not set, and the object has no creation time"
    return Announcement(
        name=name,
        reason=parsed.reason,
        description=parsed.description,
        since=since,
        deadline=parsed.deadline,
        targets=Targets(
            namespace_selector=targets.namespace_selector.wire(),
            selector=targets.selector.wire(),
            kinds=frozenset(targets.kinds),
            images=tuple(targets.images),
        ),
        nodes=targets.nodes.wire() if targets.nodes is not None else None,
        cordon=parsed.cordon,
        affected=frozenset() if targets.nodes is not None else None,
    )


def target_of(w: Workload, databases: Mapping[str, Mapping[str, str]]) -> tuple[str, Mapping[str, str]]:
    """How an announcement sees a workload: a ManagedDatabase's StatefulSet is that database, with the database's
    own labels. `databases`: the namespace's databases' labels by their `maintenance.ops.dev/database` label value."""
    label = w.labels.get(names.LABEL_DATABASE)
    if w.kind == "StatefulSet" and label is not None and label in databases:
        return names.MANAGED_DATABASE, databases[label]
    return w.kind, w.labels


def announced(
    w: Workload,
    announcements: Sequence[Announcement],
    namespace_labels: Mapping[str, str] | None,
    databases: Mapping[str, Mapping[str, str]],
) -> Workload:
    """The workload with the announcements covering it (`effective`); `namespace_labels` None (not known) matches
    only announcements whose namespaceSelector is `{}`."""
    if not announcements:
        return w
    return effective(w, [a for a in announcements if covers(a, w, namespace_labels, databases)])


def covers(
    a: Announcement,
    w: Workload,
    namespace_labels: Mapping[str, str] | None,
    databases: Mapping[str, Mapping[str, str]],
) -> bool:
    """Whether `a` covers the workload (see `announced`)."""
    if a.affected is not None and w.key not in a.affected:
        return False
    kind, labels = target_of(w, databases)
    return covers_target(a, kind, labels, w.images, namespace_labels)


def covers_target(
    a: Announcement,
    kind: str,
    labels: Mapping[str, str],
    images: Iterable[str],
    namespace_labels: Mapping[str, str] | None,
) -> bool:
    """Whether `a` covers a target of this kind, with these labels (a ManagedDatabase's own) and images, in a
    namespace with these labels (None: not known, so only an announcement for every namespace matches)."""
    if namespace_labels is None and a.targets.namespace_selector:
        return False
    return a.targets.matches(kind, labels, images, namespace_labels or {})
