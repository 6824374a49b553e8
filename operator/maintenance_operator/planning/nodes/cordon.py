"""What a node announcement does to each node: cordon it (unless `cordon: false`), mark it drained once no pod of a
maintained workload is left, and leave it as found when the announcement goes.

The node itself records what the operator did (`maintenance.ops.dev/cordoned-by`), so a node that was cordoned
before (by its owner, by kubectl drain) is never uncordoned by us, and a new leader knows which nodes are ours.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from maintenance_operator.planning.times import format_time

CORDONED_BY = "maintenance.ops.dev/cordoned-by"
DRAINED = "maintenance.ops.dev/drained"


@dataclass(frozen=True)
class NodeState:
    """A node as the decision needs it: `unschedulable` is `spec.unschedulable`."""

    name: str
    unschedulable: bool
    annotations: Mapping[str, str]
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def cordoned_by(self) -> str | None:
        return self.annotations.get(CORDONED_BY)


def node_state(obj: Mapping[str, Any]) -> NodeState:
    """From a Node as the API server returns it."""
    meta = obj.get("metadata") or {}
    return NodeState(
        name=str(meta.get("name") or ""),
        unschedulable=(obj.get("spec") or {}).get("unschedulable") is True,
        annotations=dict(meta.get("annotations") or {}),
        labels=dict(meta.get("labels") or {}),
    )


@dataclass(frozen=True)
class NodePatch:
    """A merge patch of one node: `unschedulable` None leaves it; an annotation None removes it."""

    node: str
    unschedulable: bool | None
    annotations: Mapping[str, str | None]
    event: tuple[str, str] | None  # (reason, message) told on the node


def while_announced(node: NodeState, mine: str, cordon: bool, drained: bool, now: datetime) -> NodePatch | None:
    """The node's patch while the announcement `mine` (`Maintenance/<name>`, or `Node/<name>` for a node's own
    annotation) covers it (None: nothing to change). `drained`: no pod of a maintained workload is left on it."""
    unschedulable: bool | None = None
    annotations: dict[str, str | None] = {}
    event = None
    if cordon and not node.unschedulable:
        unschedulable, annotations[CORDONED_BY] = True, mine
        event = ("Cordoned", f"cordoned for {mine}: its workloads move off in their own maintenance windows")
    if drained and DRAINED not in node.annotations:
        annotations[DRAINED] = format_time(now)
        event = ("Drained", f"no pod of a workload maintained for {mine} is left on it")
    if unschedulable is None and not annotations:
        return None
    return NodePatch(node.name, unschedulable, annotations, event)


def when_withdrawn(node: NodeState, mine: str, still_wanted: bool) -> NodePatch | None:
    """The node's patch once the announcement `mine` no longer covers it (`still_wanted`: another one does):
    uncordoned only if this announcement cordoned it, and the drained mark removed, once none covers it."""
    annotations: dict[str, str | None] = {}
    unschedulable: bool | None = None
    event = None
    if node.cordoned_by == mine and not still_wanted:
        unschedulable, annotations[CORDONED_BY] = False, None
        event = ("Uncordoned", f"{mine} was withdrawn or is done: the node is schedulable again, as it was found")
    if DRAINED in node.annotations and not still_wanted:
        annotations[DRAINED] = None
    if unschedulable is None and not annotations:
        return None
    return NodePatch(node.name, unschedulable, annotations, event)
