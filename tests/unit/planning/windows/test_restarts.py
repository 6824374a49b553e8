"""What a window restarts now: concurrency, failures, timeouts, pauses, closed windows, and once per occurrence."""

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from maintenance_operator.planning.targets.pending import pending
from maintenance_operator.planning.targets.workloads import Rollout, Workload
from maintenance_operator.planning.windows.restarts import Policy, Reason, Step, Wait, is_due, plan
from maintenance_operator.schedule import WindowReason
from tests.unit.planning.factories import (
    OCCURRENCE,
    PREVIOUS_OCCURRENCE,
    WINDOW_START,
    pending_workload,
    restarted,
    workload,
)

NOW = WINDOW_START + timedelta(minutes=10)
TIMEOUT = timedelta(minutes=10)
STOP = Policy(concurrency=1, stop_on_failure=True, rollout_timeout=TIMEOUT)
CONTINUE = replace(STOP, stop_on_failure=False)

A, B, C = (pending_workload(name) for name in ("a", "b", "c"))


def in_flight(w: Workload, minutes_ago: int = 2) -> Workload:
    return restarted(w, NOW - timedelta(minutes=minutes_ago))


def succeeded(w: Workload) -> Workload:
    return replace(in_flight(w), rollout=Rollout.COMPLETE)


def failed(w: Workload) -> Workload:
    return replace(in_flight(w), rollout=Rollout.FAILED)


def names(ws: list[Workload]) -> list[str]:
    return [w.name for w in ws]


def waits(step: Step) -> dict[str, Reason]:
    return {name: reason for (_, _, name), reason in step.wait_reasons.items()}


def run(
    targets: list[Workload],
    policy: Policy = STOP,
    *,
    occurrence: str | None = OCCURRENCE,
    can_start: WindowReason | None = None,
    blocked: frozenset[tuple[str, str, str]] = frozenset(),
    now: datetime = NOW,
) -> Step:
    return plan(targets, occurrence, can_start, policy, now, blocked)


# ---------------------------------------------------------------------------------------------------------------
# Tables: (targets, policy) -> what starts, what is in flight, what is done, and why the rest waits.


@dataclass(frozen=True)
class Expect:
    start: list[str] = field(default_factory=list)
    flying: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    waiting: dict[str, Wait] = field(default_factory=dict)


CONCURRENCY_2 = replace(STOP, concurrency=2)
SLOW_SUCCESS = replace(in_flight(A, minutes_ago=30), rollout=Rollout.COMPLETE)
FAILED_LAST_WEEK = replace(restarted(A, NOW - timedelta(days=7), PREVIOUS_OCCURRENCE), rollout=Rollout.FAILED)
DONE_NOTHING_PENDING = replace(in_flight(A), rollout=Rollout.COMPLETE, required=None, required_since=None)
BEHIND = {"b": Wait.CONCURRENCY, "c": Wait.CONCURRENCY}
STOPPED = {"b": Wait.STOPPED_AFTER_FAILURE, "c": Wait.STOPPED_AFTER_FAILURE}


