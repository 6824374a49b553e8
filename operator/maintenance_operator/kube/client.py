"""The one async HTTP client every API call of the operator goes through.

aiohttp (already kopf's transport) instead of the official client: no thread pool, no model deserialization,
and many concurrent requests on one connection pool, which the restart and snapshot latency targets need.
"""

import json
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
from prometheus_client import Counter

from maintenance_operator.kube.credentials import Credentials

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON = "application/json"

API_REQUESTS = Counter(
    "maintenance_operator_api_requests_total",
    "API requests sent by the operator's own client (watches are kopf's and not counted), by verb.",
    ("verb",),
)


class ApiError(Exception):
    """A non-2xx answer, with the API server's own message."""

    def __init__(self, status: int, method: str, path: str, message: str, reason: str = "") -> None:
        super().__init__(f"{method} {path}: {status} {reason}: {message}".strip())
        self.status = status
        self.reason = reason
        self.message = message


def _ssl_context(creds: Credentials) -> ssl.SSLContext | bool:
    if creds.insecure:
        return False
    context = ssl.create_default_context(cafile=creds.ca_path)
    if creds.cert_path and creds.key_path:
        context.load_cert_chain(creds.cert_path, creds.key_path)
    return context


class KubeClient:
    """Counts requests by verb (API_REQUESTS on /metrics), so benchmarks can tell what an occurrence cost."""

    def __init__(self, creds: Credentials, *, max_connections: int = 100) -> None:
        self.creds = creds
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Accept": JSON, "User-Agent": "maintenance-operator"}
            if self.creds.token:
                headers["Authorization"] = f"Bearer {self.creds.token}"
            connector = aiohttp.TCPConnector(ssl=_ssl_context(self.creds), limit=self._max_connections)
            self._session = aiohttp.ClientSession(
                base_url=self.creds.server.rstrip("/") + "/",
                headers=headers,
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=60),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = JSON,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        API_REQUESTS.labels(method).inc()
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if data is not None else None
        async with self._open().request(
            method, path.lstrip("/"), data=data, headers=headers, params=params
        ) as response:
            text = await response.text()
            payload: Any = json.loads(text) if text and text.lstrip().startswith("{") else {}
            if response.status >= 400:
                raise ApiError(
                    response.status, method, path, payload.get("message", text[:200]), payload.get("reason", "")
                )
            return payload if isinstance(payload, dict) else {}
