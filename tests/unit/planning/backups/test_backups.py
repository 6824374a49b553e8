"""Snapshot names and labels (valid, deterministic, distinct), VolumeSnapshot records, and the per-occurrence plan."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance_operator.api import names
from maintenance_operator.planning.backups.snapshots import (
    MAX_LABEL_VALUE,
    MAX_NAME,
    DataVolume,
    SnapshotRecord,
    VolumeWait,
    is_label_value,
    is_subdomain,
    label_value,
    on_demand_id,
    plan_snapshots,
    snapshot_labels,
    snapshot_name,
    snapshot_record,
)

OCCURRENCE = "20261201T1300Z"
WINDOW = "daily"

# -- names -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("database", "pvc", "occurrence", "expected"),
    [
        ("orders", "data-orders-0", OCCURRENCE, "orders-data-orders-0-20261201t1300z"),
        ("a.b", "data-a.b-0", OCCURRENCE, "a.b-data-a.b-0-20261201t1300z"),
        ("orders", "data-orders-0", "on-demand-20261201T130502Z", "orders-data-orders-0-on-demand-20261201t130502z"),
    ],
)
def test_plain_names(database: str, pvc: str, occurrence: str, expected: str) -> None:
    assert snapshot_name(database, pvc, occurrence) == expected


def test_long_names_are_cut_with_a_hash_and_keep_the_occurrence() -> None:
    database, pvc = "d" * 200, "data-" + "d" * 200 + "-0"
    name = snapshot_name(database, pvc, OCCURRENCE)
    assert len(name) == MAX_NAME
    assert is_subdomain(name)
    assert name.endswith("-20261201t1300z")
    assert name.startswith("d" * 100)
    # The cut part differs only beyond the cut: the hash still tells the volumes apart.
    assert snapshot_name(database, pvc.replace("-0", "-1"), OCCURRENCE) != name


def test_names_at_the_limit_are_not_hashed() -> None:
    pvc = "p" * (MAX_NAME - len("db--20261201t1300z"))
    assert snapshot_name("db", pvc, OCCURRENCE) == f"db-{pvc}-20261201t1300z"
    assert len(snapshot_name("db", pvc + "p", OCCURRENCE)) <= MAX_NAME
    assert snapshot_name("db", pvc + "p", OCCURRENCE) != f"db-{pvc}p-20261201t1300z"


@pytest.mark.parametrize(
    ("invalid", "twin"),
    [
        (("Orders", "data", OCCURRENCE), ("orders", "data", OCCURRENCE)),
        (("a_b", "data", OCCURRENCE), ("a-b", "data", OCCURRENCE)),
        (("db", "x..y", OCCURRENCE), ("db", "x.y", OCCURRENCE)),
        (("db", "data", "!!"), ("db", "data", "x")),
        (("db", "data", "x" * 62 + "-long-id"), ("db", "data", "x" * 62)),  # cut at a dash
    ],
)
def test_invalid_inputs_still_give_valid_hashed_names(
    invalid: tuple[str, str, str], twin: tuple[str, str, str]
) -> None:
    """Cleaning alone would map ``invalid`` onto the valid ``twin``'s name; the hash keeps them apart."""
    name = snapshot_name(*invalid)
    assert is_subdomain(name)
    assert name != snapshot_name(*twin)
    assert re.search(r"-[0-9a-f]{8}(-|$)", name), name


@pytest.mark.parametrize("args", [("", "data", OCCURRENCE), ("db", "", OCCURRENCE), ("db", "data", "")])
def test_empty_parts_are_rejected(args: tuple[str, str, str]) -> None:
    with pytest.raises(ValueError, match="needs a database"):
        snapshot_name(*args)


object_names = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,250}[a-z0-9])?", fullmatch=True).filter(is_subdomain)
any_text = st.text(min_size=1, max_size=300)
occurrence_ids = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.strftime("%Y%m%dT%H%MZ")),
    st.datetimes(timezones=st.just(UTC)).map(on_demand_id),
    any_text,
)


@given(st.one_of(object_names, any_text), st.one_of(object_names, any_text), occurrence_ids)
def test_names_are_always_valid_and_deterministic(database: str, pvc: str, occurrence: str) -> None:
    name = snapshot_name(database, pvc, occurrence)
    assert is_subdomain(name), name
    assert snapshot_name(database, pvc, occurrence) == name


@given(object_names, object_names, object_names, occurrence_ids, occurrence_ids)
def test_distinct_volumes_or_occurrences_get_distinct_names(
    database: str, pvc: str, other_pvc: str, occurrence: str, other: str
) -> None:
    """PVC names are unique in a namespace; a name collision would silently merge two backups."""
    if pvc != other_pvc:
        assert snapshot_name(database, pvc, occurrence) != snapshot_name(database, other_pvc, occurrence)
    if occurrence.lower() != other.lower():
        assert snapshot_name(database, pvc, occurrence) != snapshot_name(database, pvc, other)


