"""What a node announcement does on the cluster, for its AnnouncementRunner: the workloads it covers (pods on the
selected nodes now, and those that had, as its status recorded), the cordon and drained patches of each node, and
leaving the nodes as found when it goes. The decisions are `planning.nodes`; this applies them.
"""

from collections.abc import Iterable
from datetime import datetime

from maintenance_operator.api.platform import NODE_WORKLOADS_SHOWN, NODES_SHOWN, NodeProgressStatus, NodeWorkloadLeft
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.kube import events, nodes
from maintenance_operator.planning.announcements.matching import Announcement
from maintenance_operator.planning.nodes import cordon, progress
from maintenance_operator.planning.times import parse_time

Key = tuple[str, str, str]


def parse_recorded(values: Iterable[str]) -> frozenset[Key]:
    """`status.affected` entries (`<namespace>/<kind>/<name>`) as workload keys."""
    found = set()
    for value in values:
        namespace, _, rest = value.partition("/")
        kind, _, name = rest.partition("/")
        if namespace and kind and name:
            found.add((kind, namespace, name))
    return frozenset(found)


class NodeMaintenance:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def selected(self, a: Announcement) -> list[str]:
        """The nodes `a` announces: by its selector, or the node whose annotation it is."""
        states = self.runtime.cache.nodes()
        if a.node_names is not None:
            return [n for n in a.node_names if n in states]
        return progress.selected_nodes(a.nodes or {}, {name: state.labels for name, state in states.items()})

    def covered_elsewhere(self) -> set[str]:
        """The nodes the node announcements still in use cover (a withdrawn one is no longer among them)."""
        return {n for a in self.runtime.announcements.values() if a.affected is not None for n in self.selected(a)}

    def affected(self, a: Announcement, before: frozenset[Key]) -> frozenset[Key]:
        """The workloads with pods on the selected nodes now, and those recorded before (moved off since)."""
        return before | progress.affected(self.runtime.cache.placements(), self.selected(a))

    async def apply(self, a: Announcement, maintained: set[Key], now: datetime) -> list[NodeProgressStatus]:
        """Cordon the selected nodes, mark the drained ones (no pod of a `maintained` workload left); each node's
        progress for the status."""
        states = self.runtime.cache.nodes()
        placements = self.runtime.cache.placements()
        shown: list[NodeProgressStatus] = []
        for name in self.selected(a):
            state = states[name]
            p = progress.node_progress(name, placements, maintained)
            patch = cordon.while_announced(state, a.stamp, a.cordon, p.drained, now)
            if patch is not None:
                await nodes.patch_node(self.runtime.client, patch)
                self._tell(name, patch, now)
            if len(shown) < NODES_SHOWN:
                shown.append(self._status(state, p, patch))
        return shown

    async def withdraw(self, mine: str, announced: Iterable[str], still_covered: Iterable[str], now: datetime) -> None:
        """The announcement `mine` is gone: each of its `announced` nodes it cordoned or marked goes back as it was
        found, unless another announcement (`still_covered`: the nodes others cover) still covers it."""
        others, states = set(still_covered), self.runtime.cache.nodes()
        marked = {n for n, state in states.items() if state.cordoned_by == mine}  # also those no longer selected
        for state in (states[n] for n in sorted(set(announced) | marked) if n in states):
            patch = cordon.when_withdrawn(state, mine, still_wanted=state.name in others)
            if patch is not None:
                await nodes.patch_node(self.runtime.client, patch)
                self._tell(state.name, patch, now)

    def _tell(self, node: str, patch: cordon.NodePatch, now: datetime) -> None:
        if patch.event is None:
            return
        reason, message = patch.event
        involved = events.ref("v1", "Node", "", node)
        self.runtime.spawn(
            events.emit(self.runtime.client, involved, reason, message, now, key=f"{node}{reason}{message}")
        )

    def _status(
        self, state: cordon.NodeState, p: progress.NodeProgress, patch: cordon.NodePatch | None
    ) -> NodeProgressStatus:
        cordoned = state.unschedulable or bool(patch and patch.unschedulable)
        drained = state.annotations.get(cordon.DRAINED) or (patch.annotations.get(cordon.DRAINED) if patch else None)
        left: list[NodeWorkloadLeft] = []
        for (kind, namespace, name), pods in sorted(p.left.items(), key=lambda e: (e[0][1], e[0][0], e[0][2])):
            if len(left) >= NODE_WORKLOADS_SHOWN:
                break
            w = self.runtime.workload(kind, namespace, name)
            slot = self.runtime.window_for(namespace, w.labels) if w is not None else None
            left.append(
                NodeWorkloadLeft.of(
                    namespace=namespace,
                    target=f"{kind.lower()}/{name}",
                    pods=pods,
                    window=slot.window if slot is not None else None,
                    window_start=slot.occurrence.start if slot is not None and slot.occurrence else None,
                )
            )
        return NodeProgressStatus.of(
            name=state.name,
            cordoned=cordoned,
            drained=parse_time(drained),
            pods_left=sum(p.left.values()),
            workloads_left=left,
            unmanaged_pods=p.unmanaged,
        )