@pytest.mark.parametrize(
    ("targets", "policy", "expect"),
    [
        pytest.param([A], STOP, Expect(start=["a"]), id="one-pending"),
        pytest.param([workload("a")], STOP, Expect(), id="nothing-pending"),
        pytest.param([A, B, C], STOP, Expect(start=["a"], waiting=BEHIND), id="concurrency-1"),
        pytest.param(
            [A, B, C], CONCURRENCY_2, Expect(start=["a", "b"], waiting={"c": Wait.CONCURRENCY}), id="concurrency-2"
        ),
        pytest.param([A, B, C], replace(STOP, concurrency=5), Expect(start=["a", "b", "c"]), id="room-for-all"),
        pytest.param([in_flight(A), B, C], STOP, Expect(flying=["a"], waiting=BEHIND), id="slot-taken-by-in-flight"),
        pytest.param(
            [in_flight(A), B, C],
            CONCURRENCY_2,
            Expect(start=["b"], flying=["a"], waiting={"c": Wait.CONCURRENCY}),
            id="one-slot-left",
        ),
        pytest.param(
            [succeeded(A), B, C],
            STOP,
            Expect(start=["b"], done=["a"], waiting={"c": Wait.CONCURRENCY}),
            id="next-after-success",
        ),
        pytest.param([failed(A), B, C], STOP, Expect(broken=["a"], waiting=STOPPED), id="stop-after-failure"),
        pytest.param(
            [failed(A), B, C],
            CONTINUE,
            Expect(start=["b"], broken=["a"], waiting={"c": Wait.CONCURRENCY}),
            id="continue-after-failure",
        ),
        pytest.param(
            [in_flight(A, minutes_ago=11), B],
            STOP,
            Expect(broken=["a"], waiting={"b": Wait.STOPPED_AFTER_FAILURE}),
            id="rollout-timeout-is-a-failure",
        ),
        pytest.param(
            [in_flight(A, minutes_ago=11), B], CONTINUE, Expect(start=["b"], broken=["a"]), id="timeout-frees-the-slot"
        ),
        pytest.param(
            [in_flight(A, minutes_ago=9), B],
            STOP,
            Expect(flying=["a"], waiting={"b": Wait.CONCURRENCY}),
            id="within-timeout-still-in-flight",
        ),
        # A rollout that finished is a success however long it took.
        pytest.param([SLOW_SUCCESS, B], STOP, Expect(start=["b"], done=["a"]), id="slow-success-is-success"),
        pytest.param(
            [replace(A, paused=True), B], STOP, Expect(start=["b"], waiting={"a": Wait.PAUSED}), id="paused-skipped"
        ),
        # A failure in the previous occurrence does not stop this one; the target is simply still pending.
        pytest.param(
            [FAILED_LAST_WEEK, B],
            STOP,
            Expect(start=["a"], waiting={"b": Wait.CONCURRENCY}),
            id="previous-occurrence-failure-retried",
        ),
        pytest.param([DONE_NOTHING_PENDING], STOP, Expect(done=["a"]), id="restarted-this-occurrence-listed-as-done"),
    ],
)
def test_plan(targets: list[Workload], policy: Policy, expect: Expect) -> None:
    step = run(targets, policy)
    assert names(step.start) == expect.start
    assert names(step.in_flight) == expect.flying
    assert names(step.succeeded) == expect.done
    assert names(step.failed) == expect.broken
    assert waits(step) == expect.waiting


@pytest.mark.parametrize(
    ("occurrence", "can_start", "reason"),
    [
        (None, None, WindowReason.OUTSIDE_WINDOW),
        (OCCURRENCE, WindowReason.OUTSIDE_WINDOW, WindowReason.OUTSIDE_WINDOW),  # the occurrence's window just closed
        (OCCURRENCE, WindowReason.EXCLUDED, WindowReason.EXCLUDED),
        (OCCURRENCE, WindowReason.SUSPENDED, WindowReason.SUSPENDED),
        (None, WindowReason.EXCLUDED, WindowReason.EXCLUDED),
        (None, WindowReason.SUSPENDED, WindowReason.SUSPENDED),
    ],
)
def test_nothing_new_starts_when_the_window_cannot_start_work(
    occurrence: str | None, can_start: WindowReason | None, reason: WindowReason
) -> None:
    step = run([A, B], replace(STOP, concurrency=5), occurrence=occurrence, can_start=can_start)
    assert step.start == []
    assert waits(step) == {"a": reason, "b": reason}
    assert step.settled


@pytest.mark.parametrize("can_start", [WindowReason.OUTSIDE_WINDOW, WindowReason.EXCLUDED, WindowReason.SUSPENDED])
def test_in_flight_rollouts_finish_when_the_window_closes(can_start: WindowReason) -> None:
    step = run([in_flight(A), B], can_start=can_start)
    assert names(step.in_flight) == ["a"]
    assert step.start == []
    assert waits(step) == {"b": can_start}
    assert not step.settled
    finished = run([succeeded(A), B], can_start=can_start)
    assert names(finished.succeeded) == ["a"]
    assert finished.settled


def test_blocked_targets_wait_and_others_go_ahead() -> None:
    step = run([A, B, C], replace(STOP, concurrency=2), blocked=frozenset({B.key}))
    assert names(step.start) == ["a", "c"]
    assert waits(step) == {"b": Wait.BLOCKED}
    assert not step.settled  # a blocked target goes once its snapshot is done
    unblocked = run([succeeded(A), B, succeeded(C)], replace(STOP, concurrency=2))
    assert names(unblocked.start) == ["b"]


