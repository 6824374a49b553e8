"""Advance notices end to end: the real operator, the real API server, a webhook receiver on 127.0.0.1."""

from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster
from tests.integration.operator_process import OperatorProcess
from tests.integration.polling import eventually
from tests.integration.test_maintenance_window import SELECT, WEB, announce, status_of
from tests.integration.workloads import apply, deployment, events_for, get, wait_rolled_out, window

pytestmark = pytest.mark.integration

NOTICE_SENT = "maintenance.ops.dev/notice-sent"


def annotations(cluster: LocalCluster, namespace: str, ref: str) -> dict[str, str]:
    found: dict[str, str] = get(cluster, namespace, ref)["metadata"].get("annotations") or {}
    return found


def passed_at(cluster: LocalCluster, namespace: str, name: str, generation: int) -> dict[str, Any]:
    """The window's status once a pass of this generation wrote it (its notice step runs before)."""

    def written() -> dict[str, Any] | None:
        status = status_of(cluster, namespace, name)
        return status if status.get("observedGeneration") == generation else None

    return eventually(written, what=f"a pass of generation {generation}")


def test_a_suspended_window_sends_no_notice_until_it_is_unsuspended(
    crds: LocalCluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = crds
    apply(cluster, namespace, deployment("web", WEB, replicas=2))
    wait_rolled_out(cluster, namespace, "deployment/web")
    announce(cluster, namespace, "deployment/web")
    apply(cluster, namespace, window("weekly", SELECT, noticeBefore="8d", suspend=True))
    passed_at(cluster, namespace, "weekly", 1)
    assert NOTICE_SENT not in annotations(cluster, namespace, "deployment/web")
    sent = f'maintenance_notices_total{{namespace="{namespace}",window="weekly"}}'
    assert sent not in operator.metrics()
    assert events_for(cluster, namespace, "web", "MaintenanceScheduled") == []

    apply(cluster, namespace, window("weekly", SELECT, noticeBefore="8d", suspend=False))
    occurrence = passed_at(cluster, namespace, "weekly", 2)["nextOccurrences"][0]["id"]
    assert annotations(cluster, namespace, "deployment/web")[NOTICE_SENT].startswith(occurrence)
    notices = eventually(lambda: events_for(cluster, namespace, "web", "MaintenanceScheduled"), what="the notice")
    assert occurrence in notices[0]["message"]
