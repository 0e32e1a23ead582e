"""Statuses from other servers: posts of the accounts our members follow."""

from __future__ import annotations

from activitypub.uris import UriScheme
from federation.dereference import ActorResolver
from federation.dispatch import Dispatcher
from node.clock import Clock
from node.statuses.service import Timelines


class ReceivedStatuses:
    """Handlers for inbound statuses."""

    def __init__(
        self, uris: UriScheme, timelines: Timelines, resolver: ActorResolver, clock: Clock
    ) -> None:
        self._uris = uris
        self._timelines = timelines
        self._resolver = resolver
        self._clock = clock

    def register(self, dispatcher: Dispatcher) -> None:
        """Route the activities this handles to it."""
