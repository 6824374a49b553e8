"""The slim workload view: rollout state as `kubectl rollout status` judges it, and tolerant reading of user input."""

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.api import names
from maintenance_operator.planning.targets.workloads import (
    Rollout,
    restart_patch,
    restart_stamp,
    rollout_state,
    workload_from_object,
)
from maintenance_operator.planning.times import format_time
from tests.unit.planning.factories import (
    ANNOUNCED,
    OCCURRENCE,
    WINDOW,
    WINDOW_START,
    announcement,
    deployment,
    deployment_status,
    restart_annotations,
    statefulset,
    statefulset_status,
    workload,
)

RESTART = WINDOW_START + timedelta(seconds=5)


def state_of(obj: dict[str, Any]) -> Rollout:
    return rollout_state(obj["kind"], obj["spec"], obj["status"], obj["metadata"]["generation"])


# ---------------------------------------------------------------------------------------------------------------
# Deployments


def rolling(generation: int = 2, observed: int = 2, **status: Any) -> dict[str, Any]:
    """A Deployment after a spec change (e.g. a restart) whose rollout the controller reports in `status`."""
    return deployment(generation=generation, status=deployment_status(observed_generation=observed, **status))


DEADLINE = "ProgressDeadlineExceeded"


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(deployment(), Rollout.COMPLETE, id="settled"),
        pytest.param(deployment(replicas=1), Rollout.COMPLETE, id="settled-single"),
        pytest.param(deployment(replicas=0), Rollout.COMPLETE, id="scaled-to-zero"),
        pytest.param(rolling(observed=1), Rollout.PROGRESSING, id="new-spec-not-yet-observed"),
        pytest.param(rolling(generation=3, observed=3), Rollout.COMPLETE, id="later-generation-observed"),
        pytest.param(deployment(status={}), Rollout.PROGRESSING, id="just-created-no-status"),
        pytest.param(
            rolling(total=4, updated=1, available=3, ready=3, progressing_reason="ReplicaSetUpdated"),
            Rollout.PROGRESSING,
            id="some-replicas-not-updated",
        ),
        pytest.param(rolling(total=4, updated=3, available=4), Rollout.PROGRESSING, id="old-replicas-terminating"),
        pytest.param(rolling(updated=3, ready=2, available=2), Rollout.PROGRESSING, id="updated-not-yet-available"),
        pytest.param(
            deployment(
                generation=2,
                strategy="Recreate",
                status=deployment_status(observed_generation=2, total=0, updated=0, ready=0, available=0),
            ),
            Rollout.PROGRESSING,
            id="recreate-all-pods-down",
        ),
        pytest.param(
            rolling(total=4, updated=1, available=3, progressing_reason=DEADLINE),
            Rollout.FAILED,
            id="progress-deadline-exceeded",
        ),
        # A new restart after a failed rollout: the controller has not looked at it yet, so the old verdict says
        # nothing about the new rollout.
        pytest.param(
            rolling(generation=3, total=4, updated=1, available=3, progressing_reason=DEADLINE),
            Rollout.PROGRESSING,
            id="deadline-exceeded-for-an-older-generation",
        ),
    ],
)
def test_deployment_rollout_state(obj: dict[str, Any], expected: Rollout) -> None:
    assert state_of(obj) is expected
    assert workload_from_object("Deployment", obj).rollout is expected


@given(
    want=st.integers(0, 5),
    total=st.integers(0, 7),
    updated=st.integers(0, 7),
    available=st.integers(0, 7),
    generation=st.integers(1, 4),
    observed=st.integers(0, 4),
    deadline=st.booleans(),
)
def test_deployment_complete_only_when_every_pod_is_new_and_available(
    want: int, total: int, updated: int, available: int, generation: int, observed: int, deadline: bool
) -> None:
    status = deployment_status(
        replicas=want,
        total=total,
        updated=updated,
        available=available,
        ready=available,
        observed_generation=observed,
        progressing_reason="ProgressDeadlineExceeded" if deadline else "ReplicaSetUpdated",
    )
    state = state_of(deployment(replicas=want, generation=generation, status=status))
    if observed < generation:
        # Nothing the status says is about the current spec.
        assert state is Rollout.PROGRESSING
    elif deadline:
        assert state is Rollout.FAILED
    else:
        finished = updated >= want and total <= updated and available >= updated
        assert (state is Rollout.COMPLETE) is finished
        assert state is not Rollout.FAILED


# ---------------------------------------------------------------------------------------------------------------
# StatefulSets


NEW_REVISION = "db-5c4b8f7d9"


