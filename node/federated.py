"""What node services that talk to other servers share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from activitypub.uris import UriScheme
from federation.dereference import ActorResolver
from federation.transport import Transport

Clock = Callable[[], datetime]


class FederatedService:
    """Base of the follow and conversation services: URLs, remote actors, the network, time,
    and a way to wake the delivery worker after queueing deliveries."""

    def __init__(
        self,
        uris: UriScheme,
        resolver: ActorResolver,
        transport: Transport,
        clock: Clock,
        queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._uris = uris
        self._resolver = resolver
        self._transport = transport
        self._clock = clock
        self._queued = queued
