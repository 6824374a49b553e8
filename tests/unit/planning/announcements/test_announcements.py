"""Announcements: which targets they cover, the pending they derive (one restart after the latest completes them
all), and the progress they count; tables plus properties over random workloads."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.planning.announcements.matching import (
    NODES_DISABLED,
    Announcement,
    Targets,
    announced,
    announcement_of,
    effective,
)
from maintenance_operator.planning.announcements.progress import (
    NAMESPACES_LISTED,
    TARGETS_LISTED,
    State,
    progress,
    state,
)
from maintenance_operator.planning.targets.pending import pending
from maintenance_operator.planning.targets.workloads import Rollout, Workload, workload_from_object
from tests.unit.planning.factories import ANNOUNCED, WINDOW, WINDOW_START, pending_workload, workload

EVERYTHING = Targets({}, {})
PROD = {"env": "prod"}


def announcement(
    name: str = "base-image", *, since: datetime = ANNOUNCED, deadline: datetime | None = None
) -> Announcement:
    return Announcement(name, "security", "base image CVE fix", since, deadline, EVERYTHING)


@pytest.mark.parametrize(
    ("targets", "kind", "labels", "images", "namespace_labels", "covered"),
    [
        pytest.param(EVERYTHING, "Deployment", {}, [], {}, True, id="empty-targets-cover-all"),
        pytest.param(Targets({"matchLabels": PROD}, {}), "Deployment", {}, [], PROD, True, id="namespace-selected"),
        pytest.param(Targets({"matchLabels": PROD}, {}), "Deployment", PROD, [], {}, False, id="namespace-not"),
        pytest.param(
            Targets({}, {"matchLabels": {"tier": "web"}}), "StatefulSet", {"tier": "web"}, [], {}, True, id="selector"
        ),
        pytest.param(Targets({}, {}, frozenset({"ManagedDatabase"})), "Deployment", {}, [], {}, False, id="kind-not"),
        pytest.param(Targets({}, {}, frozenset({"ManagedDatabase"})), "ManagedDatabase", {}, [], {}, True, id="kind"),
        pytest.param(
            Targets({}, {}, images=("*/nginx:1.2*",)),
            "Deployment",
            {},
            ["docker.io/nginx:1.25"],
            {},
            True,
            id="image-glob",
        ),
        pytest.param(
            Targets({}, {}, images=("*/nginx:1.2*",)),
            "Deployment",
            {},
            ["docker.io/nginx:2.0", "x"],
            {},
            False,
            id="image-not",
        ),
        pytest.param(Targets({}, {}, images=("*/nginx:1.2*",)), "Deployment", {}, [], {}, False, id="no-image"),
        pytest.param(
            Targets({}, {}, images=("a", "b*")),
            "Deployment",
            {},
            ["sidecar", "b:1"],
            {},
            True,
            id="any-image-any-pattern",
        ),
    ],
)
def test_what_an_announcement_covers(
    targets: Targets,
    kind: str,
    labels: dict[str, str],
    images: list[str],
    namespace_labels: dict[str, str],
    covered: bool,
) -> None:
    assert targets.matches(kind, labels, images, namespace_labels) is covered


def test_every_image_of_the_template_is_seen_init_containers_too() -> None:
    body = {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "template": {
                "spec": {
                    "initContainers": [{"name": "init", "image": "busybox:1.36"}],
                    "containers": [{"name": "web", "image": "nginx:1.25"}, {"name": "log", "image": "busybox:1.36"}],
                }
            }
        },
    }
    assert workload_from_object("Deployment", body).images == ("busybox:1.36", "nginx:1.25")


def test_an_announcement_makes_a_workload_pending_without_touching_it() -> None:
    w = workload()
    assert pending(w) is None
    covered = effective(w, [announcement()])
    assert pending(covered) is not None and (covered.required, covered.required_since) == ("security", ANNOUNCED)
    assert covered.announcements == ("base-image",)
    assert effective(w, []) is w


def test_one_restart_after_the_latest_requirement_completes_them_all() -> None:
    older = announcement("older", since=ANNOUNCED)
    newer = replace(announcement("newer", since=ANNOUNCED + timedelta(days=1)), reason="hardware")
    own = pending_workload(reason="feature", since=ANNOUNCED - timedelta(days=1))
    covered = effective(own, [newer, older])
    assert covered.required == "feature; security; hardware" and covered.announcements == ("older", "newer")
    assert covered.required_since == newer.since
    between = replace(own, restarted_at=ANNOUNCED + timedelta(hours=1))
    assert pending(effective(between, [newer, older])) is not None, "a restart before the latest completes nothing"
    assert (state(between, older), state(between, newer)) == (State.DONE_BY_SELF_SERVICE, State.PENDING)
    after = replace(own, restarted_at=newer.since + timedelta(hours=1))
    assert pending(effective(after, [newer, older])) is None


def test_progress_counts_each_state_and_lists_what_is_left_by_namespace() -> None:
    a = announcement(deadline=WINDOW_START)
    by_window = replace(workload("a"), restarted_at=WINDOW_START, window_restarted_at=WINDOW_START, restarted_by=WINDOW)
    self_served = replace(workload("b"), restarted_at=WINDOW_START)
    failed = replace(workload("c"), rollout=Rollout.FAILED)
    left = [workload("d", namespace="api"), workload("e", kind="StatefulSet")]
    got = progress(a, [by_window, self_served, failed, *left], WINDOW_START - timedelta(minutes=1))
    assert (got.total, got.done_by_window, got.done_by_self_service, got.pending, got.failed, got.overdue) == (
        5,
        1,
        1,
        3,
        1,
        0,
    )
    assert [(x.namespace, x.count, x.targets) for x in got.left] == [
        ("api", 1, ["deployment/d"]),
        ("shop", 2, ["deployment/c", "statefulset/e"]),
    ]
    assert not got.complete
    late = progress(a, [failed, *left], WINDOW_START)
    assert (late.overdue, late.past_deadline) == (3, True)
    assert progress(a, [], WINDOW_START).complete, "an announcement that matches nothing is complete (total 0)"


names = st.text("abcdefghij", min_size=1, max_size=3)
workloads = st.builds(
    lambda name, ns, restarted, rollout: replace(
        workload(name, namespace=ns),
        restarted_at=ANNOUNCED + timedelta(hours=restarted) if restarted is not None else None,
        rollout=rollout,
    ),
    names,
    st.sampled_from([f"ns{i}" for i in range(NAMESPACES_LISTED + 5)]),
    st.one_of(st.none(), st.integers(-48, 48)),
    st.sampled_from(list(Rollout)),
)


@given(st.lists(workloads, max_size=60, unique_by=lambda w: (w.namespace, w.name)))
def test_progress_adds_up_and_stays_bounded(covered: list[Workload]) -> None:
    got = progress(announcement(), covered, WINDOW_START)
    assert got.total == len(covered) == got.done_by_window + got.done_by_self_service + got.pending
    assert got.failed <= got.pending and got.overdue == 0
    assert len(got.left) <= NAMESPACES_LISTED and all(len(x.targets) <= TARGETS_LISTED for x in got.left)
    if got.left_namespaces <= NAMESPACES_LISTED:
        assert sum(x.count for x in got.left) == got.pending
    for w in covered:
        assert (pending(effective(w, [announcement()])) is None) == (
            state(w, announcement()) in (State.DONE_BY_WINDOW, State.DONE_BY_SELF_SERVICE)
        )


CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_maintenance_spec_becomes_its_announcement_since_its_creation_by_default() -> None:
    spec = {"reason": "security", "description": "CVE", "targets": {"kinds": ["Deployment"], "images": ["*/base:*"]}}
    made = announcement_of("cve", spec, CREATED)
    assert isinstance(made, Announcement)
    assert (made.since, made.reason, made.targets.kinds, made.targets.images) == (
        CREATED,
        "security",
        frozenset({"Deployment"}),
        ("*/base:*",),
    )
    assert made.targets.matches("Deployment", {}, ["registry.example/base:1"], {})
    assert not made.targets.matches("StatefulSet", {}, ["registry.example/base:1"], {})


@pytest.mark.parametrize(
    ("spec", "created", "problem"),
    [
        pytest.param(
            {"reason": "x", "targets": {"selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}},
            CREATED,
            "spec.targets.selector:",
            id="in-without-values",
        ),
        pytest.param(
            {
                "reason": "x",
                "targets": {
                    "namespaceSelector": {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["b"]}]}
                },
            },
            CREATED,
            "spec.targets.namespaceSelector:",
            id="exists-with-values",
        ),
        pytest.param({"reason": "x"}, None, "spec.requiredSince", id="no-time-at-all"),
        pytest.param(
            {"reason": "x", "requiredSince": "2026-12-02T00:00:00Z", "deadline": "2026-12-01T00:00:00Z"},
            CREATED,
            "deadline must be after requiredSince",
            id="deadline-before-since",
        ),
    ],
)
def test_an_unusable_spec_says_why(spec: dict[str, Any], created: datetime | None, problem: str) -> None:
    made = announcement_of("a", spec, created)
    assert isinstance(made, str) and problem in made, made


def test_a_database_statefulset_is_announced_as_its_database_with_the_databases_labels() -> None:
    spec = {
        "reason": "database-security",
        "targets": {"kinds": ["ManagedDatabase"], "selector": {"matchLabels": {"tier": "db"}}},
    }
    a = announcement_of("db-fix", spec, CREATED)
    assert isinstance(a, Announcement)
    sts = replace(workload("orders-db"), kind="StatefulSet", labels={"maintenance.ops.dev/database": "orders"})
    assert announced(sts, [a], {}, {"orders": {"tier": "db"}}).announcements == ("db-fix",)
    assert announced(sts, [a], {}, {}).announcements == (), "a StatefulSet of no known database is a StatefulSet"
    plain = replace(workload("web"), kind="Deployment", labels={"tier": "db"})
    assert announced(plain, [a], {}, {}).announcements == (), "kinds: ManagedDatabase only"


def test_unknown_namespace_labels_match_only_announcements_for_every_namespace() -> None:
    everywhere = announcement_of("all", {"reason": "security"}, CREATED)
    some = announcement_of(
        "some", {"reason": "security", "targets": {"namespaceSelector": {"matchLabels": {"t": "a"}}}}, CREATED
    )
    assert isinstance(everywhere, Announcement) and isinstance(some, Announcement)
    w = workload("web")
    assert announced(w, [everywhere, some], None, {}).announcements == ("all",)
    assert announced(w, [everywhere, some], {"t": "a"}, {}).announcements == ("all", "some")


def test_a_node_announcement_is_refused_while_node_maintenance_is_not_enabled() -> None:
    spec = {"reason": "hardware", "targets": {"nodes": {"matchLabels": {"rack": "7"}}}}
    assert announcement_of("rack-7", spec, CREATED) == NODES_DISABLED
    assert isinstance(announcement_of("rack-7", spec, CREATED, nodes_enabled=True), Announcement)
