"""The notice webhook's rules: which hosts the operator may call, how a body is signed, how retries are spaced.

Tenants write the URL, so the operator calls only hosts its installer allowed (`--notice-webhook-allowed-hosts`,
glob patterns on the URL's host; none by default), never follows redirects, and signs every body so a receiver
can tell a notice from the operator from anyone else's POST.
"""

import fnmatch
import hashlib
import hmac
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from maintenance_operator import schedule as sched

SIGNATURE_HEADER = "X-Maintenance-Signature"
DELIVERY_HEADER = "X-Maintenance-Delivery"
FIRST_RETRY = 1.0  # seconds
MAX_RETRY = 60.0
ALLOWED_HOSTS_FLAG = "--notice-webhook-allowed-hosts"


def parse_patterns(text: str) -> tuple[str, ...]:
    """`'hooks.example.com, *.internal.example'` -> the patterns, lower-cased (host names are case-insensitive)."""
    return tuple(p.strip().lower() for p in text.split(",") if p.strip())


def host_problem(url: str, allowed: Sequence[str]) -> str | None:
    """None when the operator may call `url`, else why not, in words for the window's Ready condition."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError as err:
        return f"spec.noticeWebhook.url: {url!r} is not a valid URL ({err})"
    if parts.scheme not in ("http", "https") or not host:
        return f"spec.noticeWebhook.url: {url!r} must be an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return "spec.noticeWebhook.url: credentials in the URL are not allowed; the body is signed instead"
    if any(fnmatch.fnmatchcase(host, pattern) for pattern in allowed):
        return None
    shown = ", ".join(allowed) if allowed else "none"
    return (
        f"spec.noticeWebhook.url: host {host!r} is not allowed by the operator's {ALLOWED_HOSTS_FLAG} "
        f"(allowed: {shown}); no request is sent. Ask the platform team to allow it, or remove noticeWebhook"
    )


def signature(key: bytes, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the exact body bytes, the value of the signature header."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def delivery_id(window_uid: str, occurrence_id: str, lead: timedelta, target_uids: Sequence[str]) -> str:
    """The same for every retry of one batch, so a receiver can drop at-least-once duplicates; a later batch for
    the same lead time (targets that became pending since) has its own."""
    batch = hashlib.sha256(" ".join(sorted(target_uids)).encode()).hexdigest()[:12]
    return f"{window_uid}/{occurrence_id}/{sched.format_duration(lead)}/{batch}"


def retry_delay(attempt: int) -> float:
    """Seconds before retry `attempt` (1, 2, ...): doubling from FIRST_RETRY up to MAX_RETRY."""
    return float(min(MAX_RETRY, FIRST_RETRY * 2 ** max(0, attempt - 1)))
