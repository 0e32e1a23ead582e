"""The SQL of listing search, for SQLite (FTS5) and PostgreSQL (``tsvector``).

The index these statements read is made by ``node/migrations/0007_listing_search.py``.

* **SQLite**: ``listing_fts`` is contentless and its rowid is a key of ours, the listing's
  publication second times 2^31 plus its id (:func:`fts_key`). FTS5 walks a term's matches
  in rowid order and stops at the ``LIMIT``, so "newest first" with text reads only as many
  matches as the page needs, however common the words (a join on ``listing`` by id applies
  the other filters along the way). The other orders cannot come out of the index: a query
  whose words match at most :data:`FEW` listings reads them all, then sorts; more, and the
  order's own index (expiry, or rings of distance) is walked instead, each listing being
  tested against the text, through the set of matching keys built once per statement, or,
  for words in more than one listing in :data:`COMMON_SHARE`, by asking the index about
  that one listing (cheaper then, as few are walked before the page is full).
* **PostgreSQL**: ``search_vector @@ tsquery``; the planner chooses between the GIN index
  and walking the order's index, with the real words in view (see :func:`_custom_plans`).

Nearest first, on both: rings of growing radius around the point, each a bounding box on
``(latitude, longitude)``, the exact great-circle distance computed in SQL; the first ring
that holds a full page (or the search's own radius) gives the answer, since every listing
closer than the ring's radius lies inside its box.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from node.listings.models import Status
from node.listings.query import LOCAL, ListingQuery, Position, Sort

# The FTS key: publication second * 2^31 + id (ids stay below 2^31).
KEY_SPAN = 2**31
EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180
# SQLite: words in at most this many listings are read in full, then sorted (ending soon: an
# index walk with the set of matches is cheaper sooner; nearest: the rings cost more)
FEW = {Sort.ENDING_SOON: 2_000, Sort.NEAREST: 15_000}
COMMON_SHARE = 1 / 15  # words in more of the listings than this: tested one listing at a time
# A prefix up to this long is read from FTS5's prefix index; a longer one is spelt out as the
# terms it begins (at most MAX_COMPLETIONS of them), because FTS5 gathers every match of an
# unindexed prefix before returning the first (57 ms for "velo"* at a million listings).
INDEXED_PREFIX = 3
MAX_COMPLETIONS = 40
FIRST_RING_M = 300.0
RING_GROWTH = 3.0

_SQL_KEY = (
    "(max(0, coalesce(CAST(strftime('%s', l.published_at) AS INTEGER), 0)) * 2147483648 + l.id)"
)


@dataclass(frozen=True)
class Hit:
    """One listing found: its id, and its distance from ``near`` in metres when asked for."""

    id: int
    distance_m: float | None = None


def fts_key(published_at: datetime, listing_id: int) -> int:
    """The ``listing_fts`` rowid of a listing (as the migration's triggers compute it)."""
    return max(0, math.floor(published_at.timestamp())) * KEY_SPAN + listing_id


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def fts_match(query: ListingQuery, completions: Sequence[str] | None = None) -> str:
    """The FTS5 query for the text: every term quoted (nothing the user typed is read as
    FTS5 syntax), ANDed; the last one a prefix, written as the terms it stands for when
    ``completions`` (the longer terms it begins) are given."""
    quoted = [_quoted(term) for term in query.terms]
    if query.prefix:
        if completions is None:
            quoted[-1] += "*"
        elif completions:
            quoted[-1] = "(" + " OR ".join([quoted[-1], *map(_quoted, completions)]) + ")"
    return " AND ".join(quoted)


def tsquery_terms(query: ListingQuery) -> list[str]:
    """One ``tsquery`` literal per term (``'velo'``, the last ``'velo':*``): quoted, so that
    nothing the user typed is read as tsquery syntax (terms are letters and digits anyway)."""
    literals = ["'" + term.replace("'", "''").replace("\\", "\\\\") + "'" for term in query.terms]
    if query.prefix:
        literals[-1] += ":*"
    return literals


class _Statement:
    """Parameters and their placeholders, in the dialect's style."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.params: list[Any] = []

    def p(self, value: Any) -> str:
        """A placeholder for ``value``: numbered, so that statements may be assembled in any
        order (``?N`` in SQLite, ``$N`` in PostgreSQL)."""
        self.params.append(value)
        return f"?{len(self.params)}" if self.dialect == "sqlite" else f"${len(self.params)}"

    def many(self, values: Sequence[Any]) -> str:
        """Placeholders for a list of values, for ``IN (...)``."""
        return ", ".join(self.p(value) for value in values)

    def moment(self, value: datetime) -> str:
        """A time as stored: UTC (SQLite compares the ISO text tortoise writes)."""
        return self.p(value.astimezone(UTC))


def _distance_sql(s: _Statement, near_lat: float, near_lon: float) -> str:
    """The haversine distance in metres between a listing's point and (lat, lon)."""
    lat0, lon0 = math.radians(near_lat), math.radians(near_lon)
    least = "min" if s.dialect == "sqlite" else "least"
    dlat = f"sin((radians(l.latitude) - {s.p(lat0)}) / 2)"
    dlon = f"sin((radians(l.longitude) - {s.p(lon0)}) / 2)"
    a = f"{dlat} * {dlat} + {s.p(math.cos(lat0))} * cos(radians(l.latitude)) * {dlon} * {dlon}"
    return f"(2 * {EARTH_RADIUS_M!r} * asin(sqrt({least}(1.0, {a}))))"


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(south, north, west, east) around a circle; west > east never happens: near a pole
    or the antimeridian the box spans every longitude."""
    dlat = radius_m / METRES_PER_DEGREE
    south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    widest = max(abs(south), abs(north))
    if widest >= 89.9:
        return south, north, -180.0, 180.0
    dlon = dlat / math.cos(math.radians(widest))
    if lon - dlon < -180 or lon + dlon > 180:
        return south, north, -180.0, 180.0
    return south, north, lon - dlon, lon + dlon


def _box_sql(s: _Statement, lat: float, lon: float, radius_m: float) -> str:
    south, north, west, east = bounding_box(lat, lon, radius_m)
    return (
        f"l.latitude BETWEEN {s.p(south)} AND {s.p(north)}"
        f" AND l.longitude BETWEEN {s.p(west)} AND {s.p(east)}"
    )


def _filters(s: _Statement, q: ListingQuery) -> list[str]:
    """The conditions on ``listing l`` of every filter but the text and the distance."""
    conditions: list[str] = []
    for column, values in (
        ("status", q.statuses),
        ("kind", q.kinds),
        ("category", q.categories),
        ("audience", q.audiences),
    ):
        if values:
            conditions.append(f"l.{column} IN ({s.many(sorted(values))})")
    if q.origins:
        hosts = sorted(q.origins - {LOCAL})
        either = [f"l.local = {s.p(True)}"] if LOCAL in q.origins else []
        if hosts:
            either.append(f"l.origin_host IN ({s.many(hosts)})")
        conditions.append("(" + " OR ".join(either) + ")")
    if q.local is not None:
        conditions.append(f"l.local = {s.p(q.local)}")
    if q.currency is not None:
        conditions.append(f"l.currency = {s.p(q.currency)}")
    if q.min_price is not None:
        conditions.append(f"l.price_minor >= {s.p(q.min_price)}")
    if q.max_price is not None:
        conditions.append(f"l.price_minor <= {s.p(q.max_price)}")
    if q.published_since is not None:
        conditions.append(f"l.published_at >= {s.moment(q.published_since)}")
    if q.published_until is not None:
        conditions.append(f"l.published_at < {s.moment(q.published_until)}")
    if q.expiring_before is not None:
        conditions.append(f"l.expires_at < {s.moment(q.expiring_before)}")
    if q.sort is Sort.ENDING_SOON:
        conditions.append("l.expires_at IS NOT NULL")
    if q.authors is not None:
        authors = sorted(q.authors)
        if s.dialect == "sqlite":
            conditions.append(
                f"l.author IN (SELECT value FROM json_each({s.p(json.dumps(authors))}))"
            )
        else:
            conditions.append(f"l.author = ANY({s.p(authors)}::text[])")
    return conditions


def _within(s: _Statement, q: ListingQuery, radius_m: float) -> list[str]:
    """The distance filter (box and exact distance), for orders other than nearest."""
    if q.near is None:
        return []
    lat, lon = q.near.latitude, q.near.longitude
    return [_box_sql(s, lat, lon, radius_m), f"{_distance_sql(s, lat, lon)} <= {s.p(radius_m)}"]


def _ordered(s: _Statement, q: ListingQuery, position: Position | None) -> tuple[str, str]:
    """The keyset condition after ``position`` and the ORDER BY, for newest and ending soon."""
    if q.sort is Sort.NEWEST:
        column, compare, order = "l.published_at", "<", "l.published_at DESC, l.id DESC"
    else:
        column, compare, order = "l.expires_at", ">", "l.expires_at, l.id"
    if position is None:
        return "", order
    assert isinstance(position.key, datetime)
    key, last = s.moment(position.key), s.p(position.id)
    after = f"({column} {compare} {key} OR ({column} = {key} AND l.id {compare} {last}))"
    return after, order


def _where(conditions: Sequence[str]) -> str:
    kept = [c for c in conditions if c]
    return " AND ".join(kept) if kept else "1 = 1"


# --------------------------------------------------------------------------------------------
# The two engines


async def run(
    connection: BaseDBAsyncClient, q: ListingQuery, position: Position | None, count: int
) -> list[Hit]:
    """The first ``count`` listings of the search after ``position``, in order."""
    dialect = connection.capabilities.dialect
    if dialect == "sqlite":
        return await _Sqlite(connection, q, position, count).run()
    if dialect == "postgres":
        return await _custom_plans(connection, q, position, count)
    raise RuntimeError(f"listing search supports SQLite and PostgreSQL, not {dialect}")


class _Engine:
    """What both engines share: the orders without text, and the rings of ``nearest``."""

    dialect = ""

    def __init__(
        self, connection: BaseDBAsyncClient, q: ListingQuery, position: Position | None, count: int
    ) -> None:
        self.connection = connection
        self.q = q
        self.position = position
        self.count = count

    async def fetch(self, s: _Statement, sql: str) -> list[Hit]:
        _, rows = await self.connection.execute_query(sql, s.params)
        return [Hit(int(row[0]), float(row[1]) if len(row) > 1 else None) for row in rows]

    async def text_condition(self, s: _Statement, membership: str) -> str:
        """The text filter on ``listing l`` ("" without text)."""
        raise NotImplementedError

    async def match(self) -> str:
        """The FTS5 query of the text (SQLite)."""
        raise NotImplementedError

    async def membership(self) -> str:
        """How the text is tested when another index leads (SQLite decides by how many
        listings hold the words)."""
        return ""

    async def ordered(self) -> list[Hit]:
        """Newest or ending soon, led by the order's index, text tested on the way."""
        s = _Statement(self.dialect)
        membership = await self.membership()
        conditions = _filters(s, self.q) + _within(s, self.q, self._radius_m())
        conditions.append(await self.text_condition(s, membership))
        after, order = _ordered(s, self.q, self.position)
        sql = (
            f"SELECT l.id FROM listing l WHERE {_where([*conditions, after])}"
            f" ORDER BY {order} LIMIT {s.p(self.count)}"
        )
        return await self.fetch(s, sql)

    def _radius_m(self) -> float:
        return self.q.near.km * 1000 if self.q.near is not None else 0.0

    async def nearest(self) -> list[Hit]:
        """Nearest first: rings of growing radius until one holds a full page."""
        membership = await self.membership()
        start = self.position.key if self.position is not None else 0.0
        assert isinstance(start, float)
        widest = self._radius_m()
        radius = min(widest, start + FIRST_RING_M)
        while True:
            hits = await self.ring(radius, membership)
            if len(hits) >= self.count or radius >= widest:
                return hits
            # What a ring holds grows with its area: aim at twice the page.
            grow = math.sqrt(2 * self.count / len(hits)) if hits else RING_GROWTH
            radius = min(widest, start + (radius - start) * min(max(grow, 1.5), 10.0))

    async def ring(self, radius_m: float, membership: str, fts_first: bool = False) -> list[Hit]:
        """The nearest listings within ``radius_m`` (and after the cursor), in order."""
        assert self.q.near is not None
        s = _Statement(self.dialect)
        lat, lon = self.q.near.latitude, self.q.near.longitude
        distance = _distance_sql(s, lat, lon)
        conditions = [_box_sql(s, lat, lon, radius_m), *_filters(s, self.q)]
        if not self.q.statuses:  # any status: said, so that the index of places applies
            conditions.append(f"l.status IN ({s.many([status.value for status in Status])})")
        source = "listing l"
        if fts_first:
            source = f"listing_fts f CROSS JOIN listing l ON l.id = f.rowid % {KEY_SPAN}"
            conditions.append(f"listing_fts MATCH {s.p(await self.match())}")
        else:
            conditions.append(await self.text_condition(s, membership))
        outer = [f"distance <= {s.p(radius_m)}"]
        if self.position is not None:
            d, i = s.p(self.position.key), s.p(self.position.id)
            outer.append(f"(distance > {d} OR (distance = {d} AND id > {i}))")
        sql = (
            f"SELECT id, distance FROM (SELECT l.id AS id, {distance} AS distance FROM {source}"
            f" WHERE {_where(conditions)}) AS near WHERE {_where(outer)}"
            f" ORDER BY distance, id LIMIT {s.p(self.count)}"
        )
        return await self.fetch(s, sql)


class _Postgres(_Engine):
    dialect = "postgres"

    async def text_condition(self, s: _Statement, membership: str) -> str:
        if not self.q.terms:
            return ""
        # Each term as it is, or stemmed in French or English: the listing's vector holds
        # all three forms of its own words.
        parts = []
        for literal in tsquery_terms(self.q):
            p = s.p(literal)
            parts.append(
                f"(to_tsquery('simple', {p}) || to_tsquery('french', {p})"
                f" || to_tsquery('english', {p}))"
            )
        return f"l.search_vector @@ ({' && '.join(parts)})"

    async def run(self) -> list[Hit]:
        if self.q.sort is Sort.NEAREST:
            return await self.nearest()
        return await self.ordered()


async def _custom_plans(
    connection: BaseDBAsyncClient, q: ListingQuery, position: Position | None, count: int
) -> list[Hit]:
    """PostgreSQL, planned for these very words and filters.

    asyncpg prepares statements, and after five runs PostgreSQL may keep a generic plan
    that has never seen the words: how many listings hold them is what decides between the
    GIN index and walking newest first (measured: docs/performance.md)."""
    async with in_transaction(connection.connection_name) as tx:
        await tx.execute_query("SET LOCAL plan_cache_mode = force_custom_plan")
        return await _Postgres(tx, q, position, count).run()


class _Sqlite(_Engine):
    dialect = "sqlite"
    _match: str | None = None

    async def match(self) -> str:
        """The FTS5 query (computed once)."""
        if self._match is None:
            completions = None
            last = self.q.terms[-1] if self.q.terms else ""
            if self.q.prefix and len(last) > INDEXED_PREFIX:
                _, rows = await self.connection.execute_query(
                    "SELECT term FROM listing_fts_vocab WHERE term >= ?1 AND term < ?2 LIMIT ?3",
                    # From just after the term itself: the vocabulary counts the listings of
                    # every term it passes, and the term may be in a hundred thousand.
                    [last + "\x00", last + "\U0010ffff", MAX_COMPLETIONS + 1],
                )
                if len(rows) <= MAX_COMPLETIONS:
                    completions = [str(row[0]) for row in rows]
            self._match = fts_match(self.q, completions)
        return self._match

    async def run(self) -> list[Hit]:
        q = self.q
        if not q.terms:
            return await (self.nearest() if q.sort is Sort.NEAREST else self.ordered())
        if q.sort is Sort.NEWEST:
            return await self.newest_by_text()
        if await self.matches_at_most(FEW[q.sort]):
            return await self.text_first()
        return await (self.nearest() if q.sort is Sort.NEAREST else self.ordered())

    async def newest_by_text(self) -> list[Hit]:
        """FTS5 hands its matches newest first (its rowid is the key): the join filters."""
        s = _Statement(self.dialect)
        conditions = [f"listing_fts MATCH {s.p(await self.match())}"]
        if self.position is not None:
            assert isinstance(self.position.key, datetime)
            conditions.append(f"f.rowid < {s.p(fts_key(self.position.key, self.position.id))}")
        conditions += _filters(s, self.q) + _within(s, self.q, self._radius_m())
        sql = (
            f"SELECT l.id FROM listing_fts f CROSS JOIN listing l ON l.id = f.rowid % {KEY_SPAN}"
            f" WHERE {_where(conditions)} ORDER BY f.rowid DESC LIMIT {s.p(self.count)}"
        )
        return await self.fetch(s, sql)

    async def matches_at_most(self, limit: int) -> bool:
        """Whether at most ``limit`` listings hold the words (reads at most ``limit`` + 1)."""
        s = _Statement(self.dialect)
        sql = (
            "SELECT count(*) FROM (SELECT 1 FROM listing_fts WHERE listing_fts MATCH"
            f" {s.p(await self.match())} LIMIT {s.p(limit + 1)})"
        )
        _, rows = await self.connection.execute_query(sql, s.params)
        return int(rows[0][0]) <= limit

    async def text_first(self) -> list[Hit]:
        """Few matches: read them all, filter, sort."""
        if self.q.sort is Sort.NEAREST:
            return await self.ring(self._radius_m(), "", fts_first=True)
        s = _Statement(self.dialect)
        conditions = [f"listing_fts MATCH {s.p(await self.match())}"]
        conditions += _filters(s, self.q) + _within(s, self.q, self._radius_m())
        after, order = _ordered(s, self.q, self.position)
        sql = (
            f"SELECT l.id FROM listing_fts f CROSS JOIN listing l ON l.id = f.rowid % {KEY_SPAN}"
            f" WHERE {_where([*conditions, after])} ORDER BY {order} LIMIT {s.p(self.count)}"
        )
        return await self.fetch(s, sql)

    async def membership(self) -> str:
        if not self.q.terms:
            return ""
        _, rows = await self.connection.execute_query("SELECT max(id) FROM listing")
        listings = int(rows[0][0] or 0)
        common = max(FEW[self.q.sort], int(listings * COMMON_SHARE))
        return "probe" if not await self.matches_at_most(common) else "set"

    async def text_condition(self, s: _Statement, membership: str) -> str:
        if not self.q.terms:
            return ""
        match = s.p(await self.match())
        if membership == "probe":
            return (
                f"EXISTS (SELECT 1 FROM listing_fts f WHERE listing_fts MATCH {match}"
                f" AND f.rowid = {_SQL_KEY})"
            )
        return f"{_SQL_KEY} IN (SELECT rowid FROM listing_fts WHERE listing_fts MATCH {match})"
