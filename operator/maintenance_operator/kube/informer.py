"""List+watch of one collection into a store of reduced values, with a `synced` signal after the first LIST.

Each object is reduced the moment it arrives (the caller's `reduce`), so the process never holds more than one
LIST page of full objects. The LIST is chunked (`limit`/`continue`); the watch resumes from the last
resourceVersion (bookmarks keep it fresh), relists on 410 Gone, and backs off on any other failure: a watch is
never silently dropped. An object that cannot be reduced is logged once and skipped.
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from maintenance_operator.kube.client import ApiError, KubeClient

log = logging.getLogger(__name__)

T = TypeVar("T")

METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
NOT_SERVED_RETRY = 30.0  # seconds between LISTs of a collection the API server does not serve (CRDs not installed)


@dataclass(frozen=True, slots=True)
class Collection:
    path: str  # e.g. /apis/apps/v1/deployments or /apis/apps/v1/namespaces/shop/deployments
    metadata_only: bool = False
    label_selector: str | None = None
    # What the operator can do without: a 403 on its LIST makes it an empty, synced collection (asked again every
    # NOT_SERVED_RETRY), instead of a cache that never syncs.
    optional: bool = False


class Expired(Exception):
    """The resourceVersion is too old to resume from (410 Gone): relist."""


class Informer(Generic[T]):
    """`on_change(old, new)` is called for every change of the store, also during the first LIST."""

    def __init__(
        self,
        client: KubeClient,
        collection: Collection,
        reduce: Callable[[Mapping[str, Any]], T | None],
        on_change: Callable[[T | None, T | None], None],
        *,
        page_size: int = 500,
        watch_seconds: int = 300,
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.client = client
        self.collection = collection
        self._reduce = reduce
        self._on_change = on_change
        self.page_size = page_size
        self.watch_seconds = watch_seconds
        self._backoff = backoff
        self.items: dict[str, T] = {}  # by uid
        self.synced = asyncio.Event()
        self.served = True
        self.resource_version: str | None = None
        self.relists = 0
        self._unreducible: set[str] = set()  # uids already logged, of objects still listed

    async def run(self) -> None:
        delay = self._backoff[0]
        while True:
            try:
                if self.resource_version is None:
                    await self._list()
                if not self.served:
                    await asyncio.sleep(NOT_SERVED_RETRY)
                    self.resource_version = None
                    continue
                await self._watch()
                delay = self._backoff[0]
            except asyncio.CancelledError:
                raise
            except Expired:
                log.info("%s: resourceVersion expired; relisting", self.collection.path)
                self.resource_version = None
            except Exception as err:
                log.warning("%s: list/watch failed (%s); retrying in %.1f s", self.collection.path, err, delay)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._backoff[1])

    async def _list(self) -> None:
        """A consistent, chunked LIST; the store becomes exactly what it returned."""
        seen: dict[str, T] = {}
        listed: set[str] = set()
        params = {"limit": str(self.page_size)}
        if self.collection.label_selector:
            params["labelSelector"] = self.collection.label_selector
        accept = METADATA_LIST if self.collection.metadata_only else None
        while True:
            try:
                page = await self.client.request("GET", self.collection.path, params=params, accept=accept)
            except ApiError as err:
                if err.status == 404 or (err.status == 403 and self.collection.optional):
                    self._not_served(err.status)
                    return
                if err.status == 410:  # the continue token expired: start over
                    raise Expired from err
                raise
            for obj in page.get("items") or ():
                uid, value = self._reduced(obj)
                if uid is not None:
                    listed.add(uid)
                if uid is not None and value is not None:
                    seen[uid] = value
            meta = page.get("metadata") or {}
            if not meta.get("continue"):
                break
            params["continue"] = str(meta["continue"])
        self.served = True
        self._unreducible &= listed  # those deleted while no watch ran are forgotten too
        old = self.items
        self.items = seen
        for uid in old.keys() - seen.keys():
            self._on_change(old[uid], None)
        for uid, value in seen.items():
            if old.get(uid) != value:
                self._on_change(old.get(uid), value)
        self.resource_version = str(meta.get("resourceVersion") or "") or None
        if self.resource_version is None:
            raise RuntimeError("the LIST answer has no resourceVersion")
        self.relists += 1
        self.synced.set()

    def _not_served(self, status: int = 404) -> None:
        if self.served:
            why = "is not served" if status == 404 else "may not be listed (403)"
            log.info("%s %s; checking again every %.0f s", self.collection.path, why, NOT_SERVED_RETRY)
        self.served = False
        for value in self.items.values():
            self._on_change(value, None)
        self.items = {}
        self.synced.set()  # nothing to wait for: an empty collection

    async def _watch(self) -> None:
        assert self.resource_version is not None
        params = {
            "watch": "1",
            "resourceVersion": self.resource_version,
            "allowWatchBookmarks": "true",
            # Spread the watches' ends so that many informers do not reconnect in the same instant.
            "timeoutSeconds": str(int(self.watch_seconds * random.uniform(0.8, 1.0))),
        }
        if self.collection.label_selector:
            params["labelSelector"] = self.collection.label_selector
        accept = METADATA_ONLY if self.collection.metadata_only else None
        try:
            async for event in self.client.watch(self.collection.path, params, accept=accept):
                self._apply(event)
        except ApiError as err:
            if err.status == 410:
                raise Expired from err
            raise

    def _apply(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            code = obj.get("code") if isinstance(obj, Mapping) else None
            if code == 410:
                raise Expired
            raise RuntimeError(f"watch error: {obj.get('message') if isinstance(obj, Mapping) else obj}")
        meta = obj.get("metadata") or {}
        if meta.get("resourceVersion"):
            self.resource_version = str(meta["resourceVersion"])
        if kind == "BOOKMARK":
            return
        uid = meta.get("uid")
        if not uid:
            return
        old = self.items.get(uid)
        if kind == "DELETED":
            self._unreducible.discard(uid)
            if old is not None:
                del self.items[uid]
                self._on_change(old, None)
            return
        _, value = self._reduced(obj)
        if value is None:
            if old is not None:  # it no longer qualifies (e.g. relabelled out of the selector's reach)
                del self.items[uid]
                self._on_change(old, None)
            return
        self.items[uid] = value
        if old != value:
            self._on_change(old, value)

    def _reduced(self, obj: Mapping[str, Any]) -> tuple[str | None, T | None]:
        meta = obj.get("metadata") or {}
        uid = meta.get("uid")
        try:
            return uid, self._reduce(obj)
        except Exception as err:
            if uid not in self._unreducible:
                self._unreducible.add(str(uid))
                log.warning(
                    "%s: skipping %s/%s, which cannot be read (%s: %s)",
                    self.collection.path,
                    meta.get("namespace"),
                    meta.get("name"),
                    type(err).__name__,
                    err,
                )
            return uid, None


async def cancel(tasks: list["asyncio.Task[None]"]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
