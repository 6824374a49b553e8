"""The one async HTTP client every API call of the operator goes through.

aiohttp (already kopf's transport) instead of the official client: no thread pool, no model deserialization,
and many concurrent requests on one connection pool, which the restart and snapshot latency targets need.
"""

import json
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
from prometheus_client import Counter

from maintenance_operator.api.rest import JSON
from maintenance_operator.kube.credentials import Credentials, TokenFile
from maintenance_operator.kube.permissions import Permission, needed

API_REQUESTS = Counter(
    "maintenance_operator_api_requests_total",
    "API requests sent by the operator's own client, by verb (LIST and WATCH are the workload cache's; the "
    "watches of the operator's own resources are kopf's and not counted).",
    ("verb",),
)
WRITES_REFUSED = Counter(
    "maintenance_operator_writes_refused_total",
    "Writes the operator refused to send because it was not, or no longer surely, the leader.",
)
MAX_WATCH_LINE = 64 * 1024 * 1024  # one watch event is one object; the API server's own limit is far below this


class ApiError(Exception):
    """A non-2xx answer, with the API server's own message."""

    def __init__(self, status: int, method: str, path: str, message: str, reason: str = "") -> None:
        super().__init__(f"{method} {path}: {status} {reason}: {message}".strip())
        self.status = status
        self.reason = reason
        self.message = message


class Forbidden(ApiError):
    """A 403: `message` says which permission the operator's identity lacks (from the request it made), so the
    log, the Event and the resource's condition all name the verb and resource; the server's own text is kept."""

    def __init__(self, method: str, path: str, server_message: str, reason: str = "") -> None:
        self.permission: Permission = needed(method, path)
        super().__init__(403, method, path, self.permission.denied(), reason)
        self.server_message = server_message


class NotLeaderError(Exception):
    """A write refused by the leader fence: this replica may not write (standby, or its Lease may have expired)."""


def _api_error(status: int, method: str, path: str, text: str, payload: Any) -> ApiError:
    fields = payload if isinstance(payload, dict) else {}
    message, reason = fields.get("message", text[:200]), fields.get("reason", "")
    if status == 403:
        return Forbidden(method, path, message, reason)
    return ApiError(status, method, path, message, reason)


def _ssl_context(creds: Credentials) -> ssl.SSLContext | bool:
    if creds.insecure:
        return False
    context = ssl.create_default_context(cafile=creds.ca_path)
    if creds.cert_path and creds.key_path:
        context.load_cert_chain(creds.cert_path, creds.key_path)
    return context


class KubeClient:
    """Counts requests by verb (API_REQUESTS on /metrics), so benchmarks can tell what an occurrence cost.

    A token from a file is re-read when the file changes (one stat per request) and, after a 401, read again and
    the request sent once more with it, so a rotated or revoked token never needs a restart.
    """

    def __init__(self, creds: Credentials, *, max_connections: int = 100, user_agent: str = "maintenance-operator"):
        self.creds = creds
        self._max_connections = max_connections
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._token_file = TokenFile(creds.token_path, creds.token) if creds.token_path else None
        # Set by leader election: True while this replica may write. Checked right before every write is sent,
        # so a process frozen past its Lease (SIGSTOP, a long GC pause) sends nothing once it runs again.
        self.may_write: Callable[[], bool] | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Accept": JSON, "User-Agent": self._user_agent}
            connector = aiohttp.TCPConnector(ssl=_ssl_context(self.creds), limit=self._max_connections)
            self._session = aiohttp.ClientSession(
                base_url=self.creds.server.rstrip("/") + "/",
                headers=headers,
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=60),
            )
        return self._session

    def token(self) -> str | None:
        return self._token_file.current() if self._token_file is not None else self.creds.token

    def _auth(self) -> dict[str, str]:
        token = self.token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _new_token_after_401(self, used: str | None) -> bool:
        """Re-read the token file; True when it holds another token than the rejected one (worth one retry)."""
        return self._token_file is not None and self._token_file.reread() != used

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
        accept: str | None = None,
        fenced: bool = True,
    ) -> dict[str, Any]:
        """One request; `fenced=False` only for the Lease itself (renewing it is how a leader stays one)."""
        if method != "GET" and fenced and self.may_write is not None and not self.may_write():
            WRITES_REFUSED.inc()
            raise NotLeaderError(f"{method} {path}: refused, this replica is not the leader")
        verb = "LIST" if method == "GET" and params and "limit" in params else method
        API_REQUESTS.labels(verb).inc()
        used = self.token()
        try:
            return await self._send(method, path, body, content_type, params, accept)
        except ApiError as err:
            if err.status != 401 or not self._new_token_after_401(used):
                raise
        API_REQUESTS.labels(verb).inc()
        return await self._send(method, path, body, content_type, params, accept)

    async def _send(
        self,
        method: str,
        path: str,
        body: Any,
        content_type: str,
        params: Mapping[str, str] | None,
        accept: str | None,
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body)
        headers = self._auth()
        if data is not None:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        async with self._open().request(
            method, path.lstrip("/"), data=data, headers=headers, params=params
        ) as response:
            text = await response.text()
            payload: Any = json.loads(text) if text and text.lstrip().startswith("{") else {}
            if response.status >= 400:
                raise _api_error(response.status, method, path, text, payload)
            return payload if isinstance(payload, dict) else {}

    async def watch(
        self, path: str, params: Mapping[str, str], *, accept: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """The events of one watch request, parsed, until the server ends it (its `timeoutSeconds`)."""
        used = self.token()
        try:
            async for event in self._watch(path, params, accept):
                yield event
            return
        except ApiError as err:  # raised before the first event only: `_watch` checks the status first
            if err.status != 401 or not self._new_token_after_401(used):
                raise
        async for event in self._watch(path, params, accept):
            yield event

    async def _watch(self, path: str, params: Mapping[str, str], accept: str | None) -> AsyncIterator[dict[str, Any]]:
        API_REQUESTS.labels("WATCH").inc()
        server_timeout = float(params.get("timeoutSeconds", "300"))
        timeout = aiohttp.ClientTimeout(total=None, connect=30, sock_read=server_timeout + 30)
        headers = self._auth()
        if accept:
            headers["Accept"] = accept
        async with self._open().get(path.lstrip("/"), params=params, headers=headers, timeout=timeout) as response:
            if response.status >= 400:
                text = await response.text()
                payload = json.loads(text) if text.lstrip().startswith("{") else {}
                raise _api_error(response.status, "WATCH", path, text, payload)
            while True:
                line = await response.content.readuntil(b"\n", max_size=MAX_WATCH_LINE)
                if not line:  # the server ended the watch
                    return
                if line.strip():
                    event = json.loads(line)
                    if isinstance(event, dict):
                        yield event
