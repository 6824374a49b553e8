"""Nodes annotated `maintenance.ops.dev/required` (the value is the reason; empty: `hardware`): each is an
announcement of its own, `Node/<name>`, that acts exactly as a Maintenance whose targets.nodes names that node.

A node has no status for it: its progress is the node's own marks (`cordoned-by`, `drained`) and Events, and the
windows' statuses name `Node/<name>` on each workload pending for it. `required-since` is stamped on the node when
the annotation has none, so every replica and restart sees one time. Removing the annotation withdraws it.
"""

import asyncio
import logging
from datetime import datetime

from maintenance_operator.api import names
from maintenance_operator.handlers.node_maintenance import Key, NodeMaintenance
from maintenance_operator.handlers.runtime import Runtime
from maintenance_operator.kube import nodes
from maintenance_operator.planning.announcements.matching import Announcement, Targets
from maintenance_operator.planning.nodes.cordon import NodePatch, NodeState
from maintenance_operator.planning.times import format_time, parse_time

log = logging.getLogger(__name__)

KEY_PREFIX = "node:"  # their keys in `Runtime.announcements` (a Maintenance's is its uid)
DEFAULT_REASON = "hardware"


def node_announcement(state: NodeState, since: datetime, affected: frozenset[Key]) -> Announcement:
    stamp = f"Node/{state.name}"
    return Announcement(
        name=stamp,
        reason=state.annotations.get(names.ANNOTATION_REQUIRED) or DEFAULT_REASON,
        description=f"node {state.name} is under maintenance: its pods move off in their own windows",
        since=since,
        deadline=None,
        targets=Targets({}, {}),
        nodes={},
        cordon=True,
        affected=affected,
        owner=stamp,
        node_names=(state.name,),
    )


class AnnotatedNodes:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.nodes = NodeMaintenance(runtime)
        self._wake = asyncio.Event()
        self._affected: dict[str, frozenset[Key]] = {}  # node -> the workloads it covered (the node has no status)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await self.runtime.acting.wait()
        while True:
            self._wake.clear()
            try:
                await self._pass()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("annotated nodes: pass failed; retrying on the next change")
            await self._wake.wait()
            await asyncio.sleep(0.1)  # gather a burst of pod events into one pass

    async def _pass(self) -> None:
        now = self.runtime.clock()
        wanted: dict[str, Announcement] = {}
        for state in self.runtime.cache.nodes().values():
            if names.ANNOTATION_REQUIRED not in state.annotations:
                continue
            since = parse_time(state.annotations.get(names.ANNOTATION_REQUIRED_SINCE))
            if since is None:
                stamped = format_time(now)
                await nodes.patch_node(
                    self.runtime.client, NodePatch(state.name, None, {names.ANNOTATION_REQUIRED_SINCE: stamped}, None)
                )
                since = parse_time(stamped) or now
            before = self._affected.get(state.name, frozenset())
            a = node_announcement(state, since, before)
            a = node_announcement(state, since, self.nodes.affected(a, before))
            self._affected[state.name] = a.affected or frozenset()
            wanted[KEY_PREFIX + state.name] = a
            await self.nodes.apply(a, set(a.affected or ()), now)
        await self._register(wanted, now)

    async def _register(self, wanted: dict[str, Announcement], now: datetime) -> None:
        announcements, changed = self.runtime.announcements, False
        for key in [k for k in announcements if k.startswith(KEY_PREFIX) and k not in wanted]:
            gone = announcements.pop(key)
            self._affected.pop(key.removeprefix(KEY_PREFIX), None)
            changed = True
            await self.nodes.withdraw(gone.stamp, self.nodes.selected(gone), self.nodes.covered_elsewhere(), now)
        for key, a in wanted.items():
            if announcements.get(key) != a:
                announcements[key] = a
                changed = True
        if changed:
            self.runtime.wake_every_window()
