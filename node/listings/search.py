"""Listing search: full text (accent- and case-insensitive, French and English stems where the
engine has them), filters, three orders and cursor pagination, on SQLite and PostgreSQL.

What the listing service and the HTTP layer call:

* :func:`index_fields` (title, description) -> the ``search_text`` every listing must store;
* :func:`parse_query` (HTTP parameters) -> :class:`ListingQuery`, or ``ValidationFailed``;
* :func:`search` (query) -> :class:`Page` of listings and the cursor of the next page;
* :func:`matches` (listing, query): the same predicate in Python, for saved-search alerts;
* :func:`query_params` (query) -> the parameters to store for a saved search;
* :func:`optimize_index`: periodic upkeep (the expiry sweep's daily run).

Text matching. A listing matches when every term of the text is one of its terms, the last one
as a prefix when it has :data:`~node.listings.query.PREFIX_MIN` characters or more (people
type). Terms are folded the same way on both sides (:func:`fold`). :func:`matches` is exactly
that. The engines may find *more*, never less:

* PostgreSQL also matches a term by its French or English stem (``velos`` finds ``vélo``,
  ``bikes`` finds ``bike``): the listing's vector holds each term as it is *and* its stems,
  the query asks for any of the three, so whatever matches as written still matches.
* SQLite has no French stemmer; its English one (porter) would hide some prefixes as people
  type (``baby`` stems to ``babi``, which no longer starts ``babysitting``), and the prefix
  of the last term already finds plurals of what is typed (``velo`` finds ``velos``). So
  SQLite matches terms as written: the same listings as :func:`matches`.

Orders. ``newest``: by ``published_at``, then id, both descending; on SQLite with text, by the
publication *second* then id (the index's key): listings published within the same second
may come in id order. Store ``published_at`` in UTC, to the second. ``ending_soon``: listings
that expire, soonest first. ``nearest``: by great-circle distance from ``near``, then id.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from tortoise.backends.base.client import BaseDBAsyncClient

from node.listings.cursor import Position
from node.listings.folding import fold, index_fields, terms
from node.listings.models import Listing
from node.listings.query import (
    LOCAL,
    ListingQuery,
    Near,
    Sort,
    check_member_search,
    decode_cursor,
    encode_cursor,
    parse_query,
    query_params,
    visitor_cursor,
    visitor_query,
)
from node.listings.search_postgres import search_postgres
from node.listings.search_sql import EARTH_RADIUS_M, Hit
from node.listings.search_sqlite import SqliteSearch

__all__ = [
    "ListingQuery",
    "Near",
    "Page",
    "Sort",
    "check_member_search",
    "distance_m",
    "fold",
    "index_fields",
    "matches",
    "optimize_index",
    "parse_query",
    "query_params",
    "search",
    "terms",
    "visitor_cursor",
    "visitor_query",
]


@dataclass(frozen=True)
class Page:
    """One page of results, in order, and the cursor of the next (``None``: the last page)."""

    listings: list[Listing]
    next_cursor: str | None
    # listing id -> metres from ``near``, for searches with ``near``
    distances_m: dict[int, float] = field(default_factory=dict)


async def search(query: ListingQuery, connection: BaseDBAsyncClient | None = None) -> Page:
    """The page of listings ``query`` asks for, on the current database (or ``connection``).

    Raises ``ValidationFailed`` (field ``cursor``) for a cursor that is not one of this
    search's."""
    position = decode_cursor(query)
    db = connection or Listing._meta.db
    hits = await _hits(db, query, position, query.limit + 1)
    page, more = hits[: query.limit], len(hits) > query.limit
    rows = await Listing.filter(id__in=[hit.id for hit in page]).using_db(db)
    by_id = {row.id: row for row in rows}
    # a listing deleted between the two statements is left out
    listings = [by_id[hit.id] for hit in page if hit.id in by_id]
    distances: dict[int, float] = {}
    if query.near is not None:
        found = {hit.id: hit.distance_m for hit in page}
        for listing in listings:
            measured = found.get(listing.id)
            distances[listing.id] = (
                measured if measured is not None else _distance_to(listing, query.near)
            )
    next_cursor = None
    if more and listings:
        next_cursor = encode_cursor(query, _position(query, listings[-1], distances))
    return Page(listings, next_cursor, distances)


