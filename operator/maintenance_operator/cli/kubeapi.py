"""The plugin's only contact with the API server: a few typed calls returning plain dicts.

The CLI is short-lived, so it uses the synchronous `kubernetes` client with the caller's kubeconfig (`KUBECONFIG`,
`--kubeconfig`, `--context`) and raw REST paths (`api.rest`, the operator's own), which treat built-in kinds and
our CRDs alike. Every failure becomes a `KubeError` whose text is one line a person can act on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import urllib3
from kubernetes import config as _kube_config
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException

from maintenance_operator.api.rest import JSON, NAMESPACES, Resource
from maintenance_operator.cli.errors import CliError

TIMEOUT_SECONDS = 30
PAGE_SIZE = 500
# The client is untyped: calls go through Any so mypy --strict accepts them.
kube_config: Any = _kube_config
_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class KubeError(CliError):
    """A failed API call; `str()` is the one-line message for the user, `status` the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status

    @property
    def forbidden(self) -> bool:
        return self.status == 403


def describe_failure(
    status: int, server_message: str, verb: str, resource: Resource | str, namespace: str | None, name: str | None
) -> str:
    """One line saying what was refused or missing, in kubectl's words."""
    what = resource.name if isinstance(resource, Resource) else resource
    named = f' "{name}"' if name else ""
    where = f' in namespace "{namespace}"' if namespace else ""
    if not namespace and verb == "list" and isinstance(resource, Resource):
        where = " across all namespaces"
    if status == 403:
        return f"forbidden: you may not {verb} {what}{named}{where}"
    if status == 404 and name:
        kind = resource.kind if isinstance(resource, Resource) else what
        return f"not found: {kind}{named}{where}"
    if status == 404:
        return f"not found: the API server does not serve {what} (are the maintenance-operator CRDs installed?)"
    if status == 401:
        return "unauthorized: the API server rejected your credentials (expired token or wrong context?)"
    return f"{verb} {what}{named}{where} failed ({status}): {server_message}"


class Api(Protocol):
    """What the verbs need from the cluster; `Kube` implements it, unit tests fake it."""

    default_namespace: str

    def list_objects(self, resource: Resource, namespace: str | None) -> list[dict[str, Any]]: ...

    def list_namespaces(self) -> list[str]: ...

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]: ...

    def patch(
        self, resource: Resource, namespace: str, name: str, body: Mapping[str, Any], content_type: str
    ) -> dict[str, Any]: ...

    def create(self, resource: Resource, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]: ...


class Kube:
    """The real cluster, reached with the caller's own credentials."""

    def __init__(self, client: Any, default_namespace: str) -> None:
        self._client = client
        self.default_namespace = default_namespace

    def _call(
        self,
        method: str,
        path: str,
        what: tuple[str, Resource | str, str | None, str | None],
        query: list[tuple[str, str]] | None = None,
        body: Mapping[str, Any] | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Accept": JSON}
        if content_type:
            headers["Content-Type"] = content_type
        request = self._client.param_serialize(
            method, path, query_params=query or None, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        host = self._client.configuration.host
        try:
            response = self._client.call_api(*request, _request_timeout=TIMEOUT_SECONDS)
            data = response.read()
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as err:
            reason = getattr(err, "reason", None) or err
            raise KubeError(f"cannot reach the API server at {host}: {_first_line(str(reason))}") from None
        if not 200 <= response.status <= 299:
            verb, resource, namespace, name = what
            message = _server_message(data) or str(response.reason)
            raise KubeError(
                describe_failure(response.status, message, verb, resource, namespace, name), response.status
            )
        parsed: dict[str, Any] = json.loads(data)
        return parsed

    def list_objects(self, resource: Resource, namespace: str | None) -> list[dict[str, Any]]:
        """Every object of the type, in one namespace or (None) all of them, page by page."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = [("limit", str(PAGE_SIZE))] + ([("continue", token)] if token else [])
            page = self._call("GET", resource.path(namespace), ("list", resource, namespace, None), query)
            # List items carry no kind/apiVersion; fill them in so rendering and tests see whole objects.
            kind, api_version = resource.kind, resource.api_version
            items += [{"apiVersion": api_version, "kind": kind, **item} for item in page.get("items") or []]
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def list_namespaces(self) -> list[str]:
        page = self._call("GET", NAMESPACES.path(), ("list", NAMESPACES.plural, None, None))
        return sorted(item["metadata"]["name"] for item in page.get("items") or [])

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        return self._call("GET", resource.path(namespace, name), ("get", resource, namespace, name))

    def patch(
        self, resource: Resource, namespace: str, name: str, body: Mapping[str, Any], content_type: str
    ) -> dict[str, Any]:
        what = ("patch", resource, namespace, name)
        return self._call("PATCH", resource.path(namespace, name), what, body=body, content_type=content_type)

    def create(self, resource: Resource, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        name = str((body.get("metadata") or {}).get("name") or "") or None
        what = ("create", resource, namespace, name)
        return self._call("POST", resource.path(namespace), what, body=body, content_type=JSON)


def _server_message(data: bytes) -> str:
    try:
        return str(json.loads(data).get("message") or "")
    except (ValueError, AttributeError):
        return _first_line(data.decode("utf-8", "replace"))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def connect(kubeconfig: str | None, context: str | None) -> Kube:
    """Load credentials as kubectl does: `--kubeconfig`, else `KUBECONFIG`, else ~/.kube/config, else in-cluster."""
    default_file = Path("~/.kube/config").expanduser()
    config_file = kubeconfig or os.environ.get("KUBECONFIG") or str(default_file)
    if config_file == str(default_file) and not default_file.exists() and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return _in_cluster()
    try:
        contexts, active = kube_config.list_kube_config_contexts(config_file)
        chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
        if chosen is None:
            raise KubeError(f"context {context!r} not found in {config_file}")
        namespace = (chosen.get("context") or {}).get("namespace") or "default"
        client = kube_config.new_client_from_config(config_file=config_file, context=context, persist_config=False)
    except kube_config.ConfigException as err:
        raise KubeError(f"cannot load kubeconfig {config_file}: {_first_line(str(err))}") from None
    except OSError as err:
        raise KubeError(f"cannot read kubeconfig {config_file}: {err}") from None
    return Kube(client, namespace)


def _in_cluster() -> Kube:
    """Inside a pod without a kubeconfig: the pod's ServiceAccount, and its namespace as the default."""
    configuration = Configuration()
    try:
        kube_config.load_incluster_config(client_configuration=configuration)
    except kube_config.ConfigException as err:
        raise KubeError(f"no kubeconfig and no usable in-cluster credentials: {_first_line(str(err))}") from None
    namespace = _SA_NAMESPACE.read_text().strip() if _SA_NAMESPACE.exists() else "default"
    return Kube(ApiClient(configuration), namespace)