@given(object_names, object_names, st.datetimes(timezones=st.just(UTC)).map(lambda d: d.strftime("%Y%m%dT%H%MZ")))
def test_occurrence_ids_stay_readable_at_the_end(database: str, pvc: str, occurrence: str) -> None:
    assert snapshot_name(database, pvc, occurrence).endswith("-" + occurrence.lower())


# -- labels ------------------------------------------------------------------------------------------------------


def test_window_snapshot_labels() -> None:
    assert snapshot_labels("orders", "data-orders-0", OCCURRENCE, WINDOW) == {
        "app.kubernetes.io/managed-by": "maintenance-operator",
        "maintenance.ops.dev/database": "orders",
        "maintenance.ops.dev/source-pvc": "data-orders-0",
        "maintenance.ops.dev/occurrence": OCCURRENCE,
        "maintenance.ops.dev/backup-window": WINDOW,
    }


def test_on_demand_snapshot_labels() -> None:
    request = on_demand_id(datetime(2026, 12, 1, 14, 5, 2, 999, tzinfo=UTC))
    assert request == "on-demand-20261201T140502Z"
    labels = snapshot_labels("orders", "data-orders-0", request, None)
    assert labels[names.LABEL_ON_DEMAND] == "true"
    assert labels[names.LABEL_OCCURRENCE] == request
    assert names.LABEL_BACKUP_WINDOW not in labels


def test_on_demand_ids_need_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        on_demand_id(datetime(2026, 12, 1, 14, 5))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("orders", "orders"), ("a" * 63, "a" * 63), ("", ""), ("Mixed_Case.ok", "Mixed_Case.ok")],
)
def test_valid_label_values_are_kept(text: str, expected: str) -> None:
    assert label_value(text) == expected


@given(st.text(max_size=300))
def test_label_values_are_always_valid_and_stable(text: str) -> None:
    value = label_value(text)
    assert is_label_value(value) and len(value) <= MAX_LABEL_VALUE
    assert label_value(text) == value
    assert label_value(value) == value  # selecting by the stored value finds the same snapshots


@given(st.text(max_size=300), st.text(max_size=300))
def test_distinct_label_inputs_stay_distinct(a: str, b: str) -> None:
    if a != b:
        assert label_value(a) != label_value(b)


# -- records -----------------------------------------------------------------------------------------------------


def volume_snapshot(
    name: str = "orders-data-orders-0-20261201t1300z",
    *,
    labels: dict[str, str] | None = None,
    status: dict[str, Any] | None = None,
    deleting: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "creationTimestamp": "2026-12-01T13:00:01Z"}
    if labels is not None:
        meta["labels"] = labels
    if deleting:
        meta["deletionTimestamp"] = "2026-12-02T00:00:00Z"
    obj: dict[str, Any] = {"apiVersion": names.SNAPSHOT_API_VERSION, "kind": names.VOLUME_SNAPSHOT, "metadata": meta}
    if status is not None:
        obj["status"] = status
    return obj


def test_record_of_a_ready_window_snapshot() -> None:
    labels = snapshot_labels("orders", "data-orders-0", OCCURRENCE, WINDOW)
    obj = volume_snapshot(labels=labels, status={"readyToUse": True, "creationTime": "2026-12-01T13:00:03Z"})
    assert snapshot_record(obj) == SnapshotRecord(
        name="orders-data-orders-0-20261201t1300z",
        database="orders",
        created=datetime(2026, 12, 1, 13, 0, 3, tzinfo=UTC),
        ready=True,
        failed=False,
        managed=True,
        occurrence=OCCURRENCE,
        window=WINDOW,
    )


@pytest.mark.parametrize(
    ("obj", "usable", "failed", "managed", "error"),
    [
        (volume_snapshot(labels={}), False, False, False, None),
        (volume_snapshot(status={"readyToUse": False}), False, False, False, None),
        (volume_snapshot(status={"error": {"message": "driver: boom"}}), False, True, False, "driver: boom"),
        (volume_snapshot(status={"readyToUse": True, "error": {}}), True, False, False, None),
        (volume_snapshot(status={"readyToUse": True, "error": {"time": "x"}}), False, True, False, "snapshot failed"),
        (volume_snapshot(status={"readyToUse": True}, deleting=True), False, False, False, None),
        (
            volume_snapshot(labels={names.LABEL_MANAGED_BY: "velero"}, status={"readyToUse": True}),
            True,
            False,
            False,
            None,
        ),
    ],
)
def test_record_states(obj: dict[str, Any], usable: bool, failed: bool, managed: bool, error: str | None) -> None:
    record = snapshot_record(obj)
    assert (record.usable, record.failed, record.managed, record.error) == (usable, failed, managed, error)
    # Without status.creationTime the object's own creation time is used.
    assert record.created == datetime(2026, 12, 1, 13, 0, 1, tzinfo=UTC)


def test_on_demand_record() -> None:
    labels = snapshot_labels("orders", "data-orders-0", "on-demand-20261201T140502Z", None)
    record = snapshot_record(volume_snapshot(labels=labels))
    assert record.on_demand and record.window is None and record.managed


