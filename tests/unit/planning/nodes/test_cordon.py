"""A node announcement's patches: cordon what it found schedulable, mark drained once, and uncordon only what it
cordoned itself."""

from datetime import UTC, datetime

from maintenance_operator.planning.nodes.cordon import CORDONED_BY, DRAINED, NodeState, when_withdrawn, while_announced

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def node(unschedulable: bool = False, **annotations: str) -> NodeState:
    return NodeState("n1", unschedulable, {k.replace("_", "/"): v for k, v in annotations.items()})


def test_a_schedulable_node_is_cordoned_and_marked_as_ours() -> None:
    patch = while_announced(node(), "Maintenance/rack-7", cordon=True, drained=False, now=NOW)
    assert patch is not None and (patch.unschedulable, dict(patch.annotations)) == (
        True,
        {CORDONED_BY: "Maintenance/rack-7"},
    )
    assert patch.event is not None and patch.event[0] == "Cordoned"


def test_a_node_cordoned_before_is_left_as_found_and_never_uncordoned() -> None:
    found = node(unschedulable=True)
    assert while_announced(found, "Maintenance/rack-7", cordon=True, drained=False, now=NOW) is None
    assert when_withdrawn(found, "Maintenance/rack-7", still_wanted=False) is None


def test_cordon_false_only_marks_drained_once() -> None:
    patch = while_announced(node(), "Maintenance/rack-7", cordon=False, drained=True, now=NOW)
    assert (
        patch is not None
        and patch.unschedulable is None
        and dict(patch.annotations) == {DRAINED: "2026-12-01T12:00:00Z"}
    )
    marked = NodeState("n1", False, {DRAINED: "2026-12-01T12:00:00Z"})
    assert while_announced(marked, "Maintenance/rack-7", cordon=False, drained=True, now=NOW) is None


def test_withdrawn_uncordons_what_it_cordoned_unless_another_still_wants_it() -> None:
    ours = NodeState("n1", True, {CORDONED_BY: "Maintenance/rack-7", DRAINED: "2026-12-01T12:00:00Z"})
    patch = when_withdrawn(ours, "Maintenance/rack-7", still_wanted=False)
    assert patch is not None and patch.unschedulable is False
    assert dict(patch.annotations) == {CORDONED_BY: None, DRAINED: None}
    assert when_withdrawn(ours, "Maintenance/rack-7", still_wanted=True) is None
    drained_only = when_withdrawn(ours, "Maintenance/other", still_wanted=False)
    assert drained_only is not None and drained_only.unschedulable is None, "rack-7's cordon is rack-7's to undo"
    assert dict(drained_only.annotations) == {DRAINED: None}, "no announcement covers it: the drained mark goes"