async def _hits(
    db: BaseDBAsyncClient, query: ListingQuery, position: Position | None, count: int
) -> list[Hit]:
    dialect = db.capabilities.dialect
    if dialect == "sqlite":
        return await SqliteSearch(db, query, position, count).run()
    if dialect == "postgres":
        return await search_postgres(db, query, position, count)
    raise RuntimeError(f"listing search supports SQLite and PostgreSQL, not {dialect}")


def _distance_to(listing: Listing, near: Near) -> float:
    if listing.latitude is None or listing.longitude is None:
        return math.inf
    return distance_m(near.latitude, near.longitude, listing.latitude, listing.longitude)


def _position(query: ListingQuery, last: Listing, distances: dict[int, float]) -> Position:
    if query.sort is Sort.NEAREST:
        return Position(distances[last.id], last.id)
    if query.sort is Sort.ENDING_SOON:
        assert last.expires_at is not None  # the search keeps only listings that expire
        return Position(last.expires_at, last.id)
    return Position(last.published_at, last.id)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius): the SQL's formula."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1)
        * math.cos(phi2)
        * math.sin((math.radians(lon2) - math.radians(lon1)) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def matches(listing: Listing, query: ListingQuery) -> bool:
    """Whether ``listing`` is one :func:`search` with ``query`` finds (its order, limit and
    cursor aside): for saved-search alerts, one new listing against each saved search.

    Agrees with the SQL on every filter; for the text, see the module's docstring (PostgreSQL
    stems and may find more). At the very edge of a ``near`` circle, floating-point rounding
    may differ between Python and the database.
    """
    q = query
    if q.statuses and listing.status not in q.statuses:
        return False
    if q.kinds and listing.kind not in q.kinds:
        return False
    if q.categories and listing.category not in q.categories:
        return False
    if q.audiences and listing.audience not in q.audiences:
        return False
    if q.origins and not (
        (LOCAL in q.origins and listing.local) or listing.origin_host in q.origins - {LOCAL}
    ):
        return False
    if q.local is not None and listing.local != q.local:
        return False
    if q.currency is not None and listing.currency != q.currency:
        return False
    price = listing.price_minor
    if q.min_price is not None and (price is None or price < q.min_price):
        return False
    if q.max_price is not None and (price is None or price > q.max_price):
        return False
    if q.published_since is not None and listing.published_at < q.published_since:
        return False
    if q.published_until is not None and listing.published_at >= q.published_until:
        return False
    expires = listing.expires_at
    if q.expiring_before is not None and (expires is None or expires >= q.expiring_before):
        return False
    if q.sort is Sort.ENDING_SOON and expires is None:
        return False
    allowed = q.allowed_authors
    if allowed is not None and listing.author not in allowed:
        return False
    if listing.circle is not None and listing.circle not in q.circles:
        return False  # addressed to a circle the viewer is not in
    if listing.author in q.muted_authors or any(
        listing.origin_host == h or listing.origin_host.endswith(f".{h}") for h in q.muted_hosts
    ):
        return False
    if q.near is not None and not _distance_to(listing, q.near) <= q.near.km * 1000:
        return False
    return _text_matches(listing.search_text, q)


def _text_matches(search_text: str, q: ListingQuery) -> bool:
    if not q.terms:
        return True
    words = _words(search_text)
    *whole, last = q.terms
    if not all(term in words for term in whole):
        return False
    if q.prefix:
        return any(word.startswith(last) for word in words)
    return last in words


@functools.lru_cache(maxsize=64)
def _words(search_text: str) -> frozenset[str]:
    # One new listing is matched against every saved search in turn: its words once.
    return frozenset(terms(search_text))


async def optimize_index(connection: BaseDBAsyncClient | None = None) -> None:
    """Upkeep of the search index, for a periodic job (daily is plenty).

    SQLite: merges the FTS5 index into one segment (listings added one at a time leave many,
    and a query reads every segment: see docs/performance.md) and refreshes the planner's
    statistics. PostgreSQL keeps its own (autovacuum): nothing to do."""
    db = connection or Listing._meta.db
    if db.capabilities.dialect == "sqlite":
        await db.execute_script("INSERT INTO listing_fts(listing_fts) VALUES ('optimize');")
        await db.execute_script("PRAGMA optimize;")
