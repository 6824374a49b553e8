"""`kubectl maintenance nodes`: each announced node from the Maintenances' status, and what moves off it next."""

from maintenance_operator.api.rest import MAINTENANCES
from maintenance_operator.cli import nodes
from tests.unit.cli.fakes import FakeApi, announcement

NODE_STATUS = {
    "nodes": [
        {
            "name": "n1",
            "cordoned": True,
            "podsLeft": 3,
            "unmanagedPods": 1,
            "workloadsLeft": [
                {
                    "namespace": "b",
                    "target": "deployment/late",
                    "pods": 1,
                    "window": "w2",
                    "windowStart": "2026-12-09T14:00:00Z",
                },
                {
                    "namespace": "a",
                    "target": "deployment/web",
                    "pods": 2,
                    "window": "w1",
                    "windowStart": "2026-12-02T14:00:00Z",
                },
            ],
        }
    ]
}


def test_each_announced_node_and_its_next_move() -> None:
    api = FakeApi()
    api.add(
        MAINTENANCES,
        announcement("rack-7", "hardware", targets={"nodes": {"matchLabels": {"rack": "7"}}}, status=NODE_STATUS),
    )
    api.add(MAINTENANCES, announcement("cve", status={"total": 3}))  # no targets.nodes: no row
    [row] = nodes.collect(api)
    assert (row["node"], row["announcement"], row["cordoned"], row["podsLeft"]) == ("n1", "rack-7", True, 3)
    table = nodes.render_table([row])
    assert "a/deployment/web in w1 at 2026-12-02T14:00:00Z" in table, "the earliest window moves pods off next"


def test_a_drained_node_has_nothing_to_move() -> None:
    drained = {"nodes": [{"name": "n2", "cordoned": True, "drained": "2026-12-01T12:00:00Z", "podsLeft": 0}]}
    api = FakeApi()
    api.add(MAINTENANCES, announcement("rack-8", "hardware", targets={"nodes": {}}, status=drained))
    [row] = nodes.collect(api)
    assert row["drained"] == "2026-12-01T12:00:00Z" and nodes.render_table([row]).rstrip().endswith("-")