def sts_rolling(
    replicas: int = 3, strategy: str = "RollingUpdate", generation: int = 2, observed: int = 2, **status: Any
) -> dict[str, Any]:
    """A StatefulSet after a spec change (e.g. a restart) whose rollout the controller reports in `status`."""
    return statefulset(
        replicas=replicas,
        generation=generation,
        update_strategy=strategy,
        status=statefulset_status(replicas=replicas, observed_generation=observed, **status),
    )


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(statefulset(), Rollout.COMPLETE, id="settled-single"),
        pytest.param(statefulset(replicas=3), Rollout.COMPLETE, id="settled-three"),
        pytest.param(sts_rolling(observed=1), Rollout.PROGRESSING, id="new-spec-not-yet-observed"),
        pytest.param(sts_rolling(), Rollout.COMPLETE, id="restart-finished"),
        pytest.param(
            sts_rolling(updated=1, update_revision=NEW_REVISION), Rollout.PROGRESSING, id="revisions-differ-mid-rollout"
        ),
        # Every pod updated and ready, but the controller has not yet moved currentRevision.
        pytest.param(
            sts_rolling(updated=3, update_revision=NEW_REVISION), Rollout.PROGRESSING, id="revisions-differ-all-updated"
        ),
        pytest.param(sts_rolling(ready=2), Rollout.PROGRESSING, id="a-pod-not-ready"),
        pytest.param(sts_rolling(replicas=1, ready=0), Rollout.PROGRESSING, id="single-replica-restarting"),
        pytest.param(statefulset(status={}), Rollout.PROGRESSING, id="just-created-no-status"),
        # OnDelete: the controller replaces a pod only once it is gone, so a restart is done only when every pod
        # runs the new revision (the window evicts them); currentRevision never moves, so it is not consulted.
        pytest.param(
            sts_rolling(strategy="OnDelete", updated=0, update_revision=NEW_REVISION),
            Rollout.PROGRESSING,
            id="on-delete-no-pod-replaced",
        ),
        pytest.param(
            sts_rolling(strategy="OnDelete", updated=2, update_revision=NEW_REVISION),
            Rollout.PROGRESSING,
            id="on-delete-one-pod-left",
        ),
        pytest.param(
            sts_rolling(strategy="OnDelete", updated=3, update_revision=NEW_REVISION),
            Rollout.COMPLETE,
            id="on-delete-every-pod-replaced",
        ),
        pytest.param(sts_rolling(strategy="OnDelete", ready=1), Rollout.PROGRESSING, id="on-delete-not-ready"),
        pytest.param(sts_rolling(strategy="OnDelete", observed=1), Rollout.PROGRESSING, id="on-delete-not-observed"),
    ],
)
def test_statefulset_rollout_state(obj: dict[str, Any], expected: Rollout) -> None:
    assert state_of(obj) is expected
    assert workload_from_object("StatefulSet", obj).rollout is expected


def test_progress_deadline_is_a_deployment_condition_only() -> None:
    sts = statefulset()
    sts["status"]["conditions"] = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
    assert state_of(sts) is Rollout.COMPLETE


@given(
    want=st.integers(0, 5),
    updated=st.integers(0, 5),
    ready=st.integers(0, 5),
    converged=st.booleans(),
    generation=st.integers(1, 3),
    observed=st.integers(0, 3),
)
def test_statefulset_complete_only_when_all_updated_ready_and_converged(
    want: int, updated: int, ready: int, converged: bool, generation: int, observed: int
) -> None:
    status = statefulset_status(
        replicas=want,
        updated=updated,
        ready=ready,
        observed_generation=observed,
        update_revision="db-7d9f8c6b5" if converged else NEW_REVISION,
    )
    state = state_of(statefulset(replicas=want, generation=generation, status=status))
    finished = observed >= generation and updated >= want and ready >= want and converged
    assert (state is Rollout.COMPLETE) is finished
    assert state is not Rollout.FAILED


# ---------------------------------------------------------------------------------------------------------------
# Reading objects


