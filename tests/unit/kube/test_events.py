"""kube.events: one Event per key (409 means already told), with the body kubectl and dashboards read."""

from datetime import UTC, datetime

import pytest

from maintenance_operator.kube import events
from maintenance_operator.kube.client import ApiError
from tests.unit.kube.fake_api import FakeKubeClient, FakeState

NOW = datetime(2026, 12, 1, 14, 0, 5, tzinfo=UTC)
EVENTS = "/api/v1/namespaces/shop/events"
INVOLVED = events.ref("apps/v1", "Deployment", "shop", "web", "uid-web")


async def test_emit_posts_the_event_to_the_objects_namespace(client: FakeKubeClient, state: FakeState) -> None:
    assert await events.emit(client, INVOLVED, "Restarted", "restarted by weekly", NOW, key="weekly/1") is True
    [sent] = state.sent
    assert (sent.method, sent.path) == ("POST", EVENTS)
    assert sent.body == {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.2c071cf896bd", "namespace": "shop"},  # sha1 of the key: the same key, one name
        "involvedObject": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "namespace": "shop",
            "name": "web",
            "uid": "uid-web",
        },
        "reason": "Restarted",
        "message": "restarted by weekly",
        "type": "Normal",
        "source": {"component": "maintenance-operator"},
        "reportingComponent": "maintenance-operator",
        "reportingInstance": "maintenance-operator",
        "firstTimestamp": "2026-12-01T14:00:05Z",
        "lastTimestamp": "2026-12-01T14:00:05Z",
        "count": 1,
    }


async def test_the_same_key_is_told_once(client: FakeKubeClient, state: FakeState) -> None:
    assert await events.emit(client, INVOLVED, "Notice", "soon", NOW, key="weekly/1") is True
    assert await events.emit(client, INVOLVED, "Notice", "soon, again", NOW, key="weekly/1") is False
    assert await events.emit(client, INVOLVED, "Notice", "next week", NOW, key="weekly/2") is True
    assert [e["message"] for e in state.collections[EVENTS].values()] == ["soon", "next week"]


async def test_a_warning_and_a_long_message(client: FakeKubeClient, state: FakeState) -> None:
    await events.emit(client, INVOLVED, "Failed", "x" * 2000, NOW, warning=True)
    body = state.sent[0].body
    assert (body["type"], len(body["message"])) == ("Warning", 1024)


async def test_other_failures_are_raised(client: FakeKubeClient, state: FakeState) -> None:
    state.answers[("POST", EVENTS)] = 500
    with pytest.raises(ApiError):
        await events.emit(client, INVOLVED, "Notice", "soon", NOW)


def test_ref_leaves_out_an_unknown_uid() -> None:
    assert events.ref("v1", "Pod", "shop", "db-0") == {
        "apiVersion": "v1",
        "kind": "Pod",
        "namespace": "shop",
        "name": "db-0",
    }