# -- plan --------------------------------------------------------------------------------------------------------

ORDERS = DataVolume("orders", "data-orders-0")
USERS = DataVolume("users", "data-users-0")
USERS_1 = DataVolume("users", "data-users-1")


def record(volume: DataVolume, **changes: Any) -> SnapshotRecord:
    fields: dict[str, Any] = {
        "name": snapshot_name(volume.database, volume.pvc, OCCURRENCE),
        "database": volume.database,
        "created": datetime(2026, 12, 1, 13, 0, 5, tzinfo=UTC),
        "ready": False,
        "failed": False,
        "managed": True,
        "occurrence": OCCURRENCE,
        "window": WINDOW,
    }
    return SnapshotRecord(**(fields | changes))


def test_a_fresh_occurrence_creates_one_snapshot_per_data_volume_in_order() -> None:
    step = plan_snapshots([USERS_1, ORDERS, USERS, ORDERS], WINDOW, OCCURRENCE, [], can_start=True)
    assert [(r.database, r.pvc) for r in step.create] == [
        ("orders", "data-orders-0"),
        ("users", "data-users-0"),
        ("users", "data-users-1"),
    ]
    first = step.create[0]
    assert first.name == "orders-data-orders-0-20261201t1300z"
    assert first.labels == snapshot_labels("orders", "data-orders-0", OCCURRENCE, WINDOW)
    assert not step.complete


@pytest.mark.parametrize(
    ("existing", "can_start", "busy", "bucket"),
    [
        ([], True, {"users"}, VolumeWait.ROLLOUT),
        ([], False, set(), VolumeWait.CLOSED),
        ([record(USERS)], True, set(), "in_progress"),
        ([record(USERS, ready=True)], True, set(), "ready"),
        ([record(USERS, ready=True)], True, {"users"}, "ready"),  # a rollout after the snapshot changes nothing
        ([record(USERS, ready=True)], False, set(), "ready"),
        ([record(USERS, failed=True)], True, set(), "retry"),
        ([record(USERS, failed=True)], False, set(), "failed"),
        ([record(USERS, failed=True, deleting=True)], True, set(), VolumeWait.DELETING),
        ([record(USERS, managed=False, ready=True)], True, set(), VolumeWait.NAME_TAKEN),
        ([record(USERS, name="other", ready=True)], True, set(), "create"),  # only the exact name counts
    ],
)
def test_plan_per_volume(existing: list[SnapshotRecord], can_start: bool, busy: set[str], bucket: str) -> None:
    step = plan_snapshots([USERS], WINDOW, OCCURRENCE, existing, can_start=can_start, busy=busy)
    name = snapshot_name(USERS.database, USERS.pvc, OCCURRENCE)
    found = {
        "create": [r.name for r in step.create],
        "retry": step.retry,
        "in_progress": step.in_progress,
        "ready": step.ready,
        "failed": [] if step.retry else step.failed,  # a retried snapshot is also listed as failed
    }
    assert {key: names for key, names in found.items() if names} == (
        {} if isinstance(bucket, VolumeWait) else {bucket: [name]}
    )
    assert step.waiting == ({USERS: bucket} if isinstance(bucket, VolumeWait) else {})
    assert step.complete == (bucket == "ready")


def test_busy_databases_wait_while_others_proceed() -> None:
    step = plan_snapshots([ORDERS, USERS, USERS_1], WINDOW, OCCURRENCE, [], can_start=True, busy={"users"})
    assert [r.database for r in step.create] == ["orders"]
    assert step.waiting == {USERS: VolumeWait.ROLLOUT, USERS_1: VolumeWait.ROLLOUT}


@given(
    st.lists(st.sampled_from([ORDERS, USERS, USERS_1]), max_size=5),
    st.lists(
        st.builds(
            record,
            st.sampled_from([ORDERS, USERS, USERS_1]),
            ready=st.booleans(),
            failed=st.booleans(),
            managed=st.booleans(),
            deleting=st.booleans(),
        ),
        max_size=4,
        unique_by=lambda s: s.name,  # names are unique in a namespace
    ),
    st.booleans(),
    st.sets(st.sampled_from(["orders", "users"])),
)
def test_plan_never_recreates_an_existing_name(
    volumes: list[DataVolume], existing: list[SnapshotRecord], can_start: bool, busy: set[str]
) -> None:
    step = plan_snapshots(volumes, WINDOW, OCCURRENCE, existing, can_start=can_start, busy=busy)
    names = {s.name for s in existing}
    assert not {r.name for r in step.create} & names
    assert len({r.name for r in step.create}) == len(step.create)
    assert not (step.create or step.retry) or can_start
    assert not {r.database for r in step.create} & busy
    foreign = {s.name for s in existing if not s.managed}
    assert not set(step.retry) & foreign
    # Every distinct volume is accounted for exactly once.
    seen = [r.name for r in step.create] + step.in_progress + step.ready + step.failed + list(step.waiting)
    assert len(seen) == len(set(volumes))