def test_reads_a_full_deployment() -> None:
    obj = deployment(
        "web",
        namespace="shop",
        replicas=3,
        generation=2,
        labels={"app": "web", "team": "a"},
        annotations={
            **announcement("security", ANNOUNCED),
            names.ANNOTATION_COMPLETED_AT: "2026-11-20T10:00:00Z",
            names.ANNOTATION_NOTICE_SENT: OCCURRENCE,
            names.ANNOTATION_RESTARTED_BY: restart_stamp(WINDOW, format_time(RESTART)),
            "deployment.kubernetes.io/revision": "2",
        },
        template_annotations=restart_annotations(RESTART, OCCURRENCE),
        status=deployment_status(observed_generation=2),
    )
    w = workload_from_object("Deployment", obj)
    assert (w.kind, w.namespace, w.name, w.uid) == ("Deployment", "shop", "web", obj["metadata"]["uid"])
    assert w.key == ("Deployment", "shop", "web")
    assert w.ref == "deployment/web"
    assert w.labels == {"app": "web", "team": "a"}
    assert w.pod_selector == {"app": "web"}
    assert (w.required, w.required_since) == ("security", ANNOUNCED)
    assert w.completed_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert (w.restarted_at, w.occurrence, w.restarted_by) == (RESTART, OCCURRENCE, WINDOW)
    assert w.notice_sent == OCCURRENCE
    assert (w.replicas, w.paused, w.recreate, w.generation) == (3, False, False, 2)
    assert w.rollout is Rollout.COMPLETE
    assert not w.downtime_expected


def test_reads_a_statefulset() -> None:
    w = workload_from_object("StatefulSet", statefulset("db", namespace="data", replicas=1))
    assert (w.key, w.ref, w.replicas, w.recreate) == (("StatefulSet", "data", "db"), "statefulset/db", 1, False)
    assert w.rollout is Rollout.COMPLETE


def test_a_new_object_has_nothing_announced() -> None:
    w = workload_from_object("Deployment", deployment())
    assert (w.required, w.required_since, w.completed_at, w.restarted_at) == (None, None, None, None)
    assert (w.occurrence, w.restarted_by, w.notice_sent) == (None, None, None)


@pytest.mark.parametrize("body", [{}, {"metadata": {}}, {"metadata": None, "spec": None, "status": None}])
def test_tolerates_an_empty_body(body: dict[str, Any]) -> None:
    w = workload_from_object("Deployment", body)
    assert (w.namespace, w.name, w.uid, w.generation) == ("", "", "", 0)
    assert w.labels == {} and w.pod_selector == {}
    assert w.required is None and w.restarted_at is None
    assert w.replicas == 1  # the API server's default
    assert w.rollout is Rollout.PROGRESSING  # never observed: nothing to call complete


@pytest.mark.parametrize(
    ("annotation", "value"),
    [
        (names.ANNOTATION_REQUIRED_SINCE, "next tuesday"),
        (names.ANNOTATION_REQUIRED_SINCE, "2026-11-28"),
        (names.ANNOTATION_REQUIRED_SINCE, "2026-11-28T14:00:00"),
        (names.ANNOTATION_REQUIRED_SINCE, ""),
        (names.ANNOTATION_COMPLETED_AT, "done"),
        (names.ANNOTATION_COMPLETED_AT, "2026-11-31T10:00:00Z"),
        (names.ANNOTATION_COMPLETED_AT, "9999-12-31T23:59:59-01:00"),
    ],
)
def test_malformed_times_read_as_missing(annotation: str, value: str) -> None:
    obj = deployment(annotations={names.ANNOTATION_REQUIRED: "security", annotation: value})
    w = workload_from_object("Deployment", obj)
    field = "required_since" if annotation == names.ANNOTATION_REQUIRED_SINCE else "completed_at"
    assert getattr(w, field) is None
    assert w.required == "security"


@pytest.mark.parametrize("value", ["", "yesterday", "2026-12-01T14:00:05", "0001-01-01T00:00:00+01:00"])
def test_malformed_restarted_at_reads_as_never_restarted(value: str) -> None:
    obj = deployment(template_annotations={names.ANNOTATION_RESTARTED_AT: value})
    assert workload_from_object("Deployment", obj).restarted_at is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("security", "security"),
        ("  hardware\n", "hardware"),
        ("replace the disk controller", "replace the disk controller"),
        ("", None),
        ("   ", None),
        ("\n", None),
    ],
)
def test_required_reason_is_trimmed_and_blank_means_not_announced(value: str, expected: str | None) -> None:
    obj = deployment(annotations={names.ANNOTATION_REQUIRED: value})
    assert workload_from_object("Deployment", obj).required == expected


def test_occurrence_counts_only_in_the_pod_template() -> None:
    """Only the template annotation travels with the restart patch; the same key on the object says nothing."""
    obj = deployment(annotations={names.ANNOTATION_OCCURRENCE: OCCURRENCE})
    assert workload_from_object("Deployment", obj).occurrence is None


