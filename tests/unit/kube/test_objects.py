"""kube.objects: server-side apply, create-once, reads by name and paged LISTs, as the requests they send."""

import pytest

from maintenance_operator.kube import objects
from maintenance_operator.kube.client import ApiError
from tests.unit.kube.fake_api import FakeKubeClient, FakeState, Sent

SERVICES = "/api/v1/namespaces/shop/services"


def service(name: str = "orders") -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"}, "spec": {}}


async def test_apply_is_a_forced_server_side_apply_with_the_operators_field_manager(
    client: FakeKubeClient, state: FakeState
) -> None:
    state.put(SERVICES, service())
    manifest = {**service(), "spec": {"ports": [{"port": 5432}]}}
    written = await objects.apply(client, manifest)
    assert state.sent == [
        Sent(
            "PATCH",
            f"{SERVICES}/orders",
            manifest,
            "application/apply-patch+yaml",
            {"fieldManager": "maintenance-operator", "force": "true"},
        )
    ]
    assert written["spec"] == {"ports": [{"port": 5432}]}


async def test_create_once_posts_to_the_collection_and_leaves_an_existing_object_alone(
    client: FakeKubeClient, state: FakeState
) -> None:
    assert await objects.create_once(client, service()) is True
    state.collections[SERVICES]["orders"]["spec"] = {"kept": True}
    assert await objects.create_once(client, service()) is False  # 409
    assert state.collections[SERVICES]["orders"]["spec"] == {"kept": True}
    assert [(s.method, s.path, s.params) for s in state.sent] == [
        ("POST", SERVICES, {"fieldManager": "maintenance-operator"}),
        ("POST", SERVICES, {"fieldManager": "maintenance-operator"}),
    ]


async def test_create_once_raises_any_other_refusal(client: FakeKubeClient, state: FakeState) -> None:
    state.answers[("POST", SERVICES)] = 500
    with pytest.raises(ApiError) as info:
        await objects.create_once(client, service())
    assert info.value.status == 500


async def test_get_returns_the_object_or_none_when_it_does_not_exist(client: FakeKubeClient, state: FakeState) -> None:
    state.put(SERVICES, service())
    found = await objects.get(client, f"{SERVICES}/orders")
    assert found is not None and found["metadata"]["name"] == "orders"
    assert await objects.get(client, f"{SERVICES}/gone") is None
    state.answers[("GET", f"{SERVICES}/orders")] = 500
    with pytest.raises(ApiError):
        await objects.get(client, f"{SERVICES}/orders")


async def test_merge_is_a_json_merge_patch(client: FakeKubeClient, state: FakeState) -> None:
    state.put(SERVICES, service())
    await objects.merge(client, f"{SERVICES}/orders", {"metadata": {"labels": {"a": "b"}}})
    assert state.sent[-1] == Sent(
        "PATCH", f"{SERVICES}/orders", {"metadata": {"labels": {"a": "b"}}}, "application/merge-patch+json", None
    )


async def test_list_items_follows_continue_tokens_and_keeps_the_selector_on_every_page(
    client: FakeKubeClient, state: FakeState
) -> None:
    for name in "abcde":
        state.put(SERVICES, service(name))
    items = await objects.list_items(client, SERVICES, "app=db", page=2)
    assert [i["metadata"]["name"] for i in items] == list("abcde")
    assert [s.params for s in state.sent] == [
        {"limit": "2", "labelSelector": "app=db"},
        {"limit": "2", "labelSelector": "app=db", "continue": "2"},
        {"limit": "2", "labelSelector": "app=db", "continue": "4"},
    ]


async def test_list_items_without_a_selector_sends_none(client: FakeKubeClient, state: FakeState) -> None:
    assert await objects.list_items(client, SERVICES) == []
    assert state.sent == [Sent("GET", SERVICES, None, "application/json", {"limit": "500"})]
