"""Which pod of an OnDelete StatefulSet a window replaces next."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.planning.targets.pod_replacement import Pod, next_to_replace, pod_from_object

OLD, NEW = "db-7d9f8c6b5", "db-5c4b8f7d9"


def pod(ordinal: int, revision: str | None = OLD, ready: bool = True, deleting: bool = False) -> Pod:
    return Pod(f"db-{ordinal}", ordinal, revision, ready, deleting)


@pytest.mark.parametrize(
    ("pods", "replicas", "expected"),
    [
        pytest.param([pod(0), pod(1), pod(2)], 3, "db-2", id="highest-ordinal-first"),
        pytest.param([pod(0), pod(1), pod(2, NEW)], 3, "db-1", id="then-the-next"),
        pytest.param([pod(0, NEW), pod(1, NEW), pod(2, NEW)], 3, None, id="all-replaced"),
        pytest.param([pod(0), pod(1), pod(2, NEW, ready=False)], 3, None, id="wait-for-the-new-pod-to-be-ready"),
        pytest.param([pod(0), pod(1), pod(2, deleting=True)], 3, None, id="wait-while-one-goes-away"),
        pytest.param([pod(0), pod(1)], 3, None, id="wait-for-the-controller-to-recreate"),
        pytest.param([pod(0, ready=False), pod(1), pod(2)], 3, None, id="an-unready-old-pod-waits-too"),
        pytest.param([pod(0), pod(10), pod(9)], 3, "db-10", id="ordinals-compare-as-numbers"),
        pytest.param([], 0, None, id="scaled-to-zero"),
    ],
)
def test_next_to_replace(pods: list[Pod], replicas: int, expected: str | None) -> None:
    chosen = next_to_replace(pods, NEW, replicas)
    assert (chosen.name if chosen else None) == expected


def test_no_update_revision_replaces_nothing() -> None:
    assert next_to_replace([pod(0)], None, 1) is None


@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans()), min_size=1, max_size=6))
def test_one_at_a_time_and_only_stale_pods(flags: list[tuple[bool, bool, bool]]) -> None:
    pods = [pod(i, NEW if new else OLD, ready, deleting) for i, (new, ready, deleting) in enumerate(flags)]
    chosen = next_to_replace(pods, NEW, len(pods))
    if chosen is not None:
        assert chosen.revision != NEW
        assert all(p.ready and not p.deleting for p in pods), "never while another pod is down"
        assert chosen.ordinal == max(p.ordinal for p in pods if p.revision != NEW)
    elif all(p.ready and not p.deleting for p in pods):
        assert all(p.revision == NEW for p in pods)


def body(name: str, **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"controller-revision-hash": OLD}, **meta},
        "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}]},
    }


def test_pod_from_object() -> None:
    assert pod_from_object(body("db-2")) == Pod("db-2", 2, OLD, True, False)
    going = pod_from_object(body("db-0", deletionTimestamp="2026-12-01T14:00:00Z"))
    assert going.deleting and going.ordinal == 0
    assert pod_from_object({"metadata": {"name": "stray"}}) == Pod("stray", -1, None, False, False)
