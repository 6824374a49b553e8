"""planning.backups.handling: who backs up a ManagedDatabase, as a table and as properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.api import names
from maintenance_operator.planning.backups import status as backup_status
from maintenance_operator.planning.backups.handling import BackupCandidate, BackupHandling, candidate, handling

ALL: dict[str, Any] = {}
TIER_A = {"matchLabels": {"tier": "a"}}
PROD = {"matchLabels": {"env": "prod"}}
NONE = {names.LABEL_WINDOW: names.WINDOW_NONE}


def ns_window(name: str, selector: dict[str, Any] = ALL, problem: str | None = None) -> BackupCandidate:
    return BackupCandidate(name, selector, None, problem)


def cluster(name: str, selector: dict[str, Any] = ALL, ns: dict[str, Any] = ALL) -> BackupCandidate:
    return BackupCandidate(name, selector, ns)


@pytest.mark.parametrize(
    ("windows", "ns_labels", "labels", "expected"),
    [
        ([], {}, {}, BackupHandling()),
        ([cluster("platform-default")], {}, {}, BackupHandling(cluster="platform-default")),
        ([cluster("b"), cluster("a")], {}, {}, BackupHandling(cluster="a")),  # the first by name
        ([ns_window("daily"), cluster("a")], {}, {}, BackupHandling(windows=("daily",))),
        ([ns_window("z"), ns_window("d")], {}, {}, BackupHandling(windows=("d", "z"))),  # each backs it up
        ([ns_window("daily", TIER_A), cluster("a")], {}, {}, BackupHandling(cluster="a")),  # not selected by daily
        ([ns_window("daily", problem="bad"), cluster("a")], {}, {}, BackupHandling(cluster="a")),  # invalid
        ([cluster("a")], {}, NONE, BackupHandling(excluded=True)),
        ([ns_window("daily")], {}, NONE, BackupHandling(windows=("daily",))),  # `none` is about cluster windows
        ([cluster("a", ns=PROD)], {"env": "dev"}, {}, BackupHandling()),
        ([cluster("a", ns=PROD), cluster("b")], {"env": "prod"}, {}, BackupHandling(cluster="a")),
        ([cluster("a", ns=PROD), cluster("b")], {"env": "dev"}, {}, BackupHandling(cluster="b")),
        ([cluster("a", selector=TIER_A)], {}, {"tier": "b"}, BackupHandling()),
        ([cluster("a")], None, {}, BackupHandling(cluster="a")),  # labels not known: `{}` covers every namespace
        ([cluster("a", ns=PROD)], None, {}, BackupHandling()),  # ... a namespaceSelector cannot be judged
    ],
)
def test_handling(
    windows: list[BackupCandidate], ns_labels: dict[str, str] | None, labels: dict[str, str], expected: BackupHandling
) -> None:
    assert handling(windows, ns_labels, labels) == expected


names_st = st.sampled_from(["a", "b", "c", "d"])
selectors = st.sampled_from([ALL, TIER_A, PROD])
candidates = st.builds(
    BackupCandidate,
    names_st,
    selectors,
    st.one_of(st.none(), selectors),
    st.one_of(st.none(), st.just("invalid")),
)
label_sets = st.fixed_dictionaries(
    {},
    optional={
        "tier": st.sampled_from(["a", "b"]),
        "env": st.sampled_from(["prod", "dev"]),
        names.LABEL_WINDOW: st.just("none"),
    },
)


@given(st.lists(candidates, max_size=6), label_sets, label_sets)
def test_exactly_one_scope_handles_and_a_selecting_namespaced_window_always_wins(
    windows: list[BackupCandidate], ns_labels: dict[str, str], labels: dict[str, str]
) -> None:
    found = handling(windows, ns_labels, labels)
    assert not (found.windows and found.cluster), "never both scopes"
    namespaced = [w for w in windows if not w.cluster and w.problem is None and found.windows]
    if any(not w.cluster and w.problem is None and handling([w], None, labels).windows for w in windows):
        assert found.windows and found.cluster is None
    if labels.get(names.LABEL_WINDOW) == names.WINDOW_NONE:
        assert found.cluster is None
    assert found.configured == bool(found.refs)
    assert set(found.refs) >= {f"BackupWindow/{w}" for w in found.windows}
    assert all(not w.problem for w in namespaced)
    assert handling(list(reversed(windows)), ns_labels, labels) == found, "the order given does not matter"


def test_candidate_parses_a_spec_and_says_what_is_wrong() -> None:
    ok = candidate(
        "d", {"schedule": "0 13 * * *", "duration": "1h", "selector": {}, "namespaceSelector": PROD}, cluster=True
    )
    assert ok.problem is None and ok.namespace_selector == PROD and ok.cluster
    bad = candidate("d", {"schedule": "0 0 13 * * *", "duration": "1h"}, cluster=False)
    assert bad.problem and not bad.cluster
    assert candidate(
        "d", {"schedule": "@daily", "duration": "1h", "selector": {}}, cluster=False, problem="no class"
    ).problem


def run(occ: str, result: str, snapshots: int = 0, failed: int = 0) -> dict[str, Any]:
    return {"occurrence": occ, "result": result, "snapshots": snapshots, "failed": failed}


@pytest.mark.parametrize(
    ("runs", "result", "snapshots"),
    [
        ([run("20260101T1300Z", "Succeeded", 2), run("20260101T1300Z", "Succeeded", 1)], "Succeeded", 3),
        ([run("20260101T1300Z", "Running", 1), run("20260101T1300Z", "Succeeded", 1)], "Running", 2),
        ([run("20260101T1300Z", "Missed", 0, 1), run("20260101T1300Z", "Succeeded", 1)], "PartiallyFailed", 1),
        ([run("20260101T1300Z", "Missed", 0, 1), run("20260101T1300Z", "Failed", 0, 1)], "Failed", 0),
        ([run("20260101T1300Z", "Missed", 0, 2), run("20251231T1300Z", "Succeeded", 4)], "Missed", 0),  # newest
    ],
)
def test_a_cluster_windows_run_sums_its_namespaces(runs: list[dict[str, Any]], result: str, snapshots: int) -> None:
    merged = backup_status.merged_run(runs)
    assert merged is not None and merged["result"] == result and merged["snapshots"] == snapshots


def test_the_cluster_status_lists_the_worst_namespaces_first_and_bounded() -> None:
    parts = {f"ns{i:03}": (1, run("20260101T1300Z", "Succeeded", 1)) for i in range(80)}
    parts["zz"] = (2, run("20260101T1300Z", "Missed", 0, 2))
    out = backup_status.cluster_backup_status({"open": False}, parts)
    assert out["namespaces"][0]["namespace"] == "zz"
    assert len(out["namespaces"]) == 50 and out["namespaceCount"] == 81 and out["databases"] == 82
