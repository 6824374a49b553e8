"""How far an announced node has been emptied: the pods of maintained workloads still on it, by workload, and
what is left for the node's owner. A node is drained once no pod of a maintained workload is left on it.

Counted from the pods as the cache holds them, so a new leader reaches the same answer.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from maintenance_operator.planning.nodes.placement import Placement
from maintenance_operator.planning.targets import selectors

UNMANAGED_LISTED = 10  # pods left for the node's owner, named per node (all counted)

Key = tuple[str, str, str]  # (kind, namespace, name), as the workload cache keys workloads


def selected_nodes(selector: Mapping[str, object], nodes: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The nodes (name -> labels) a Maintenance's `targets.nodes` selects; an empty selector selects none (a node
    announcement names its nodes: `{}` meaning every node would cordon the cluster)."""
    if not selector:
        return []
    return sorted(name for name, labels in nodes.items() if selectors.matches(selector, labels))


def affected(placements: Iterable[Placement], nodes: Iterable[str]) -> set[Key]:
    """The workloads with a pod on one of `nodes`: each is pending until restarted (its pods then start elsewhere,
    the nodes being cordoned)."""
    wanted = set(nodes)
    return {p.key for p in placements if p.node in wanted and p.key is not None}


@dataclass
class NodeProgress:
    node: str
    left: dict[Key, int] = field(default_factory=dict)  # pods of workloads not yet maintained, by workload
    unmanaged: int = 0  # the node owner's pods (DaemonSet, static, no workload): never waited for
    unmanaged_listed: list[str] = field(default_factory=list)

    @property
    def drained(self) -> bool:
        return not self.left


def node_progress(node: str, placements: Iterable[Placement], maintained: set[Key] | None = None) -> NodeProgress:
    """Every pod of a maintained workload (`maintained`: the workloads the announcement covers; None: every
    Deployment and StatefulSet) still on the node keeps it from being drained, even one whose workload was
    restarted (its old pod may still be terminating). Other pods are the node owner's."""
    p = NodeProgress(node)
    for pod in sorted((x for x in placements if x.node == node), key=lambda x: (x.namespace, x.name)):
        if pod.key is None or (maintained is not None and pod.key not in maintained):
            p.unmanaged += 1
            if len(p.unmanaged_listed) < UNMANAGED_LISTED:
                p.unmanaged_listed.append(f"{pod.namespace}/{pod.name}")
            continue
        p.left[pod.key] = p.left.get(pod.key, 0) + 1
    return p
