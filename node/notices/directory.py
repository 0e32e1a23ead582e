"""A municipality's public directory of its districts.

Its districts are the nodes it partners with; what each is (name, area, kind, how many
members) is what that node's NodeInfo says, fetched in parallel and kept a few minutes so that
a directory page read often costs the districts nothing. A district that does not answer is
listed with what the partnership knows and ``"reachable": false``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from federation.errors import FederationError
from federation.models import Partnership, PartnershipState
from federation.transport import Transport
from federation.webfinger import fetch_nodeinfo
from node.clock import Clock
from node.config import CommunityKind, CommunitySettings

KEEP = timedelta(minutes=10)
LISTED = (PartnershipState.ACTIVE, PartnershipState.PROPOSED, PartnershipState.REQUESTED)


class Directory:
    """The community and, for a municipality, its districts."""

    def __init__(
        self,
        community: CommunitySettings,
        transport: Transport | None,
        clock: Clock,
        timeout: float = 5.0,
    ) -> None:
        self._community = community
        self._transport = transport
        self._clock = clock
        self._timeout = timeout
        self._cache: dict[str, tuple[datetime, dict[str, Any] | None]] = {}

    async def describe(self) -> dict[str, Any]:
        """The directory as the API shows it."""
        community = self._community
        doc: dict[str, Any] = {
            "name": community.name,
            "area": community.area,
            "kind": community.kind.value,
            "districts": [],
        }
        if community.kind is not CommunityKind.MUNICIPALITY:
            return doc
        rows = await Partnership.filter(state__in=LISTED).order_by("peer_host")
        infos = await asyncio.gather(*(self._nodeinfo(row.peer_actor) for row in rows))
        doc["districts"] = [_district(row, info) for row, info in zip(rows, infos, strict=True)]
        return doc

    async def partners(self) -> list[dict[str, Any]]:
        """The community's active partners, by host, named as their NodeInfo said when the
        directory last asked (the cache only: a visitor's page never waits on another
        server)."""
        rows = await Partnership.filter(state=PartnershipState.ACTIVE).order_by("peer_host")
        return [_district(row, self._cached(row.peer_actor)) for row in rows]

    def _cached(self, actor: str) -> dict[str, Any] | None:
        found = self._cache.get(_origin(actor))
        return found[1] if found is not None else None

    async def _nodeinfo(self, actor: str) -> dict[str, Any] | None:
        origin = _origin(actor)
        now = self._clock()
        cached = self._cache.get(origin)
        if cached is not None and now - cached[0] < KEEP:
            return cached[1]
        info = None
        if self._transport is not None:
            try:
                info = await asyncio.wait_for(self._fetch(origin), self._timeout)
            except (FederationError, TimeoutError):
                info = None  # listed as unreachable; asked again once the entry is old
        self._cache[origin] = (now, info)
        return info

    async def _fetch(self, origin: str) -> dict[str, Any] | None:
        assert self._transport is not None
        return await fetch_nodeinfo(self._transport, origin)


def _origin(actor: str) -> str:
    parts = urlsplit(actor)
    return f"{parts.scheme}://{parts.netloc}"


def _district(row: Partnership, info: dict[str, Any] | None) -> dict[str, Any]:
    metadata = info.get("metadata") if isinstance(info, dict) else None
    metadata = metadata if isinstance(metadata, dict) else {}
    community = metadata.get("community")
    community = community if isinstance(community, dict) else {}
    usage = info.get("usage") if isinstance(info, dict) else None
    users = usage.get("users") if isinstance(usage, dict) else None
    users = users if isinstance(users, dict) else {}

    def text(value: Any, limit: int = 200) -> str:
        return value[:limit] if isinstance(value, str) else ""

    def count(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return {
        "node": row.peer_host,
        "actor": row.peer_actor,
        "partnership": row.state.value,
        "reachable": info is not None,
        "name": text(metadata.get("nodeName")) or row.peer_host,
        "area": text(community.get("area")),
        "kind": text(community.get("kind"), 32),
        "members": count(users.get("total")),
        "active_month": count(users.get("activeMonth")),
    }