def test_blocked_applies_to_the_exact_target_only() -> None:
    other_ns = pending_workload("a", namespace="other")
    sts = pending_workload("a", kind="StatefulSet")
    step = run([A, other_ns, sts], replace(STOP, concurrency=5), blocked=frozenset({A.key}))
    assert sorted((w.namespace, w.kind) for w in step.start) == [("other", "Deployment"), ("shop", "StatefulSet")]
    assert step.wait_reasons == {A.key: Wait.BLOCKED}


class TestPolicyAlways:
    ALWAYS = replace(STOP, always=True, concurrency=5)

    def test_restarts_targets_with_nothing_pending(self) -> None:
        step = run([workload("a"), workload("b"), C], self.ALWAYS)
        assert names(step.start) == ["a", "b", "c"]

    def test_not_twice_in_one_occurrence(self) -> None:
        done = replace(restarted(workload("a"), NOW - timedelta(minutes=5)), rollout=Rollout.COMPLETE)
        step = run([done, workload("b")], self.ALWAYS)
        assert names(step.start) == ["b"]
        assert names(step.succeeded) == ["a"]

    def test_again_in_the_next_occurrence(self) -> None:
        last_week = replace(
            restarted(workload("a"), NOW - timedelta(days=7), PREVIOUS_OCCURRENCE), rollout=Rollout.COMPLETE
        )
        assert names(run([last_week], self.ALWAYS).start) == ["a"]

    def test_paused_still_skipped(self) -> None:
        step = run([workload("a", paused=True)], self.ALWAYS)
        assert step.start == []
        assert waits(step) == {"a": Wait.PAUSED}


def test_if_pending_does_not_restart_what_the_user_already_did() -> None:
    self_served = pending_workload("a", restarted_at=WINDOW_START - timedelta(hours=5))
    assert pending(self_served) is None
    assert run([self_served, B]).start == [B]


def test_order_is_namespace_kind_name_whatever_the_input_order() -> None:
    targets = [
        pending_workload("z", namespace="a-ns"),
        pending_workload("b", namespace="b-ns", kind="StatefulSet"),
        pending_workload("a", namespace="b-ns", kind="StatefulSet"),
        pending_workload("c", namespace="b-ns"),
    ]
    expected = [("a-ns", "Deployment", "z"), ("b-ns", "Deployment", "c"), ("b-ns", "StatefulSet", "a")]
    for ordering in (targets, targets[::-1], targets[1:] + targets[:1]):
        step = run(ordering, replace(STOP, concurrency=3))
        assert [(w.namespace, w.kind, w.name) for w in step.start] == expected
        assert list(step.wait_reasons) == [("StatefulSet", "b-ns", "b")]


@pytest.mark.parametrize(
    ("targets", "can_start", "settled"),
    [
        pytest.param([], None, True, id="no-targets"),
        pytest.param([workload("a")], None, True, id="nothing-due"),
        pytest.param([A], None, False, id="about-to-start"),
        pytest.param([in_flight(A)], None, False, id="in-flight"),
        pytest.param([succeeded(A)], None, True, id="all-done"),
        pytest.param([failed(A)], None, True, id="failed"),
        pytest.param([failed(A), B], None, True, id="stopped-after-failure"),
        pytest.param([replace(A, paused=True)], None, True, id="only-paused-left"),
        pytest.param([A], WindowReason.EXCLUDED, True, id="excluded"),
    ],
)
def test_settled(targets: list[Workload], can_start: WindowReason | None, settled: bool) -> None:
    assert run(targets, can_start=can_start).settled is settled


def test_settled_not_while_something_is_blocked() -> None:
    assert not run([A], blocked=frozenset({A.key})).settled


def test_next_deadline_is_the_earliest_in_flight_timeout() -> None:
    flying = [in_flight(A, minutes_ago=2), in_flight(B, minutes_ago=7), in_flight(C, minutes_ago=4)]
    step = run(flying, replace(STOP, concurrency=3))
    assert step.next_deadline == NOW - timedelta(minutes=7) + TIMEOUT
    assert run([A, succeeded(B), failed(C)], CONTINUE).next_deadline is None


@pytest.mark.parametrize(
    "w",
    [pending_workload("a"), succeeded(A), failed(A), in_flight(A), pending_workload("a", paused=True), workload("a")],
)
def test_is_due(w: Workload) -> None:
    assert is_due(w, Policy(always=True))
    assert is_due(w, Policy()) is (pending(w) is not None)


# ---------------------------------------------------------------------------------------------------------------
# Properties


