"""Saved searches (alerts): a member keeps a search, and each new listing that matches it,
this node's or a copy of another node's, becomes a ``saved_search.match`` notification."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping

from activitypub.uris import UriScheme
from node.clock import Clock
from node.errors import Conflict, NotFound, ValidationFailed
from node.listings.models import Listing, SavedSearch
from node.listings.search import (
    ListingQuery,
    check_member_search,
    matches,
    parse_query,
    query_params,
)
from node.members.models import Member
from node.members.service import verified_actors
from node.notifications.service import NotificationService

MAX_SAVED = 20
# Where a page starts, how long it is and its order mean nothing to an alert: refused rather
# than kept and ignored.
NOT_SAVED = frozenset({"cursor", "limit", "sort"})
# Parsed saved searches kept in memory (each is a few hundred bytes); past it, parsed afresh.
QUERY_CACHE = 10_000


class SavedSearches:
    """Members' alerts, and new listings matched against them."""

    def __init__(self, uris: UriScheme, clock: Clock, notifications: NotificationService) -> None:
        self._uris = uris
        self._clock = clock
        self._notifications = notifications
        self._queries: dict[int, ListingQuery | None] = {}

    async def save(self, member: Member, name: str, params: Mapping[str, str]) -> SavedSearch:
        """Keep a search, its parameters as ``GET /api/quartier/v1/listings`` takes them: 422 when
        they are not a search a member may run, 409 past :data:`MAX_SAVED`."""
        kept_out = sorted(NOT_SAVED & set(params))
        if kept_out:
            raise ValidationFailed(
                "the search cannot be saved",
                details=[
                    {"field": name, "message": "not kept in a saved search"} for name in kept_out
                ],
            )
        query = parse_query(params)
        check_member_search(query)
        if await SavedSearch.filter(member=member).count() >= MAX_SAVED:
            raise Conflict(f"at most {MAX_SAVED} saved searches: delete one first")
        # Stored as parse_query understood them (normalised), so that what is shown back is
        # what is matched.
        return await SavedSearch.create(
            member=member, name=name, query=query_params(query), created_at=self._clock()
        )

    async def of_member(self, member: Member) -> list[SavedSearch]:
        """The member's saved searches, oldest first."""
        return await SavedSearch.filter(member=member).order_by("id")

    async def delete(self, member: Member, search_id: int) -> None:
        """Forget one of the member's saved searches (404 for anyone else's)."""
        if not await SavedSearch.filter(id=search_id, member=member).delete():
            raise NotFound("no such saved search")

    async def announce(self, listing: Listing) -> int:
        """Notify, once each, the members with a saved search that ``listing`` matches (its
        author aside); how many. Called in the transaction that stores a new listing, so
        the alerts are written with it or not at all."""
        author = await self._member_id(listing.author)
        rows = await SavedSearch.all().order_by("id").values_list("id", "member_id")
        await self._parse_new([search_id for search_id, _ in rows])
        matched: dict[int, int] = {}  # member id -> the first of their searches it matches
        verified: frozenset[str] | None = None  # read once, if a search asks for it
        for search_id, member_id in rows:
            if member_id in matched or member_id == author:
                continue
            query = self._queries.get(search_id)
            if query is None:
                continue
            if query.verified_only:
                if verified is None:
                    verified = await verified_actors(self._uris, self._clock())
                query = dataclasses.replace(query, verified_authors=verified)
            if matches(listing, query):
                matched[member_id] = search_id
        if matched:
            await self._notifications.notify_matches(
                list(matched.items()), actor=listing.author, listing_id=listing.id
            )
        return len(matched)

    async def _parse_new(self, search_ids: list[int]) -> None:
        """Parse the saved searches not parsed yet, once: saved searches are never changed,
        only deleted (a deleted one is simply no longer listed). One saved under rules that
        have changed since is kept as ``None``: it matches nothing."""
        new = [search_id for search_id in search_ids if search_id not in self._queries]
        if not new:
            return
        if len(self._queries) + len(new) > QUERY_CACHE:
            self._queries.clear()
            new = search_ids
        for start in range(0, len(new), 500):  # within every engine's bound on parameters
            batch = new[start : start + 500]
            for search_id, params in await SavedSearch.filter(id__in=batch).values_list(
                "id", "query"
            ):
                query: ListingQuery | None = None
                with contextlib.suppress(ValidationFailed):
                    query = parse_query({str(k): str(v) for k, v in params.items()})
                self._queries[search_id] = query

    async def _member_id(self, actor: str) -> int | None:
        username = self._uris.username_from_actor(actor)
        if username is None:
            return None
        member = await Member.get_or_none(username=username).only("id")
        return member.id if member is not None else None
