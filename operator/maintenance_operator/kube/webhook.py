"""The notice webhook's I/O: the signing key from the window's Secret, and one signed POST attempt.

Retries, deadlines and what is recorded after a 2xx are the window task's; this module only sends.
"""

import base64
import binascii

import aiohttp

from maintenance_operator.kube import paths
from maintenance_operator.kube.client import ApiError, KubeClient
from maintenance_operator.planning.windows import webhooks

ATTEMPT_TIMEOUT = 10.0  # seconds for one POST, connection included


# The only Secret name deploy/'s role lets the operator read (a `resourceNames` rule): a tenant's window cannot
# make it read any other Secret of its namespace.
SECRET_NAME = "maintenance-notice-webhook"


class WebhookSecretError(Exception):
    """The window's Secret or its key cannot be read: nothing can be signed, so nothing is sent."""


async def signing_key(client: KubeClient, namespace: str, name: str, key: str) -> bytes:
    """One GET of the named Secret (never a LIST or WATCH: the operator reads no other Secret)."""
    try:
        secret = await client.request("GET", paths.core("secrets", namespace, name))
    except ApiError as err:
        if err.status == 404:
            raise WebhookSecretError(f"Secret {namespace}/{name} (spec.noticeWebhook.secretKeyRef) not found") from None
        if err.status == 403:
            raise WebhookSecretError(
                f"Secret {namespace}/{name} may not be read by the operator: its role lets it read only the Secrets "
                f"its installer named (deploy/: {SECRET_NAME!r}); {err.message}"
            ) from None
        raise WebhookSecretError(f"Secret {namespace}/{name} cannot be read: {err.message}") from None
    encoded = (secret.get("data") or {}).get(key)
    if not isinstance(encoded, str) or not encoded:
        raise WebhookSecretError(f"Secret {namespace}/{name} has no key {key!r} (spec.noticeWebhook.secretKeyRef)")
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise WebhookSecretError(f"Secret {namespace}/{name} key {key!r} is not base64") from None


async def post(url: str, body: bytes, key: bytes, delivery: str, timeout: float = ATTEMPT_TIMEOUT) -> int:
    """One attempt; the HTTP status (redirects are not followed: a 3xx is not a delivery)."""
    headers = {
        "Content-Type": "application/json",
        webhooks.SIGNATURE_HEADER: webhooks.signature(key, body),
        webhooks.DELIVERY_HEADER: delivery,
        "User-Agent": "maintenance-operator",
    }
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
        session.post(url, data=body, headers=headers, allow_redirects=False) as response,
    ):
        await response.read()
        return response.status
