"""An in-memory API server behind the operator's real `KubeClient` (only its transport is replaced).

Collections are keyed by their REST path; objects get uids and increasing resourceVersions; PUT checks the
resourceVersion (409 on a stale one); DELETE removes at once (no finalizers) and tells the watch; LISTs honour
`limit`/`continue`; watches read scripted events from a queue, so a test can send bookmarks, 410 Gone or a broken
connection exactly when it wants. Every request is kept whole (`sent`), and any one can be answered with a scripted
status (`answers`), as a PodDisruptionBudget answers 429.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from maintenance_operator.kube.client import ApiError, KubeClient, _api_error
from maintenance_operator.kube.credentials import Credentials

_REASONS = {404: "NotFound", 409: "AlreadyExists", 429: "TooManyRequests", 500: "InternalError"}


@dataclass(frozen=True)
class Sent:
    """One request as the server received it: the body before serialization, so a test can compare it exactly."""

    method: str
    path: str
    body: Any
    content_type: str
    params: dict[str, str] | None


@dataclass
class FakeState:
    collections: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # path -> name -> object
    revision: int = 100
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) that reached the "server"
    watch_queues: dict[str, asyncio.Queue[dict[str, Any] | Exception | None]] = field(default_factory=dict)
    not_served: set[str] = field(default_factory=set)
    expire_continue: bool = False  # answer 410 to the next page request that carries a continue token
    list_failures: int = 0  # answer the next N LISTs with 500
    failing_methods: set[str] = field(default_factory=set)  # answer every request of these methods with 500
    forbidden: set[tuple[str, str]] = field(default_factory=set)  # (method, path prefix) answered 403, as RBAC does
    answers: dict[tuple[str, str], int] = field(default_factory=dict)  # (method, exact path) answered with a status
    sent: list[Sent] = field(default_factory=list)

    def next_rv(self) -> str:
        self.revision += 1
        return str(self.revision)

    def put(self, collection: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{meta['name']}")
        meta["resourceVersion"] = self.next_rv()
        self.collections.setdefault(collection, {})[meta["name"]] = obj
        return obj

    def queue(self, collection: str) -> asyncio.Queue[dict[str, Any] | Exception | None]:
        return self.watch_queues.setdefault(collection, asyncio.Queue())

    def emit(self, collection: str, event_type: str, obj: dict[str, Any]) -> None:
        """Change the store the way the event says and deliver it to the collection's watch."""
        if event_type == "DELETED":
            self.collections.get(collection, {}).pop(obj["metadata"]["name"], None)
            obj["metadata"]["resourceVersion"] = self.next_rv()
        else:
            self.put(collection, obj)
        self.queue(collection).put_nowait({"type": event_type, "object": copy.deepcopy(obj)})


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """JSON merge patch (RFC 7386), which is also what a strategic merge does to maps."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


class FakeKubeClient(KubeClient):
    def __init__(self, state: FakeState | None = None, creds: Credentials | None = None) -> None:
        super().__init__(creds or Credentials(server="https://fake.invalid"))
        self.state = state or FakeState()

    async def _send(
        self,
        method: str,
        path: str,
        body: Any,
        content_type: str,
        params: Mapping[str, str] | None,
        accept: str | None,
    ) -> dict[str, Any]:
        state = self.state
        state.requests.append((method, path))
        state.sent.append(Sent(method, path, copy.deepcopy(body), content_type, dict(params) if params else None))
        if (method, path) in state.answers:
            code = state.answers[(method, path)]
            raise ApiError(code, method, path, f"answered {code} by the test", _REASONS.get(code, ""))
        if method in state.failing_methods:
            raise ApiError(500, method, path, "the API server is unwell", "InternalError")
        if any(method == m and path.startswith(prefix) for m, prefix in state.forbidden):
            status = {"kind": "Status", "reason": "Forbidden", "message": f"{method} {path} is forbidden"}
            raise _api_error(403, method, path, "", status)
        if method == "PATCH" and path.endswith("/status"):  # the subresource patches the object itself
            path = path.removesuffix("/status")
        collection, _, name = path.rpartition("/")
        if method == "GET" and path in state.not_served:
            raise ApiError(404, method, path, "the server could not find the requested resource", "NotFound")
        if method == "GET" and params is not None and "limit" in params:
            return self._list(path, params)
        objects = state.collections.setdefault(collection, {})
        if method == "GET":
            if name not in objects:
                raise ApiError(404, method, path, f"{name} not found", "NotFound")
            return copy.deepcopy(objects[name])
        if method == "POST":
            new_name = body["metadata"]["name"]
            if new_name in state.collections.setdefault(path, {}):
                raise ApiError(409, method, path, f"{new_name} already exists", "AlreadyExists")
            return copy.deepcopy(state.put(path, copy.deepcopy(body)))
        if method == "PATCH":
            current = objects.get(name)
            if current is None:
                raise ApiError(404, method, path, f"{name} not found", "NotFound")
            patched = _merge(copy.deepcopy(current), body)
            state.put(collection, patched)
            state.queue(collection).put_nowait({"type": "MODIFIED", "object": copy.deepcopy(patched)})
            return copy.deepcopy(patched)
        if method == "PUT":
            current = objects.get(name)
            if current is None:
                raise ApiError(404, method, path, f"{name} not found", "NotFound")
            if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                raise ApiError(409, method, path, "the object has been modified", "Conflict")
            return copy.deepcopy(state.put(collection, copy.deepcopy(body)))
        if method == "DELETE":
            current = objects.pop(name, None)
            if current is None:
                raise ApiError(404, method, path, f"{name} not found", "NotFound")
            current["metadata"]["resourceVersion"] = state.next_rv()
            state.queue(collection).put_nowait({"type": "DELETED", "object": copy.deepcopy(current)})
            return copy.deepcopy(current)
        raise AssertionError(f"the fake API does not serve {method} {path}")

    def _list(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        state = self.state
        if state.list_failures:
            state.list_failures -= 1
            raise ApiError(500, "GET", path, "etcd is unhappy", "InternalError")
        start = int(params.get("continue", "0"))
        if start and state.expire_continue:
            state.expire_continue = False
            raise ApiError(410, "GET", path, "the continue token has expired", "Expired")
        limit = int(params["limit"])
        items = sorted(state.collections.get(path, {}).values(), key=lambda o: o["metadata"]["name"])
        page = items[start : start + limit]
        meta: dict[str, Any] = {"resourceVersion": str(state.revision)}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
        return {"metadata": meta, "items": copy.deepcopy(page)}

    async def watch(
        self, path: str, params: Mapping[str, str], *, accept: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        self.state.requests.append(("WATCH", f"{path}?resourceVersion={params.get('resourceVersion')}"))
        queue = self.state.queue(path)
        while True:
            item = await queue.get()
            if item is None:  # the server ended the watch (its timeout)
                return
            if isinstance(item, Exception):
                raise item
            yield item
