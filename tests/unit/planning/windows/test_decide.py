"""One MaintenanceWindow pass decided: what it restarts, why the rest waits, the run it reports, when it wakes."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator import schedule as sched
from maintenance_operator.api.windows import MaintenanceWindowSpec
from maintenance_operator.planning.targets.workloads import Rollout, Workload
from maintenance_operator.planning.times import format_time
from maintenance_operator.planning.windows import assignment, occurrence, restarts
from maintenance_operator.planning.windows.decide import Decision, Inputs, decide, policy_of
from tests.unit.planning.factories import OCCURRENCE, WINDOW, WINDOW_START, pending_workload, restarted
from tests.unit.planning.windows.test_restarts import NOW as OPEN
from tests.unit.planning.windows.test_restarts import failed, in_flight, succeeded

NAME = "weekly"  # WINDOW is how its restarts name it
WEEKLY = {"schedule": "0 14 * * 2", "duration": "1h", "selector": {}}
CLOSED_BEFORE = WINDOW_START - timedelta(hours=1)
CLOSED_AFTER = WINDOW_START + timedelta(hours=1, minutes=10)
CREATED = WINDOW_START - timedelta(days=30)
HANDLED = {"handledThrough": format_time(WINDOW_START - timedelta(days=7))}  # the previous occurrence was run
A, B, C = (pending_workload(name) for name in ("a", "b", "c"))


def inputs(
    now: datetime,
    targets: Sequence[Workload],
    previous: Mapping[str, Any] = HANDLED,
    trigger: str | None = None,
    running_since: datetime = WINDOW_START - timedelta(days=1),
    started: Mapping[tuple[str, str, str], Workload] | None = None,
    patch_failed: Mapping[tuple[str, str, str], Workload] | None = None,
    **spec: Any,
) -> Inputs:
    window_spec = MaintenanceWindowSpec.model_validate({**WEEKLY, **spec})
    ws = window_spec.window_schedule()
    current, _ = occurrence.current(ws, previous, trigger, now)
    ad_hoc = current.occurrence if current is not None and current.ad_hoc else None
    ranked = assignment.rank([assignment.window_candidate(NAME, {**WEEKLY, **spec}, ad_hoc, ws)], now)
    # In the order Inputs declares them: the window, its spec, the open occurrence, its status, the index.
    by_namespace = {A.namespace: ranked}
    made = Inputs(NAME, WINDOW, window_spec, ws, current, previous, 1, CREATED, running_since, targets, by_namespace)
    return replace(made, started=started, patch_failed=patch_failed)


def waits(decision: Decision) -> dict[str, str]:
    return {name: reason.value for (_, _, name), reason in decision.step.wait_reasons.items()}


def result(decision: Decision) -> str | None:
    run = decision.last_run
    return run.result if run is not None else None


RUNNING_RUN = {"lastRun": {"occurrence": OCCURRENCE, "started": format_time(WINDOW_START), "result": "Running"}}


@pytest.mark.parametrize(
    ("case", "now", "targets", "previous", "spec", "restart", "waiting", "run"),
    [
        ("closed", CLOSED_BEFORE, [A], HANDLED, {}, [], {"a": "outside-window"}, None),
        (
            "open, due",
            OPEN,
            [A, B, C],
            HANDLED,
            {"concurrency": 2},
            ["a", "b"],
            {"c": "waiting-for-concurrency"},
            "Running",
        ),
        ("one in flight", OPEN, [in_flight(A), B], HANDLED, {}, [], {"b": "waiting-for-concurrency"}, "Running"),
        ("stop on failure", OPEN, [failed(A), B], HANDLED, {}, [], {"b": "stopped-after-failure"}, "Failed"),
        ("continue on failure", OPEN, [failed(A), B], HANDLED, {"onFailure": "Continue"}, ["b"], {}, "Running"),
        ("paused", OPEN, [replace(A, paused=True)], HANDLED, {}, [], {"a": "paused"}, "Incomplete"),
        ("done", OPEN, [succeeded(A)], HANDLED, {}, [], {}, "Succeeded"),
        ("suspended", OPEN, [A], HANDLED, {"suspend": True}, [], {"a": "suspended"}, "Incomplete"),
        (
            "finishing",
            CLOSED_AFTER,
            [succeeded(A), B],
            {**HANDLED, **RUNNING_RUN},
            {},
            [],
            {"b": "outside-window"},
            "Incomplete",
        ),
        ("nothing to follow", CLOSED_AFTER, [succeeded(A)], HANDLED, {}, [], {}, None),
    ],
)
def test_a_pass_restarts_what_may_start_and_says_why_the_rest_waits(
    case: str,
    now: datetime,
    targets: list[Workload],
    previous: Mapping[str, Any],
    spec: dict[str, Any],
    restart: list[str],
    waiting: dict[str, str],
    run: str | None,
) -> None:
    decision = decide(inputs(now, targets, previous, **spec), now)
    assert [w.name for w in decision.restart] == restart, case
    assert waits(decision) == waiting, case
    assert result(decision) == run, case
    status = decision.status()
    assert status["pendingCount"] == len(decision.step.start) + len(decision.step.waiting) + len(
        decision.step.in_flight
    ) + len(decision.step.failed)
    assert status["open"] is (decision.inputs.current is not None)


def test_the_closed_occurrence_with_rollouts_in_flight_is_followed_until_they_finish() -> None:
    decision = decide(inputs(CLOSED_AFTER, [succeeded(A)], {**HANDLED, **RUNNING_RUN}), CLOSED_AFTER)
    assert decision.followed == OCCURRENCE and decision.finishing == OCCURRENCE
    assert [w.name for w in decision.step.succeeded] == ["a"]
    run = decision.last_run
    assert run is not None and run.occurrence == OCCURRENCE and run.restarted == 1
    assert decision.status()["lastRun"]["started"] == format_time(WINDOW_START), "the run keeps its start"


def test_run_now_opens_an_occurrence_outside_the_schedule() -> None:
    now = WINDOW_START + timedelta(days=1)
    decision = decide(inputs(now, [A], trigger="please"), now)
    assert decision.inputs.current is not None and decision.inputs.current.ad_hoc
    assert [w.name for w in decision.restart] == ["a"]
    assert decision.status()["currentOccurrence"]["adHoc"] is True
    assert decision.announce is None, "no notice while an occurrence is open"


def test_a_closed_window_announces_its_next_occurrence_and_wakes_when_it_opens() -> None:
    decision = decide(inputs(CLOSED_BEFORE, [A]), CLOSED_BEFORE)
    assert decision.announce is not None and decision.announce.id == OCCURRENCE
    assert decision.next_pass() == WINDOW_START
    assert decision.next_pass(CLOSED_BEFORE + timedelta(minutes=5)) == CLOSED_BEFORE + timedelta(minutes=5)


def test_started_restarts_count_as_in_flight_and_the_next_pass_follows_them() -> None:
    decision = decide(inputs(OPEN, [A, B]), OPEN)
    sent = restarts.Sent(restarted=(restarted(A, OPEN),))
    after = decision.after(sent)
    assert after.restart == () and [w.name for w in after.step.in_flight] == ["a"]
    assert waits(after) == {"b": "waiting-for-concurrency"}
    assert after.pending_by_reason() == {"in-progress": 1, "waiting-for-concurrency": 1}
    assert after.next_pass() == OPEN + timedelta(seconds=1), "a busy occurrence writes its progress soon"


@pytest.mark.parametrize(
    ("on_failure", "starting", "waiting"),
    [("Stop", [], {"b": "stopped-after-failure"}), ("Continue", ["b"], {})],
)
def test_a_failed_patch_leaves_its_target_failed_in_the_occurrence(
    on_failure: str, starting: list[str], waiting: dict[str, str]
) -> None:
    decision = decide(inputs(OPEN, [A, B], onFailure=on_failure), OPEN)
    refused = replace(A, occurrence=OCCURRENCE, occurrence_window=WINDOW, rollout=Rollout.FAILED, restarted_at=OPEN)
    after = decision.after(restarts.Sent(failed=(refused,)))
    assert [w.name for w in after.step.failed] == ["a"]
    assert [w.name for w in after.step.start] == starting, "the slot the failure left is taken in the next pass"
    assert waits(after) == waiting
    # The next pass sees the failed PATCH as the runner remembers it: failed, and the target stays due.
    again = decide(inputs(OPEN, [A, B], patch_failed={A.key: refused}, onFailure=on_failure), OPEN)
    assert [w.name for w in again.step.failed] == ["a"] and [w.name for w in again.restart] == starting


def test_a_restart_sent_but_not_yet_in_the_index_stays_in_flight() -> None:
    sent = replace(A, occurrence=OCCURRENCE, occurrence_window=WINDOW, restarted_at=OPEN, rollout=Rollout.PROGRESSING)
    decision = decide(inputs(OPEN, [A, B], started={A.key: sent}), OPEN)
    assert [w.name for w in decision.step.in_flight] == ["a"] and decision.restart == ()
    assert decision.handled.seen == frozenset()
    seen = decide(inputs(OPEN, [in_flight(A), B], started={A.key: sent}), OPEN)
    assert seen.handled.seen == {A.key}, "the index shows it: the runner forgets its own record"


def test_occurrences_missed_while_down_are_reported_once_and_become_the_last_run() -> None:
    since = {"handledThrough": format_time(WINDOW_START - timedelta(days=7))}
    decision = decide(inputs(CLOSED_AFTER, [A], since, running_since=CLOSED_AFTER), CLOSED_AFTER)
    assert [o.id for o in decision.missed.missed] == [OCCURRENCE]
    assert result(decision) == "Missed"
    status = decision.status()
    assert status["missedOccurrences"] == [OCCURRENCE]
    assert status["handledThrough"] == format_time(WINDOW_START)
    assert not decision.throttled(status), "what was decided about misses is written at once"


def test_an_occurrence_open_when_the_operator_started_is_caught_up() -> None:
    decision = decide(inputs(OPEN, [A], running_since=OPEN), OPEN)
    assert decision.missed.catch_up is not None and decision.missed.catch_up.id == OCCURRENCE
    assert [w.name for w in decision.restart] == ["a"]


def test_another_window_that_handles_a_target_lists_it_elsewhere() -> None:
    made = inputs(OPEN, [A])
    other = assignment.window_candidate("early", {**WEEKLY, "schedule": "0 13 * * 2", "duration": "2h"}, None)
    ranked = assignment.rank([other, *(s.candidate for s in made.ranked[A.namespace].slots)], OPEN)
    decision = decide(replace(made, ranked={A.namespace: ranked}), OPEN)
    assert decision.restart == () and [(w.name, by) for w, by in decision.handled.elsewhere] == [("a", "early")]
    assert decision.status()["handledElsewhereCount"] == 1


def test_policy_of_the_spec() -> None:
    spec = MaintenanceWindowSpec.model_validate({**WEEKLY, "policy": "Always", "onFailure": "Continue"})
    assert policy_of(spec) == restarts.Policy(True, 1, False, sched.parse_duration(spec.rollout_timeout))


def as_is(w: Workload) -> Workload:
    return w


def paused(w: Workload) -> Workload:
    return replace(w, paused=True)


TARGET_STATES = st.sampled_from(["pending", "in-flight", "failed", "done", "paused", "blocked"])


@given(
    states=st.lists(TARGET_STATES, min_size=1, max_size=8),
    concurrency=st.integers(1, 4),
    stop=st.booleans(),
    refused=st.sets(st.integers(0, 7)),
)
def test_started_is_the_plan_of_the_targets_as_they_stand_after_the_patches(
    states: list[str], concurrency: int, stop: bool, refused: set[int]
) -> None:
    """`restarts.started` gives what planning the targets again after the PATCHes would, without planning again."""
    made: dict[str, Callable[[Workload], Workload]] = {
        "pending": as_is,
        "in-flight": in_flight,
        "failed": failed,
        "done": succeeded,
        "paused": paused,
        "blocked": as_is,
    }
    targets = [made[state](pending_workload(f"t{i}")) for i, state in enumerate(states)]
    blocked = frozenset(t.key for t, state in zip(targets, states, strict=True) if state == "blocked")
    policy = restarts.Policy(concurrency=concurrency, stop_on_failure=stop)
    step = restarts.plan(targets, OCCURRENCE, None, policy, OPEN, blocked, None, WINDOW)
    after_patch = {
        w.key: replace(
            w,
            occurrence=OCCURRENCE,
            occurrence_window=WINDOW,
            restarted_at=OPEN,
            rollout=Rollout.FAILED if i in refused else Rollout.PROGRESSING,
        )
        for i, w in enumerate(step.start)
    }
    sent = restarts.Sent(
        restarted=tuple(w for w in after_patch.values() if w.rollout is Rollout.PROGRESSING),
        failed=tuple(w for w in after_patch.values() if w.rollout is Rollout.FAILED),
    )
    again = restarts.plan(
        [after_patch.get(t.key, t) for t in targets], OCCURRENCE, None, policy, OPEN, blocked, None, WINDOW
    )
    assert restarts.started(step, sent, OCCURRENCE, policy, blocked) == again
