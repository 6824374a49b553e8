"""`backups`, `backup` and `restore` against a fake API, and the pure restore decisions (planning.backup_actions)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from maintenance_operator.api import names
from maintenance_operator.api.rest import MANAGED_DATABASES, PERSISTENT_VOLUME_CLAIMS, VOLUME_SNAPSHOTS
from maintenance_operator.cli import backup_now, backups, common, restore
from maintenance_operator.cli.errors import CliError
from maintenance_operator.cli.kubeapi import KubeError
from maintenance_operator.cli.main import build_parser, main
from maintenance_operator.planning.backups.actions import (
    on_demand_request,
    restore_refusal,
    restored_database,
    restored_labels,
    restored_size,
    snapshot_manifest,
)
from maintenance_operator.planning.backups.snapshots import (
    label_value,
    on_demand_id,
    snapshot_labels,
    snapshot_name,
    snapshot_record,
)
from tests.unit.cli.fakes import FakeApi

NOW = datetime(2026, 11, 30, 10, 0, 5, tzinfo=UTC)
WINDOW_LABELS = {"tier": "data", "backup": "daily"}


def mdb(
    namespace: str,
    name: str,
    *,
    engine: str = "postgresql",
    version: str = "16.6",
    current: str | None = "16.4",
    size: str = "1Gi",
    labels: Mapping[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": "Ready"} if current else {"phase": "Provisioning"}
    if current:
        status["currentVersion"] = current
    return {
        "apiVersion": names.API_VERSION,
        "metadata": {"namespace": namespace, "name": name, "labels": dict(labels or {})},
        "spec": {"engine": engine, "version": version, "replicas": 1, "storage": {"size": size}, **spec},
        "status": status,
    }


def pvc(namespace: str, name: str) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name}, "status": {"phase": "Bound"}}


def snapshot(
    namespace: str,
    database: str | None,
    name: str,
    *,
    window: str | None = "daily",
    created: str | None = "2026-11-29T13:00:10Z",
    stamp: str = "2026-11-29T13:00:00Z",
    ready: bool = True,
    error: str | None = None,
    size: str | None = "1Gi",
    managed: bool = True,
    deleting: bool = False,
) -> dict[str, Any]:
    """A VolumeSnapshot as the API returns it; `window` None: on-demand; `database` None: no database label."""
    labels: dict[str, str] = {}
    if database is not None:
        labels = snapshot_labels(database, f"data-{database}-0", "20261129T1300Z", window)
        if not managed:
            labels.pop(names.LABEL_MANAGED_BY)
    status: dict[str, Any] = {"readyToUse": ready}
    if created is not None:
        status["creationTime"] = created
    if size is not None:
        status["restoreSize"] = size
    if error is not None:
        status["error"] = {"message": error, "time": created}
    meta: dict[str, Any] = {"namespace": namespace, "name": name, "labels": labels, "creationTimestamp": stamp}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-30T09:00:00Z"
    return {
        "apiVersion": names.SNAPSHOT_API_VERSION,
        "metadata": meta,
        "spec": {"source": {"persistentVolumeClaimName": f"data-{database}-0"}},
        "status": status,
    }


def cluster() -> FakeApi:
    api = FakeApi()
    api.add(MANAGED_DATABASES, mdb("team-a", "orders", labels=WINDOW_LABELS))
    api.add(PERSISTENT_VOLUME_CLAIMS, pvc("team-a", "data-orders-0"))
    api.add(MANAGED_DATABASES, mdb("team-a", "cache", engine="redis", version="7.2.6", current=None))
    api.add(PERSISTENT_VOLUME_CLAIMS, pvc("team-a", "data-cache-0"))
    snaps = [
        snapshot("team-a", "orders", "orders-new", created="2026-11-30T13:00:10Z"),
        snapshot("team-a", "orders", "orders-old", created="2026-11-28T13:00:10Z"),
        snapshot("team-a", "orders", "orders-demand", window=None, created="2026-11-29T18:00:00Z", size=None),
        snapshot("team-a", "orders", "orders-running", created=None, stamp="2026-11-30T14:00:00Z", ready=False),
        snapshot("team-a", "cache", "cache-bad", ready=False, size=None, error="driver said no"),
        snapshot("team-a", "cache", "cache-going", deleting=True),
        snapshot("team-a", "orders", "foreign", managed=False),  # not the operator's: never listed
        snapshot("team-b", "shop", "shop-1", window="nightly"),
    ]
    for snap in snaps:
        api.add(VOLUME_SNAPSHOTS, snap)
    return api


# -- planning.backup_actions --


def test_on_demand_request_uses_the_shared_naming_and_labels() -> None:
    request = on_demand_request("orders", NOW)
    occurrence = on_demand_id(NOW)
    assert occurrence == "on-demand-20261130T100005Z"
    assert request.name == snapshot_name("orders", "data-orders-0", occurrence)
    assert request.name == "orders-data-orders-0-on-demand-20261130t100005z"
    assert request.pvc == "data-orders-0"
    assert request.labels == snapshot_labels("orders", "data-orders-0", occurrence, None)
    assert request.labels[names.LABEL_ON_DEMAND] == names.ON_DEMAND_VALUE
    assert names.LABEL_BACKUP_WINDOW not in request.labels
    assert snapshot_record(snapshot_manifest(request, "team-a")).on_demand


def test_snapshot_manifest_class_only_when_given() -> None:
    request = on_demand_request("orders", NOW)
    plain = snapshot_manifest(request, "team-a")
    assert plain["apiVersion"] == "snapshot.storage.k8s.io/v1" and plain["kind"] == "VolumeSnapshot"
    assert plain["metadata"]["namespace"] == "team-a"
    assert plain["spec"] == {"source": {"persistentVolumeClaimName": "data-orders-0"}}
    assert snapshot_manifest(request, "team-a", "fast")["spec"]["volumeSnapshotClassName"] == "fast"


@pytest.mark.parametrize(
    ("size", "restore_size", "expected"),
    [
        ("1Gi", "1Gi", "1Gi"),
        ("2Gi", "1Gi", "2Gi"),
        ("1Gi", "1073741824", "1Gi"),
        ("1Gi", "2Gi", "2Gi"),
        ("1G", "1Gi", "1Gi"),  # 10^9 < 2^30
        ("1Gi", None, "1Gi"),
        ("1Gi", "garbage", "1Gi"),
    ],
)
def test_restored_size_is_at_least_the_snapshot(size: str, restore_size: str | None, expected: str) -> None:
    assert restored_size(size, restore_size) == expected


def test_restored_labels_keep_window_selection_drop_ownership() -> None:
    labels = {
        **WINDOW_LABELS,
        "app.kubernetes.io/name": "orders",
        names.LABEL_MANAGED_BY: "Helm",
        "app.kubernetes.io/instance": "shop",
        "helm.sh/chart": "db-1.0",
        names.LABEL_DATABASE: "orders",
    }
    assert restored_labels(labels) == {**WINDOW_LABELS, "app.kubernetes.io/name": "orders"}


def test_restored_database() -> None:
    resources = {"requests": {"cpu": "250m"}, "limits": {"memory": "1Gi"}}
    source = mdb(
        "team-a",
        "orders",
        labels=WINDOW_LABELS,
        size="1Gi",
        resources=resources,
        applyImmediately=True,
        onDelete="Delete",
    )
    source["spec"]["storage"]["className"] = "fast"
    made = restored_database(source, "copy", "snap-1", "2Gi")
    assert made == {
        "apiVersion": names.API_VERSION,
        "kind": names.MANAGED_DATABASE,
        "metadata": {"name": "copy", "namespace": "team-a", "labels": WINDOW_LABELS},
        "spec": {
            "engine": "postgresql",
            "version": "16.4",  # what it runs, not the 16.6 it waits for
            "storage": {"size": "2Gi", "className": "fast"},
            "resources": resources,
            "restoreFrom": {"volumeSnapshotName": "snap-1"},
        },
    }
    assert made["spec"]["resources"] is not resources["requests"]
    assert restored_database(mdb("ns", "new", current=None), "c", "s")["spec"]["version"] == "16.6"


def test_restore_refusal() -> None:
    def record(**kw: Any) -> Any:
        return snapshot_record(snapshot("team-a", kw.pop("database", "orders"), "s", **kw))

    assert restore_refusal(record(), "orders") is None
    assert restore_refusal(record(window=None), "orders") is None
    assert "not readyToUse" in str(restore_refusal(record(ready=False), "orders", force=True))
    assert "failed (boom)" in str(restore_refusal(record(error="boom"), "orders", force=True))
    assert "being deleted" in str(restore_refusal(record(deleting=True), "orders", force=True))
    other = restore_refusal(record(database="shop"), "orders")
    assert other == (
        "VolumeSnapshot s is a backup of database shop, not of orders; pass --force to restore it with the engine "
        "and version of orders anyway"
    )
    assert restore_refusal(record(database="shop"), "orders", force=True) is None
    assert "no maintenance.ops.dev/database label" in str(restore_refusal(record(database=None), "orders"))


def test_long_database_names_match_their_label() -> None:
    long = "x" * 70
    assert label_value(long) != long
    assert restore_refusal(snapshot_record(snapshot("ns", long, "s")), long) is None


# -- backups --


def test_backups_rows_states_and_order() -> None:
    items, listing = backups.collect(cluster(), "team-a", None)
    assert [(i["database"], i["name"]) for i in items] == [
        ("cache", "cache-bad"),
        ("cache", "cache-going"),
        ("orders", "orders-old"),
        ("orders", "orders-demand"),
        ("orders", "orders-new"),
        ("orders", "orders-running"),  # its time is the object's creationTimestamp, the newest
    ]
    got = {i["name"]: i for i in items}
    assert got["orders-new"] == {
        "namespace": "team-a",
        "name": "orders-new",
        "database": "orders",
        "time": "2026-11-30T13:00:10Z",
        "state": "ready",
        "readyToUse": True,
        "error": None,
        "size": "1Gi",
        "window": "daily",
        "onDemand": False,
        "occurrence": "20261129T1300Z",
        "sourcePVC": "data-orders-0",
        "snapshotClass": None,
    }
    assert (got["orders-demand"]["window"], got["orders-demand"]["onDemand"]) == (None, True)
    assert (got["orders-running"]["state"], got["orders-running"]["time"]) == ("in progress", "2026-11-30T14:00:00Z")
    assert got["cache-bad"]["state"] == "failed: driver said no"
    assert got["cache-going"]["state"] == "deleting"
    assert listing.unreadable == []


def test_backups_of_one_database_and_all_namespaces() -> None:
    items, _ = backups.collect(cluster(), "team-a", "cache")
    assert [i["name"] for i in items] == ["cache-bad", "cache-going"]
    items, _ = backups.collect(cluster(), None, None)
    assert [(i["namespace"], i["name"]) for i in items][-1] == ("team-b", "shop-1")
    assert backups.collect(cluster(), None, "shop")[0][0]["window"] == "nightly"


def test_backups_table() -> None:
    items, _ = backups.collect(cluster(), "team-a", None)
    lines = backups.render_table(items, all_namespaces=False).splitlines()
    assert lines[0].split() == ["NAME", "DATABASE", "TIME", "STATE", "SIZE", "WINDOW"]
    assert lines[1].split() == [
        "cache-bad",
        "cache",
        "2026-11-29T13:00:10Z",
        "failed:",
        "driver",
        "said",
        "no",
        "-",
        "daily",
    ]
    assert lines[4].split() == ["orders-demand", "orders", "2026-11-29T18:00:00Z", "ready", "-", "on-demand"]
    assert lines[6].split() == ["orders-running", "orders", "2026-11-30T14:00:00Z", "in", "progress", "1Gi", "daily"]
    everywhere = backups.render_table(backups.collect(cluster(), None, None)[0], all_namespaces=True)
    assert everywhere.splitlines()[0].split()[:2] == ["NAMESPACE", "NAME"]


def test_backups_refusals() -> None:
    api = cluster()
    api.forbidden = {("volumesnapshots", None)}
    items, listing = backups.collect(api, None, None)  # read namespace by namespace instead
    assert {i["namespace"] for i in items} == {"team-a", "team-b"} and listing.unreadable == []
    api.forbidden = {("volumesnapshots", None), ("volumesnapshots", "team-b")}
    items, listing = backups.collect(api, None, None)
    assert {i["namespace"] for i in items} == {"team-a"}
    assert [str(u) for u in listing.unreadable] == [
        "could not read volumesnapshots.snapshot.storage.k8s.io in namespace team-b: forbidden"
    ]
    with pytest.raises(CliError, match=r"forbidden: you may not list volumesnapshots\.snapshot\.storage\.k8s\.io in"):
        backups.collect(api, "team-b", None)


def test_main_backups_json_and_empty(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "connect", lambda args: cluster())
    assert main(["backups", "orders", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [i["name"] for i in data["items"]] == ["orders-old", "orders-demand", "orders-new", "orders-running"]
    assert data["unreadable"] == []
    assert main(["backups", "nothing", "-n", "team-a"]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == ("", "No backups of nothing in namespace team-a.\n")


def test_main_backups_without_snapshot_api(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    class NoSnapshots(FakeApi):
        def list_objects(self, resource: Any, namespace: str | None) -> list[dict[str, Any]]:
            raise KubeError("not found", 404)

    monkeypatch.setattr(common, "connect", lambda args: NoSnapshots())
    assert main(["backups"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the API server does not serve volumesnapshots.snapshot.storage.k8s.io")
    assert err.count("\n") == 1


# -- backup --


def test_backup_creates_the_on_demand_snapshot() -> None:
    api = cluster()
    created = backup_now.backup(api, "team-a", "orders", NOW)
    ((resource, namespace, body),) = api.created
    assert (resource, namespace) == (VOLUME_SNAPSHOTS, "team-a")
    assert body == snapshot_manifest(on_demand_request("orders", NOW), "team-a")
    assert "volumeSnapshotClassName" not in body["spec"]
    assert created["metadata"]["name"] == "orders-data-orders-0-on-demand-20261130t100005z"
    # One a second: asking twice in the same second is refused, not duplicated.
    with pytest.raises(CliError, match="already exists: a backup of orders was already requested this second"):
        backup_now.backup(api, "team-a", "orders", NOW)
    later = backup_now.backup(api, "team-a", "orders", NOW + timedelta(seconds=1), "fast")
    assert later["spec"]["volumeSnapshotClassName"] == "fast"


def test_backup_refusals() -> None:
    api = cluster()
    with pytest.raises(CliError, match='not found: ManagedDatabase "ghost" in namespace "team-a"'):
        backup_now.backup(api, "team-a", "ghost", NOW)
    api.add(MANAGED_DATABASES, mdb("team-a", "fresh", current=None))
    with pytest.raises(CliError, match=r"fresh has no data volume yet .* nothing was backed up"):
        backup_now.backup(api, "team-a", "fresh", NOW)
    assert api.created == []
    # Not allowed to read PVCs: the snapshot is still requested (the snapshot controller will report a bad source).
    api.forbidden = {("persistentvolumeclaims", "team-a")}
    backup_now.backup(api, "team-a", "fresh", NOW)
    assert len(api.created) == 1
    api.forbidden = {("volumesnapshots", "team-a")}
    with pytest.raises(CliError, match="forbidden: you may not create volumesnapshots"):
        backup_now.backup(api, "team-a", "orders", NOW)


class Clock:
    """A fake monotonic clock that `sleep` advances; after `ready_after` sleeps the snapshot becomes ready."""

    def __init__(self, api: FakeApi, name: str, ready_after: int | None, error_after: int | None = None) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self.api, self.name, self.ready_after, self.error_after = api, name, ready_after, error_after

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        status = self.api.get(VOLUME_SNAPSHOTS, "team-a", self.name).setdefault("status", {})
        if self.ready_after is not None and len(self.sleeps) >= self.ready_after:
            status.update(readyToUse=True, restoreSize="1Gi")
        if self.error_after is not None and len(self.sleeps) >= self.error_after:
            status["error"] = {"message": "CreateSnapshot failed"}


def test_wait_polls_until_ready() -> None:
    api = cluster()
    name = backup_now.backup(api, "team-a", "orders", NOW)["metadata"]["name"]
    clock = Clock(api, name, ready_after=3)
    record = backup_now.wait_ready(api, "team-a", name, timedelta(minutes=5), clock, clock.sleep)
    assert record.ready and clock.sleeps == [1.0, 1.0, 1.0]


def test_wait_reports_a_failure_and_the_deadline() -> None:
    api = cluster()
    name = backup_now.backup(api, "team-a", "orders", NOW)["metadata"]["name"]
    clock = Clock(api, name, ready_after=None, error_after=2)
    with pytest.raises(CliError, match="failed: CreateSnapshot failed"):
        backup_now.wait_ready(api, "team-a", name, timedelta(minutes=5), clock, clock.sleep)

    name = backup_now.backup(api, "team-a", "cache", NOW)["metadata"]["name"]
    clock = Clock(api, name, ready_after=None)
    with pytest.raises(CliError, match=r"is not ready after 2\.5s; it is still being taken"):
        backup_now.wait_ready(api, "team-a", name, timedelta(seconds=2.5), clock, clock.sleep)
    assert clock.sleeps == [1.0, 1.0, 0.5]  # never past the deadline

    api.objects[VOLUME_SNAPSHOTS] = [o for o in api.objects[VOLUME_SNAPSHOTS] if o["metadata"]["name"] != name]
    with pytest.raises(CliError, match="was deleted before it became ready"):
        backup_now.wait_ready(api, "team-a", name, timedelta(seconds=5), clock, clock.sleep)


def test_backup_arguments() -> None:
    args = build_parser().parse_args(["backup", "orders", "--wait", "--timeout", "90s", "--class", "fast"])
    assert (args.database, args.wait, args.timeout, args.snapshot_class) == (
        "orders",
        True,
        timedelta(seconds=90),
        "fast",
    )
    assert build_parser().parse_args(["backup", "orders"]).timeout == timedelta(minutes=5)


@pytest.mark.parametrize("timeout", ["5x", "0s", ""])
def test_bad_timeout_exits_2(timeout: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["backup", "orders", "--timeout", timeout])
    assert exit_info.value.code == 2
    assert "--timeout" in capsys.readouterr().err


def test_main_backup_prints_the_name(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = cluster()
    monkeypatch.setattr(common, "connect", lambda args: api)
    assert main(["backup", "orders"]) == 0
    out, err = capsys.readouterr()
    ((_, _, body),) = api.created
    assert out == body["metadata"]["name"] + "\n"
    assert "kubectl maintenance backups orders -n team-a" in err
    assert main(["backup", "ghost"]) == 1
    assert capsys.readouterr().err == 'error: not found: ManagedDatabase "ghost" in namespace "team-a"\n'


# -- restore --


def test_restore_creates_the_copy() -> None:
    api = cluster()
    created, warnings = restore.restore(api, "team-a", "orders", "orders-new", "copy")
    assert warnings == []
    ((resource, namespace, body),) = api.created
    assert (resource, namespace) == (MANAGED_DATABASES, "team-a")
    assert body == restored_database(api.get(MANAGED_DATABASES, "team-a", "orders"), "copy", "orders-new", "1Gi")
    assert body["spec"]["restoreFrom"] == {"volumeSnapshotName": "orders-new"}
    assert created["metadata"]["labels"] == WINDOW_LABELS
    with pytest.raises(CliError, match="ManagedDatabase copy already exists in namespace team-a"):
        restore.restore(api, "team-a", "orders", "orders-new", "copy")
    with pytest.raises(CliError, match="ManagedDatabase orders already exists"):
        restore.restore(api, "team-a", "orders", "orders-new", "orders")


@pytest.mark.parametrize(
    ("database", "snap", "force", "message"),
    [
        ("orders", "missing", False, "VolumeSnapshot missing not found in namespace team-a"),
        ("orders", "orders-running", True, "not readyToUse yet"),
        ("cache", "cache-bad", True, r"failed \(driver said no\)"),
        ("cache", "cache-going", True, "is being deleted"),
        ("cache", "orders-new", False, "is a backup of database orders, not of cache; pass --force"),
        ("ghost", "orders-new", False, 'not found: ManagedDatabase "ghost"'),
    ],
)
def test_restore_refusals(database: str, snap: str, force: bool, message: str) -> None:
    api = cluster()
    with pytest.raises(CliError, match=message):
        restore.restore(api, "team-a", database, snap, "copy", force=force)
    assert api.created == []


def test_restore_force_another_databases_snapshot() -> None:
    api = cluster()
    created, warnings = restore.restore(api, "team-a", "cache", "orders-new", "copy", force=True)
    assert warnings == ["VolumeSnapshot orders-new is a backup of database orders; restoring it anyway (--force)"]
    assert (created["spec"]["engine"], created["spec"]["version"]) == ("redis", "7.2.6")


def test_main_restore(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = cluster()
    monkeypatch.setattr(common, "connect", lambda args: api)
    assert main(["restore", "orders", "--snapshot", "orders-old", "--as", "copy"]) == 0
    out, err = capsys.readouterr()
    assert out == (
        "manageddatabase/copy created from VolumeSnapshot orders-old (postgresql 16.4, 1Gi). "
        "Follow it: kubectl get mdb copy -n team-a -w\n"
    )
    assert err == ""
    assert main(["restore", "cache", "--snapshot", "orders-old", "--as", "copy2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: VolumeSnapshot orders-old is a backup of database orders, not of cache")
    assert err.endswith("; nothing was created\n") and err.count("\n") == 1
    with pytest.raises(SystemExit):
        main(["restore", "orders", "--snapshot", "orders-old"])  # --as is required
