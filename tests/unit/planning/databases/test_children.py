"""What a ManagedDatabase's task applies: its children, its own annotations, a restore, a storage growth."""

from datetime import timedelta
from typing import Any

import pytest

from maintenance_operator.api import names
from maintenance_operator.api.database import ManagedDatabaseSpec
from maintenance_operator.planning.databases import children, manifests
from maintenance_operator.planning.databases.versions import Refusal, Refused, Unchanged, UpgradePending
from maintenance_operator.planning.databases.versions import VersionDecision as Decision
from maintenance_operator.planning.targets.workloads import Workload
from maintenance_operator.planning.times import format_time
from tests.unit.planning.databases.test_database_status import NOW, sts

BEFORE = NOW - timedelta(hours=2)
REF = manifests.DatabaseRef("orders", "shop", "uid-orders")
SPEC = ManagedDatabaseSpec.model_validate({"engine": "postgresql", "version": "16.4", "storage": {"size": "1Gi"}})
REQUIRED = {names.ANNOTATION_REQUIRED: "database-security"}
STAMPED = {**REQUIRED, names.ANNOTATION_REQUIRED_SINCE: format_time(BEFORE)}


DONE = sts(required="database-security", required_since=BEFORE, restarted_at=NOW - timedelta(hours=1))

# case: (live, database annotations, version decision) -> (own annotations patched, StatefulSet's `required`)
ANNOTATION_CASES: dict[str, tuple[Workload | None, dict[str, str], Decision, dict[str, str], str | None]] = {
    "nothing due": (sts(), {}, Unchanged("16.4"), {}, None),
    "announced: stamped on the database first": (
        sts(),
        REQUIRED,
        Unchanged("16.4"),
        {names.ANNOTATION_REQUIRED_SINCE: format_time(NOW)},
        "database-security",
    ),
    "announced and stamped: nothing to patch": (sts(), STAMPED, Unchanged("16.4"), {}, "database-security"),
    "done on the StatefulSet: recorded on the database": (
        DONE,
        STAMPED,
        Unchanged("16.4"),
        {names.ANNOTATION_COMPLETED_AT: format_time(NOW), names.ANNOTATION_COMPLETED_BY: "self-service"},
        "database-security",
    ),
    "done and recorded": (
        DONE,
        {**STAMPED, names.ANNOTATION_COMPLETED_AT: format_time(NOW - timedelta(minutes=50))},
        Unchanged("16.4"),
        {},
        "database-security",
    ),
    "recorded for an earlier announcement: recorded again": (
        DONE,
        {**STAMPED, names.ANNOTATION_COMPLETED_AT: format_time(BEFORE - timedelta(days=1))},
        Unchanged("16.4"),
        {names.ANNOTATION_COMPLETED_AT: format_time(NOW), names.ANNOTATION_COMPLETED_BY: "self-service"},
        "database-security",
    ),
    "an upgrade waits on the StatefulSet": (
        sts(),
        {},
        UpgradePending("16.4", "16.6"),
        {},
        "version update 16.4 -> 16.6",
    ),
    "a refusal asks nothing": (sts(), {}, Refused(Refusal.MAJOR_VERSION_CHANGE, "needs a dump"), {}, None),
}


@pytest.mark.parametrize("case", ANNOTATION_CASES, ids=str)
def test_announced_maintenance_and_upgrades(case: str) -> None:
    live, annotations, decision, own, required = ANNOTATION_CASES[case]
    metadata = {"annotations": annotations, "labels": {"tier": "a"}}
    plan = children.decide(REF, SPEC, "16.4", decision, live, "1Gi", metadata, NOW)
    assert plan.database_annotations == own
    meta = plan.statefulset["metadata"]
    assert (meta.get("annotations") or {}).get(names.ANNOTATION_REQUIRED) == required
    assert meta["labels"]["tier"] == "a", "a window selecting the database selects its StatefulSet"
    assert meta["labels"][names.LABEL_DATABASE] == "orders", "the database's labels never replace the operator's"
    assert [s["metadata"]["name"] for s in plan.services] == ["orders-headless", "orders"]


def test_the_users_labels_never_replace_the_operators() -> None:
    metadata = {"labels": {names.LABEL_DATABASE: "someone-else"}}
    plan = children.decide(REF, SPEC, "16.4", Unchanged("16.4"), sts(), "1Gi", metadata, NOW)
    assert plan.statefulset["metadata"]["labels"][names.LABEL_DATABASE] == "orders"


@pytest.mark.parametrize(
    ("live", "known", "expected"),
    [(None, None, "1Gi"), (None, "500Mi", "1Gi"), (sts(), "500Mi", "500Mi"), (sts(), None, None)],
    ids=["new", "recreated", "live: its template", "live, unknown"],
)
def test_claim_size_after_the_apply(live: Workload | None, known: str | None, expected: str | None) -> None:
    plan = children.decide(REF, SPEC, "16.4", Unchanged("16.4"), live, known, {}, NOW)
    assert plan.claim_size == expected


@pytest.mark.parametrize(
    ("wanted", "have", "grows"),
    [("2Gi", "1Gi", True), ("1Gi", "1Gi", False), ("1024Mi", "1Gi", False), ("500Mi", "1Gi", False),
     ("2Gi", None, False), ("2Gi", "lots", False)],
)  # fmt: skip
def test_storage_grows_only_to_a_larger_known_size(wanted: str, have: str | None, grows: bool) -> None:
    claim = children.claim_to_grow(REF, wanted, have)
    assert (claim is not None) == grows
    if claim is not None:
        assert claim["spec"] == {"resources": {"requests": {"storage": wanted}}}
        assert claim["metadata"]["name"] == manifests.data_claim_name("orders")


@pytest.mark.parametrize(
    ("obj", "size"),
    [
        ({"spec": {"volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "5Gi"}}}}]}}, "5Gi"),
        ({"spec": {}}, None),
        ({}, None),
        ({"spec": {"volumeClaimTemplates": [{}]}}, None),
    ],
)
def test_template_claim_size(obj: dict[str, Any], size: str | None) -> None:
    assert children.template_claim_size(obj) == size


@pytest.mark.parametrize(
    ("snapshot", "problem"),
    [
        (None, "VolumeSnapshot s1 not found in namespace shop; nothing was created"),
        ({"status": {"readyToUse": False}}, "VolumeSnapshot s1 is not readyToUse yet; nothing was created"),
        ({}, "VolumeSnapshot s1 is not readyToUse yet; nothing was created"),
        ({"status": {"readyToUse": True}}, None),
    ],
)
def test_restore_waits_for_a_ready_snapshot(snapshot: dict[str, Any] | None, problem: str | None) -> None:
    assert children.restore_problem("shop", "s1", snapshot) == problem
