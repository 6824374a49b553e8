"""Optional notice webhook: a JSON POST per occurrence batch, for chat or paging integrations."""

import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


async def post_notice(url: str, payload: dict[str, Any]) -> None:
    """Best effort: a receiver that is down must not delay maintenance; failures are logged."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.post(url, json=payload) as response,
        ):
            if response.status >= 300:
                log.warning("notice webhook %s answered %s", url, response.status)
    except (aiohttp.ClientError, TimeoutError) as err:
        log.warning("notice webhook %s failed: %s", url, err)
