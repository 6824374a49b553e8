"""Template revisions from ReplicaSet and ControllerRevision metadata: only those a workload controls."""

from datetime import UTC, datetime
from typing import Any

import pytest

from maintenance_operator.planning.targets.revisions import TemplateRevision, template_revision

CREATED = "2026-12-01T10:00:00Z"
AT = datetime(2026, 12, 1, 10, tzinfo=UTC)


def meta(owner_kind: str = "Deployment", *, controller: bool = True, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "web-6d4b9c",
        "creationTimestamp": CREATED,
        "annotations": {"deployment.kubernetes.io/revision": "3"},
        "ownerReferences": [{"kind": owner_kind, "name": "web", "uid": "uid-web", "controller": controller}],
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("kind", "metadata", "expected"),
    [
        pytest.param("ReplicaSet", meta(), TemplateRevision("uid-web", "3", AT), id="replicaset-by-revision-number"),
        pytest.param(
            "ControllerRevision",
            meta("StatefulSet", name="db-7f9d"),
            TemplateRevision("uid-web", "db-7f9d", AT),
            id="controllerrevision-by-name",
        ),
        pytest.param("ControllerRevision", meta("DaemonSet"), None, id="daemonset-revision-ignored"),
        pytest.param("ReplicaSet", meta(controller=False), None, id="not-the-controller"),
        pytest.param("ReplicaSet", meta(ownerReferences=[]), None, id="orphan"),
        pytest.param("ReplicaSet", meta(annotations={}), None, id="no-revision-annotation"),
        pytest.param("ReplicaSet", meta(creationTimestamp="yesterday"), None, id="unreadable-time"),
        pytest.param("ReplicaSet", meta(ownerReferences=["junk"]), None, id="malformed-owner"),
    ],
)
def test_template_revision(kind: str, metadata: dict[str, Any], expected: TemplateRevision | None) -> None:
    assert template_revision(kind, metadata) == expected