@pytest.mark.parametrize(
    ("obj", "downtime"),
    [
        pytest.param(deployment(replicas=3), False, id="ha-deployment"),
        pytest.param(deployment(replicas=2), False, id="two-replicas"),
        pytest.param(deployment(replicas=1), True, id="single-replica"),
        pytest.param(deployment(replicas=3, strategy="Recreate"), True, id="recreate"),
        pytest.param(statefulset(replicas=1), True, id="single-replica-statefulset"),
        pytest.param(statefulset(replicas=3), False, id="ha-statefulset"),
    ],
)
def test_non_ha_workloads_expect_downtime(obj: dict[str, Any], downtime: bool) -> None:
    assert workload_from_object(obj["kind"], obj).downtime_expected is downtime


def test_paused_deployment() -> None:
    assert workload_from_object("Deployment", deployment(paused=True)).paused
    assert not workload_from_object("Deployment", deployment()).paused


# ---------------------------------------------------------------------------------------------------------------
# Who restarted it


def _restarted_by(stamp: str | None, restarted_at: str | None) -> str | None:
    annotations = {} if stamp is None else {names.ANNOTATION_RESTARTED_BY: stamp}
    template = {} if restarted_at is None else {names.ANNOTATION_RESTARTED_AT: restarted_at}
    obj = deployment(annotations=annotations, template_annotations=template)
    return workload_from_object("Deployment", obj).restarted_by


@pytest.mark.parametrize(
    ("stamp", "restarted_at", "expected"),
    [
        pytest.param(
            restart_stamp(WINDOW, "2026-12-01T14:00:05Z"), "2026-12-01T14:00:05Z", WINDOW, id="window-restart"
        ),
        pytest.param(
            restart_stamp(WINDOW, "2026-12-01T14:00:05Z"), "2026-12-01T15:00:05+01:00", WINDOW, id="same-instant"
        ),
        pytest.param(
            # The user ran `kubectl rollout restart` afterwards: restartedAt moved, the stamp did not.
            restart_stamp(WINDOW, "2026-12-01T14:00:05Z"),
            "2026-12-01T16:20:00+01:00",
            None,
            id="later-user-restart",
        ),
        pytest.param(None, "2026-12-01T14:00:05Z", None, id="user-restart-no-stamp"),
        pytest.param(restart_stamp(WINDOW, "2026-12-01T14:00:05Z"), None, None, id="stamp-without-restart"),
        pytest.param(WINDOW, "2026-12-01T14:00:05Z", None, id="stamp-without-time"),
        pytest.param("", "2026-12-01T14:00:05Z", None, id="empty-stamp"),
        pytest.param(" 2026-12-01T14:00:05Z", "2026-12-01T14:00:05Z", None, id="stamp-without-window"),
        pytest.param(f"{WINDOW} soon", "2026-12-01T14:00:05Z", None, id="garbage-time"),
        pytest.param(restart_stamp(WINDOW, "2026-12-01T14:00:05Z"), "garbage", None, id="garbage-restarted-at"),
    ],
)
def test_restarted_by_only_while_the_stamp_matches_restarted_at(
    stamp: str | None, restarted_at: str | None, expected: str | None
) -> None:
    assert _restarted_by(stamp, restarted_at) == expected


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)), st.integers(1, 10**6))
def test_a_window_restart_is_recognised_until_the_user_restarts_again(when: datetime, later_seconds: int) -> None:
    at = format_time(when.replace(tzinfo=UTC))
    stamp = restart_stamp(WINDOW, at)
    assert _restarted_by(stamp, at) == WINDOW
    user_restart = format_time(when.replace(tzinfo=UTC) + timedelta(seconds=later_seconds))
    assert _restarted_by(stamp, user_restart) is None


# User input: any text, blank text, and well-formed times at the edges of what a datetime holds.
user_text = st.one_of(
    st.text(),
    st.text(alphabet=" \t\n\r\xa0", max_size=3),
    st.builds(
        lambda d, minutes: d.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
        st.datetimes(),
        st.integers(-(24 * 60) + 1, 24 * 60 - 1),
    ),
)


@given(user_text, user_text)
def test_arbitrary_annotations_never_raise(text: str, stamp: str) -> None:
    annotations = {
        names.ANNOTATION_REQUIRED: text,
        names.ANNOTATION_REQUIRED_SINCE: text,
        names.ANNOTATION_COMPLETED_AT: text,
        names.ANNOTATION_RESTARTED_BY: stamp,
        names.ANNOTATION_NOTICE_SENT: text,
    }
    obj = deployment(annotations=annotations, template_annotations={names.ANNOTATION_RESTARTED_AT: text})
    w = workload_from_object("Deployment", obj)
    assert w.required is None or (w.required and w.required == w.required.strip())
    for value in (w.required_since, w.completed_at, w.restarted_at):
        assert value is None or value.utcoffset() == timedelta(0)


