"""Signed fetches: which requests come from a partner node (authorized fetch)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from federation.errors import UnverifiedSender
from federation.inbound import InboundRequest, addressed_to_us, signer_of
from moderation.governance import Reach, SharedKind
from node.http.keys import CLOCK, FEDERATION_POLICY, GOVERNANCE, PARTNERSHIPS, RESOLVER, SETTINGS

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


@dataclass(frozen=True)
class Shown:
    """What the community's policy lets a request see of a member's actor."""

    profile: bool
    real_name: bool
    credentials: bool
    depends_on_signature: bool  # the answer differs for partners: not for shared caches

    @property
    def everything(self) -> bool:
        """Whether this is the default document (the cache's plain key)."""
        return self.profile and self.credentials and not self.real_name

    @property
    def variant(self) -> str:
        """A short name of this variant, for cache keys."""
        shown = (self.profile, self.real_name, self.credentials)
        return "".join("1" if on else "0" for on in shown)


async def shared_with(request: web.Request) -> Shown:
    """What of members' profiles, real names and credentials the policy shares with the
    sender of ``request``. The signature is checked only when some kind is shared with
    partners alone: public documents stay free to serve."""
    policy = await request.app[GOVERNANCE].current()
    reaches = {kind: policy.reach(kind) for kind in _ACTOR_KINDS}
    depends = Reach.PARTNERS in reaches.values()
    partner = depends and await signed_by_partner(request)
    profile = reaches[SharedKind.PROFILES].admits(partner)
    return Shown(
        profile=profile,
        real_name=profile and reaches[SharedKind.REAL_NAMES].admits(partner),
        credentials=reaches[SharedKind.CREDENTIALS].admits(partner),
        depends_on_signature=depends,
    )


_ACTOR_KINDS = (SharedKind.PROFILES, SharedKind.REAL_NAMES, SharedKind.CREDENTIALS)
