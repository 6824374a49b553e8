"""Exactly one window handles a target: the others list it as handled there and never touch it (issue 13)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from maintenance_operator.planning.times import parse_time
from tests.cluster.cluster import LocalCluster, SnapshotStack
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_cli_support import plugin_json
from tests.integration.test_maintenance_rollouts import last_run
from tests.integration.test_maintenance_window import SELECT, WEB, announce, iso, run_now, status_of
from tests.integration.test_managed_database import SELECT_DB, database, db_status, ready
from tests.integration.workloads import apply, deployment, events_for, get, revisions, wait_rolled_out, window

pytestmark = pytest.mark.integration

JANUARY_3 = "0 3 1 1 *"  # no boundary during a test; the earlier of the two
JANUARY_4 = "0 4 1 1 *"


def handled_elsewhere(cluster: LocalCluster, namespace: str, name: str) -> list[tuple[str, str]]:
    entries = status_of(cluster, namespace, name).get("handledElsewhere") or []
    return [(e["name"], e["window"]) for e in entries]


def test_two_windows_selecting_one_deployment_restart_it_once(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    # policy: Always, so a window that wrongly thought it handled web would restart it in its own occurrence;
    # a year's notice, so both would announce their next occurrence at once.
    spec = {"policy": "Always", "noticeBefore": "8760h"}
    first = window("first", SELECT, schedule=JANUARY_3, **spec)
    second = window("second", SELECT, schedule=JANUARY_4, **spec)
    apply(cluster, namespace, deployment("web", WEB), first, second)
    wait_rolled_out(cluster, namespace, "deployment/web")
    announce(cluster, namespace, "deployment/web")

    def both_saw_web() -> bool:
        second_status = status_of(cluster, namespace, "second")
        seen = second_status.get("pendingCount") or second_status.get("handledElsewhere")
        return status_of(cluster, namespace, "first").get("pendingCount") == 1 and bool(seen)

    eventually(both_saw_web, what="both windows took in web's maintenance")
    first_status, second_status = status_of(cluster, namespace, "first"), status_of(cluster, namespace, "second")
    assert [p["name"] for p in first_status.get("pending") or []] == ["web"]
    assert second_status.get("pendingCount") == 0, second_status.get("pending")
    assert handled_elsewhere(cluster, namespace, "second") == [("web", "first")]
    assert handled_elsewhere(cluster, namespace, "first") == []
    [row] = plugin_json(cluster, "apps", "-n", namespace)["items"]
    assert row["window"] == "first", row
    # second decided about web's notice in the pass that listed it as handled elsewhere, before its status.
    notices = eventually(lambda: events_for(cluster, namespace, "web", "MaintenanceScheduled"), what="web's notice")
    assert [("window first" in e["message"], "window second" in e["message"]) for e in notices] == [(True, False)]

    before = revisions(cluster, namespace, "web")
    run_now(cluster, namespace, "first")
    eventually(lambda: last_run(cluster, namespace, "first", "Succeeded"), timeout=90, what="first's restart")
    # first's ad-hoc occurrence is still open and began earlier: second's run-now leaves web to it. (Run-now ids
    # have second precision; in the same second both would have one id: see the test below.)
    opened = parse_time((status_of(cluster, namespace, "first").get("currentOccurrence") or {}).get("start"))
    assert opened is not None
    eventually(lambda: datetime.now(UTC) >= opened + timedelta(seconds=1), what="a second after first's run-now")
    run_now(cluster, namespace, "second")
    eventually(lambda: last_run(cluster, namespace, "second", "Succeeded"), timeout=90, what="second's run")
    wait_rolled_out(cluster, namespace, "deployment/web")
    assert revisions(cluster, namespace, "web") == before + 1, "one restart, by first alone"
    assert (status_of(cluster, namespace, "second").get("lastRun") or {}).get("restarted") == 0


def test_run_now_of_two_windows_in_one_second_keeps_their_restarts_apart(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    """Issue 13: both run-now occurrences have one id; `a` handles web and restarts it, then is deleted, so web
    moves to `b` in that same occurrence id. The stamp names the window: `b` does its own restart instead of
    taking `a`'s for it (before, it reported `a`'s restart as its MaintenanceCompleted and restarted nothing)."""
    cluster = crds
    spec = {"policy": "Always", "schedule": JANUARY_3}
    apply(cluster, namespace, deployment("web", WEB), window("a", SELECT, **spec), window("b", SELECT, **spec))
    wait_rolled_out(cluster, namespace, "deployment/web")
    eventually(lambda: handled_elsewhere(cluster, namespace, "b") == [("web", "a")], what="b leaving web to a")
    # One annotate call early in a second: both windows open their occurrence within that second.
    eventually(lambda: datetime.now(UTC).microsecond < 200_000, interval=0.01, what="the start of a second")
    stamp = iso(datetime.now(UTC))
    cluster.kubectl("annotate", "-n", namespace, "mw/a", "mw/b", f"maintenance.ops.dev/run-now={stamp}")
    ids = eventually(
        lambda: [(status_of(cluster, namespace, n).get("currentOccurrence") or {}).get("id") for n in "ab"],
        what="both occurrences open",
    )
    assert ids[0] == ids[1], f"the test needs both run-now occurrences in one second: {ids}"
    eventually(lambda: last_run(cluster, namespace, "a", "Succeeded"), timeout=90, what="a's restart")
    assert revisions(cluster, namespace, "web") == 2
    cluster.kubectl("delete", "-n", namespace, "mw/a")
    eventually(lambda: revisions(cluster, namespace, "web") == 3, timeout=60, what="b's own restart of web")
    run = eventually(lambda: last_run(cluster, namespace, "b", "Succeeded"), timeout=90, what="b's run")
    assert run["occurrence"] == ids[0] and run["restarted"] == 1

    def two_completed() -> list[dict[str, Any]] | None:
        found = events_for(cluster, namespace, "web", "MaintenanceCompleted")
        return found if len(found) == 2 else None

    done = eventually(two_completed, what="a MaintenanceCompleted Event from each window")
    assert sorted("MaintenanceWindow/b" in e["message"] for e in done) == [False, True], "one each, a's and b's"
    template = get(cluster, namespace, "deployment/web")["spec"]["template"]["metadata"]["annotations"]
    assert template["maintenance.ops.dev/occurrence-window"] == "MaintenanceWindow/b"


def test_the_database_status_and_the_cli_name_the_same_window(
    crds: LocalCluster, namespace: str, operator: OperatorProcess, snapshot_stack: SnapshotStack
) -> None:
    cluster = crds
    # `frozen` comes first but is suspended; `later` is not. Both must name the same one.
    frozen = window("frozen", SELECT_DB, schedule=JANUARY_3, suspend=True)
    later = window("later", SELECT_DB, schedule=JANUARY_4)
    apply(cluster, namespace, database("orders"), frozen, later)
    eventually(lambda: ready(cluster, namespace, "orders", "16.4"), timeout=90, what="ready database")
    cluster.kubectl("annotate", "mdb", "orders", "-n", namespace, "maintenance.ops.dev/required=database-security")

    def status_window() -> str | None:
        entries = db_status(cluster, namespace, "orders").get("pendingMaintenance") or []
        return entries[0].get("window") if entries else None

    in_status = eventually(status_window, what="the database status names a window")
    [row] = plugin_json(cluster, "dbs", "-n", namespace)["items"]
    assert row["window"] == in_status, (row, in_status)
    assert in_status == "frozen", "a suspended window keeps its targets"
    eventually(
        lambda: handled_elsewhere(cluster, namespace, "later") == [("orders", "frozen")],
        what="later lists the database's StatefulSet as handled by frozen",
    )