def _target(name: str, state: str, paused: bool, announced: bool) -> Workload:
    base = pending_workload(name, paused=paused) if announced else workload(name, paused=paused)
    return {
        "idle": base,
        "in-flight": in_flight(base, minutes_ago=5),
        "timed-out": in_flight(base, minutes_ago=15),
        "succeeded": succeeded(base),
        "failed": failed(base),
        "last-week": restarted(base, NOW - timedelta(days=7), PREVIOUS_OCCURRENCE),
    }[state]


target_lists = st.lists(
    st.builds(
        _target,
        st.sampled_from("abcdefgh"),
        st.sampled_from(["idle", "idle", "in-flight", "timed-out", "succeeded", "failed", "last-week"]),
        st.booleans(),
        st.booleans(),
    ),
    max_size=8,
    unique_by=lambda w: w.name,
)
policies = st.builds(
    Policy,
    always=st.booleans(),
    concurrency=st.integers(1, 4),
    stop_on_failure=st.booleans(),
    rollout_timeout=st.just(TIMEOUT),
)
blocked_sets = st.sets(st.sampled_from("abcdefgh")).map(lambda ns: frozenset(("Deployment", "shop", n) for n in ns))


@given(target_lists, policies, st.sampled_from([None, WindowReason.EXCLUDED]), blocked_sets)
def test_plan_invariants(
    targets: list[Workload], policy: Policy, can_start: WindowReason | None, blocked: frozenset[tuple[str, str, str]]
) -> None:
    step = run(targets, policy, can_start=can_start, blocked=blocked)
    if step.start:
        assert len(step.start) + len(step.in_flight) <= policy.concurrency
    for w in step.start:
        assert w.occurrence != OCCURRENCE  # never restarted twice for one occurrence
        assert is_due(w, policy) and not w.paused and w.key not in blocked
    if can_start is not None or (policy.stop_on_failure and step.failed):
        assert step.start == []
    # Every target is accounted for exactly once: restarted this occurrence, due, or left alone.
    placed = Counter(w.key for w in step.start + step.in_flight + step.succeeded + step.failed)
    placed.update(step.wait_reasons.keys())
    assert [w.key for w in step.waiting] == list(step.wait_reasons)
    for w in targets:
        expected = 1 if w.occurrence == OCCURRENCE or is_due(w, policy) else 0
        assert placed[w.key] == expected, w
    # Waiting for a slot only happens when the slots are full, and only behind everything started.
    if Wait.CONCURRENCY in step.wait_reasons.values():
        assert len(step.start) + len(step.in_flight) >= policy.concurrency
        last_started = max(((w.namespace, w.kind, w.name) for w in step.start), default=None)
        for (kind, namespace, name), reason in step.wait_reasons.items():
            if reason is Wait.CONCURRENCY and last_started is not None:
                assert (namespace, kind, name) > last_started


@given(target_lists, policies, st.permutations(range(8)))
def test_plan_does_not_depend_on_input_order(targets: list[Workload], policy: Policy, perm: list[int]) -> None:
    shuffled = [targets[i] for i in perm if i < len(targets)]
    first, second = run(targets, policy), run(shuffled, policy)
    assert first == second


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("abcdefghij"),
            st.sampled_from([False, False, False, True]),  # paused
            st.sampled_from([True, True, True, False]),  # announced
        ),
        min_size=1,
        max_size=10,
        unique_by=lambda t: t[0],
    ),
    policies,
    st.data(),
)
def test_a_whole_occurrence(specs: list[tuple[str, bool, bool]], policy: Policy, data: st.DataObject) -> None:
    """Drive plan() like the operator does until the occurrence settles, with the cluster finishing rollouts."""
    cluster = {w.key: w for w in (_target(name, "idle", paused, announced) for name, paused, announced in specs)}
    due = {key for key, w in cluster.items() if is_due(w, policy) and not w.paused}
    restarts: Counter[tuple[str, str, str]] = Counter()
    may_fail = data.draw(st.booleans(), label="rollouts may fail")
    blocked = frozenset(data.draw(st.sets(st.sampled_from(sorted(cluster))), label="blocked") if cluster else ())
    failures = 0
    now = WINDOW_START
    for tick in range(200):
        step = plan(list(cluster.values()), OCCURRENCE, None, policy, now, blocked if tick < 3 else frozenset())
        if step.start:
            assert len(step.start) + len(step.in_flight) <= policy.concurrency
        failures = len(step.failed)
        if policy.stop_on_failure and failures:
            assert step.start == []
        if step.settled:
            break
        for w in step.start:
            restarts[w.key] += 1
            cluster[w.key] = restarted(w, now)
        # The cluster moves on: each rollout in flight finishes, fails, or keeps going (and may time out).
        for w in step.in_flight:
            outcome = data.draw(
                st.sampled_from(["complete", "running", "failed"] if may_fail else ["complete", "running"]),
                label=f"{w.name} at {tick}",
            )
            if outcome == "complete":
                cluster[w.key] = replace(w, rollout=Rollout.COMPLETE)
            elif outcome == "failed":
                cluster[w.key] = replace(w, rollout=Rollout.FAILED)
        now += timedelta(minutes=1)
    else:
        pytest.fail("the occurrence never settled")

    event(f"restarted {len(restarts)} of {len(due)} due, failures: {bool(failures)}")
    assert all(n == 1 for n in restarts.values()), restarts
    assert set(restarts) <= due
    if failures == 0 or not policy.stop_on_failure:
        assert set(restarts) == due
    # Whatever was restarted and rolled out has nothing pending any more.
    for key in restarts:
        w = cluster[key]
        if w.rollout is Rollout.COMPLETE:
            assert pending(w) is None
    # Re-planning the same occurrence later (an operator restart) starts nothing new.
    again = plan(list(cluster.values()), OCCURRENCE, None, policy, now + timedelta(minutes=5), frozenset())
    assert again.start == []