def _paths(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if not isinstance(node, dict):
        return []
    out = []
    for key, child in node.items():
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


FULL = deployment(
    annotations={**announcement(), names.ANNOTATION_RESTARTED_BY: restart_stamp(WINDOW, format_time(RESTART))},
    template_annotations=restart_annotations(RESTART, OCCURRENCE),
)
FULL_STS = statefulset(annotations=announcement(), template_annotations=restart_annotations(RESTART, OCCURRENCE))


@given(
    st.sampled_from([FULL, FULL_STS]).flatmap(
        lambda obj: st.tuples(st.just(obj), st.sets(st.sampled_from(_paths(obj))))
    )
)
def test_any_field_may_be_missing(case: tuple[dict[str, Any], set[tuple[str, ...]]]) -> None:
    original, missing = case
    obj = copy.deepcopy(original)
    for path in sorted(missing, key=len, reverse=True):
        parent: Any = obj
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    w = workload_from_object(obj["kind"] if "kind" in obj else original["kind"], obj)
    assert w.kind == original["kind"]
    # What is still there is still read.
    if ("metadata", "name") not in missing and ("metadata",) not in missing:
        assert w.name == original["metadata"]["name"]


def test_builder_defaults_match_the_slim_view() -> None:
    """The `workload()` factory and a default raw Deployment describe the same settled, HA workload."""
    raw = workload_from_object("Deployment", deployment("web", namespace="shop"))
    slim = workload("web", namespace="shop", uid=raw.uid)
    assert raw == slim


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        pytest.param(restart_stamp(WINDOW, "2026-12-01T14:00:05Z"), datetime(2026, 12, 1, 14, 0, 5, tzinfo=UTC)),
        pytest.param(None, None, id="never-restarted-by-a-window"),
        pytest.param(" 2026-12-01T14:00:05Z", None, id="stamp-without-window"),
        pytest.param(f"{WINDOW} soon", None, id="garbage-time"),
    ],
)
def test_the_windows_restart_time_survives_a_later_user_restart(stamp: str | None, expected: datetime | None) -> None:
    annotations = {} if stamp is None else {names.ANNOTATION_RESTARTED_BY: stamp}
    template = {names.ANNOTATION_RESTARTED_AT: "2026-12-01T18:00:00Z"}  # the user's, later
    w = workload_from_object("Deployment", deployment(annotations=annotations, template_annotations=template))
    assert w.window_restarted_at == expected
    assert w.restarted_by is None


def test_the_restart_patch_is_kubectls_plus_the_windows_stamps() -> None:
    """The exact bodies, key order included (it is the JSON sent): the CLI's is `kubectl rollout restart`'s, a
    window's adds its occurrence, its name and `restarted-by`, and a database upgrade's image in the same PATCH."""
    assert json.dumps(restart_patch(RESTART)) == (
        '{"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": '
        '"2026-12-01T14:00:05Z"}}}}}'
    )
    assert json.dumps(restart_patch(RESTART, (WINDOW, OCCURRENCE), ("postgres", "postgres:17.2"))) == (
        '{"metadata": {"annotations": {"maintenance.ops.dev/restarted-by": "MaintenanceWindow/weekly '
        '2026-12-01T14:00:05Z"}}, "spec": {"template": {"metadata": {"annotations": {'
        '"kubectl.kubernetes.io/restartedAt": "2026-12-01T14:00:05Z", "maintenance.ops.dev/occurrence": '
        '"20261201T1400Z", "maintenance.ops.dev/occurrence-window": "MaintenanceWindow/weekly"}}, '
        '"spec": {"containers": [{"name": "postgres", "image": "postgres:17.2"}]}}}}'
    )


def test_the_restart_patch_names_the_window_beside_the_occurrence() -> None:
    """What a window's one PATCH writes reads back as its restart in that occurrence (`maintenance.ops.dev/occurrence`
    stays the bare id; `occurrence-window` names the window, absent on stamps written before it existed)."""
    patch = restart_patch(RESTART, (WINDOW, OCCURRENCE))
    template = patch["spec"]["template"]["metadata"]["annotations"]
    assert template[names.ANNOTATION_OCCURRENCE] == OCCURRENCE
    obj = deployment(template_annotations=template)
    w = workload_from_object("Deployment", obj)
    assert (w.occurrence, w.occurrence_window) == (OCCURRENCE, WINDOW)
    assert w.restarted_in(WINDOW, OCCURRENCE) and not w.restarted_in("MaintenanceWindow/other", OCCURRENCE)
    old = workload_from_object("Deployment", deployment(template_annotations=restart_annotations(RESTART, OCCURRENCE)))
    assert old.occurrence_window is None and old.restarted_in("MaintenanceWindow/other", OCCURRENCE)
