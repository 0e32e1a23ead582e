"""What node services that talk to other servers share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from activitypub.uris import UriScheme
from federation.dereference import ActorResolver
from federation.policy import FederationPolicy
from federation.transport import Transport
from moderation.domains import authority_of
from moderation.errors import FederationRefused
from moderation.governance import SharedKind
from node.actors.lookup import resolve_actor
from node.errors import Forbidden

Clock = Callable[[], datetime]


class FederatedService:
    """Base of the follow and conversation services: URLs, remote actors, the network, time,
    the community's federation policy, and a way to wake the delivery worker after queueing
    deliveries."""

    def __init__(
        self,
        uris: UriScheme,
        resolver: ActorResolver,
        transport: Transport,
        clock: Clock,
        queued: Callable[[], None] = lambda: None,
        policy: FederationPolicy | None = None,
    ) -> None:
        self._uris = uris
        self._resolver = resolver
        self._transport = transport
        self._clock = clock
        self._queued = queued
        self._policy = policy

    async def _resolve(self, target: str) -> str:
        """The actor id a member's ``target`` names (see :func:`resolve_actor`), with the
        community's policy asked before any request to another server."""
        return await resolve_actor(
            self._uris, self._resolver, self._transport, target, self._check_reachable
        )

    async def _check_reachable(self, actor_or_host: str) -> None:
        """403 when the community's policy forbids reaching that server (local mode, a
        blocked server, a non-partner in allowlist mode) or that actor (suspended by the
        moderators); checked before any request to it."""
        if self._policy is None:
            return
        try:
            if "/" in actor_or_host:  # an actor: its own suspension counts too
                await self._policy.check_actor(actor_or_host)
            else:
                await self._policy.check_host(actor_or_host)
        except FederationRefused as exc:
            raise Forbidden(str(exc)) from None

    async def _reachable(self, actor_id: str) -> bool:
        """Whether the policy lets us reach ``actor_id``'s server (for best-effort sends)."""
        return self._policy is None or await self._policy.allows_host(authority_of(actor_id))

    async def _sharing_refusal(self, kind: SharedKind, actor_id: str) -> str | None:
        """Why the community's policy keeps ``kind`` from ``actor_id``'s server, or ``None``."""
        if self._policy is None:
            return None
        return await self._policy.sharing_refusal(kind, authority_of(actor_id))
