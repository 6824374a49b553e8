"""`kubectl maintenance announce|announcements|apps` with Maintenance objects on the real local cluster.

No operator runs: the API server's schema and CEL rules judge what `announce` creates, and `apps` derives what an
announcement covers itself, as the operator does. The Maintenance is cluster-scoped, so it selects only this test's
namespace (by the `kubernetes.io/metadata.name` label every namespace has) and is deleted after.
"""

from __future__ import annotations

import pytest

from tests.cluster.cluster import LocalCluster
from tests.integration.test_cli_support import SINCE, apply, deployment, install_crds, plugin, plugin_json

pytestmark = pytest.mark.integration

DESCRIPTION = "Base image openssl fix: restart to pick it up"
DEADLINE = "2026-02-01T00:00:00Z"


def test_announce_apps_and_announcements(cluster: LocalCluster, namespace: str) -> None:
    install_crds(cluster)
    apply(cluster, namespace, deployment("web", labels={"tier": "web"}), deployment("batch", labels={"tier": "batch"}))
    name, refused = namespace, f"{namespace}-refused"
    try:
        created = plugin(
            cluster,
            "announce",
            name,
            "--reason",
            "security",
            "--description",
            DESCRIPTION,
            "--namespaces",
            f"kubernetes.io/metadata.name={namespace}",
            "-l",
            "tier in (web,api)",
            "--kind",
            "deploy",
            "--since",
            SINCE,
            "--deadline",
            DEADLINE,
        )
        assert created.stdout.startswith(f"maintenance/{name} created: security, required since {SINCE}")
        obj = cluster.kubectl_json("get", "mnt", name)
        assert {k: v for k, v in obj["spec"]["targets"].items() if v} == {  # the schema's defaults fill the rest
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            "selector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api", "web"]}]},
            "kinds": ["Deployment"],
        }

        # A deadline before --since: the CRD's CEL rule refuses it, in its own words.
        result = plugin(
            cluster,
            "announce",
            refused,
            "--reason",
            "security",
            "--description",
            "x",
            "--since",
            DEADLINE,
            "--deadline",
            SINCE,
            check=False,
        )
        assert result.returncode == 1
        assert result.stderr.startswith(f"error: the API server refused Maintenance {refused}: ")
        assert "deadline must be after requiredSince" in result.stderr
        assert cluster.kubectl("get", "mnt", refused, check=False).returncode != 0

        # apps: the covered Deployment is pending with the announcement's reason, since, name and description.
        rows = {row["name"]: row for row in plugin_json(cluster, "apps", "-n", namespace)["items"]}
        assert sorted(rows) == ["web"]
        web = rows["web"]
        assert (web["reason"], web["since"]) == ("security", SINCE)
        assert web["announcements"] == [{"name": name, "description": DESCRIPTION}]

        # announcements: what `kubectl get mnt` holds (no operator: nothing counted yet).
        listed = {i["name"]: i for i in plugin_json(cluster, "announcements")["items"]}
        mine = listed[name]
        assert (mine["reason"], mine["description"], mine["deadline"]) == (
            obj["spec"]["reason"],
            obj["spec"]["description"],
            obj["spec"]["deadline"],
        )
        assert (mine["targets"], mine["requiredSince"]) == (obj["spec"]["targets"], obj["spec"]["requiredSince"])
        assert mine["total"] == (obj.get("status") or {}).get("total")
        one = plugin_json(cluster, "announcements", name)
        assert (one["name"], one["left"]) == (name, [])
    finally:
        cluster.kubectl("delete", "mnt", name, refused, "--ignore-not-found")