def test_a_rollout_that_completes_after_the_window_closed_is_finished_for_its_occurrence() -> None:
    """Issue 13: with no occurrence open, the restarts of the occurrence that just closed are still followed, so a
    late completion is reported (succeeded) and a late failure too; other due targets wait for the next one."""
    flying = plan([in_flight(A), B], None, WindowReason.OUTSIDE_WINDOW, STOP, NOW, finishing=OCCURRENCE)
    assert (names(flying.in_flight), waits(flying)) == (["a"], {"b": WindowReason.OUTSIDE_WINDOW})
    assert flying.next_deadline == NOW - timedelta(minutes=2) + TIMEOUT
    done = plan([succeeded(A), B], None, WindowReason.OUTSIDE_WINDOW, STOP, NOW, finishing=OCCURRENCE)
    assert names(done.succeeded) == ["a"] and done.settled
    late = plan([in_flight(A, minutes_ago=11)], None, WindowReason.OUTSIDE_WINDOW, STOP, NOW, finishing=OCCURRENCE)
    assert names(late.failed) == ["a"]
    # Without the closed occurrence nothing is followed (as before): the rollout is just "pending".
    assert run([succeeded(A)], occurrence=None, can_start=WindowReason.OUTSIDE_WINDOW).succeeded == []
    # A restart of an older occurrence is not this one's.
    other = restarted(A, NOW, PREVIOUS_OCCURRENCE)
    assert plan([other], None, WindowReason.OUTSIDE_WINDOW, STOP, NOW, finishing=OCCURRENCE).in_flight == []


RUN_NOW = "20261201T141000Z"  # two windows annotated run-now in the same second get this same id
ALWAYS = replace(STOP, always=True)


def test_a_restart_by_another_window_in_an_occurrence_with_the_same_id_is_not_this_windows() -> None:
    """Issue 13: window a restarted the target in its run-now occurrence; window b's run-now occurrence of the same
    second has the same id. The stamp names the window, so b does its own restart instead of reporting a's."""
    by_a = replace(restarted(A, NOW, RUN_NOW), rollout=Rollout.COMPLETE, occurrence_window="MaintenanceWindow/a")
    step = plan([by_a], RUN_NOW, None, ALWAYS, NOW, window="MaintenanceWindow/b")
    assert (names(step.start), step.succeeded) == (["a"], [])
    assert names(plan([by_a], RUN_NOW, None, ALWAYS, NOW, window="MaintenanceWindow/a").succeeded) == ["a"]


def test_a_stamp_without_a_window_is_read_as_before_so_an_upgrade_restarts_nothing_again() -> None:
    """Stamps written before the window was named in them count for any window, exactly as they did."""
    old = replace(restarted(A, NOW, RUN_NOW), rollout=Rollout.COMPLETE)
    assert old.occurrence_window is None
    step = plan([old], RUN_NOW, None, ALWAYS, NOW, window="MaintenanceWindow/b")
    assert (step.start, names(step.succeeded)) == ([], ["a"])
