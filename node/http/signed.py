"""Signed fetches: which requests come from a partner node (authorized fetch)."""

from __future__ import annotations

import logging

from aiohttp import web

from federation.errors import UnverifiedSender
from federation.inbound import InboundRequest, addressed_to_us, signer_of
from node.http.keys import CLOCK, FEDERATION_POLICY, PARTNERSHIPS, RESOLVER, SETTINGS

log = logging.getLogger(__name__)


async def signed_by_partner(request: web.Request) -> bool:
    """Whether the request carries a valid HTTP signature by an actor of an active partner
    node the community still lets in. The partnership is checked before the signer's key is
    fetched: no other server can make us fetch anything."""
    if "Signature" not in request.headers and "Signature-Input" not in request.headers:
        return False
    settings = request.app[SETTINGS]
    partnerships, policy = request.app[PARTNERSHIPS], request.app[FEDERATION_POLICY]

    async def admitted(authority: str) -> bool:
        if not await partnerships.is_partner(authority):
            return False
        return await policy.refuse_partnership(authority) is None  # blocked, not federating

    fetch = InboundRequest(
        method=request.method,
        url=settings.server.base_url + request.raw_path,
        headers=addressed_to_us(request.headers, settings.uris.domain),
        body=None,
    )
    try:
        await signer_of(fetch, request.app[RESOLVER], request.app[CLOCK](), admit=admitted)
    except UnverifiedSender as exc:
        log.debug("a signed fetch refused: %s", exc)
        return False
    return True
