"""What the SQL of listing search shares between SQLite (``search_sqlite.py``) and
PostgreSQL (``search_postgres.py``): numbered placeholders, the filters, the keyset after a
cursor, the great-circle distance, and the plans led by an order's own index.

Nearest first, on both engines: rings of growing radius around the point, each a bounding box
on ``(status, latitude, longitude)``, the exact great-circle distance computed in SQL; the
first ring that holds a full page (or the search's own radius) gives the answer, since every
listing closer than the ring's radius lies inside its box.

The indexes these statements read are made by ``node/migrations/0009_listing_search.py``;
the figures behind the choices are in ``docs/performance.md`` ("Listing search").
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from node.listings.cursor import Position
from node.listings.models import Status
from node.listings.query import LOCAL, ListingQuery, Sort

EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180
FIRST_RING_M = 300.0
RING_GROWTH = 3.0


@dataclass(frozen=True)
class Hit:
    """One listing found: its id, and its distance from ``near`` in metres when asked for."""

    id: int
    distance_m: float | None = None


class Statement:
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


def distance_sql(s: Statement, near_lat: float, near_lon: float) -> str:
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


def box_sql(s: Statement, lat: float, lon: float, radius_m: float) -> str:
    south, north, west, east = bounding_box(lat, lon, radius_m)
    return (
        f"l.latitude BETWEEN {s.p(south)} AND {s.p(north)}"
        f" AND l.longitude BETWEEN {s.p(west)} AND {s.p(east)}"
    )


def filters(s: Statement, q: ListingQuery, statuses: bool = True) -> list[str]:
    """The conditions on ``listing l`` of every filter but the text and the distance (and
    the status, when ``statuses`` is false: the caller takes care of it)."""
    conditions: list[str] = []
    for column, values in (
        ("status", q.statuses if statuses else ()),
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
    for host in sorted(q.muted_hosts):
        # the host and its subdomains (hosts hold no LIKE wildcards but "_", which at worst
        # keeps out a lookalike host too)
        conditions.append(
            f"l.origin_host <> {s.p(host)} AND l.origin_host NOT LIKE {s.p('%.' + host)}"
        )
    # Held or hidden by a keyword filter: no one's search shows it (its author's list does).
    conditions.append(
        "l.ap_id NOT IN (SELECT f.target FROM moderation_filtered_content f"
        " WHERE f.kind = 'listing' AND f.state IN ('held', 'hidden', 'rejected'))"
    )
    # addressed to a circle: its members' only
    if q.circles:
        conditions.append(f"(l.circle IS NULL OR l.circle IN ({s.many(sorted(q.circles))}))")
    else:
        conditions.append("l.circle IS NULL")
    if q.muted_authors:
        muted = sorted(q.muted_authors)
        conditions.append(f"l.author NOT IN ({s.many(muted)})")
    allowed = q.allowed_authors
    if allowed is not None:
        authors = sorted(allowed)
        if s.dialect == "sqlite":
            conditions.append(
                f"l.author IN (SELECT value FROM json_each({s.p(json.dumps(authors))}))"
            )
        else:
            conditions.append(f"l.author = ANY({s.p(authors)}::text[])")
    return conditions


def within(s: Statement, q: ListingQuery, radius_m: float) -> list[str]:
    """The distance filter (box and exact distance), for orders other than nearest."""
    if q.near is None:
        return []
    lat, lon = q.near.latitude, q.near.longitude
    return [box_sql(s, lat, lon, radius_m), f"{distance_sql(s, lat, lon)} <= {s.p(radius_m)}"]


def ordered_by(s: Statement, q: ListingQuery, position: Position | None) -> tuple[str, str]:
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


def where(conditions: Sequence[str]) -> str:
    kept = [c for c in conditions if c]
    return " AND ".join(kept) if kept else "1 = 1"


# --------------------------------------------------------------------------------------------
# The two engines


class Engine:
    """One search on one engine: what both share (the orders led by their index, the rings
    of ``nearest``); each engine adds how the text is matched, and its plan."""

    dialect = ""

    def __init__(
        self, connection: BaseDBAsyncClient, q: ListingQuery, position: Position | None, count: int
    ) -> None:
        self.connection = connection
        self.q = q
        self.position = position
        self.count = count

    async def run(self) -> list[Hit]:
        """The first ``count`` listings of the search after ``position``, in order."""
        raise NotImplementedError

    async def fetch(self, s: Statement, sql: str) -> list[Hit]:
        """Run a statement whose rows are (id) or (id, distance)."""
        _, rows = await self.connection.execute_query(sql, s.params)
        return [Hit(int(row[0]), float(row[1]) if len(row) > 1 else None) for row in rows]

    async def text_condition(self, s: Statement, membership: str) -> str:
        """The text filter on ``listing l`` ("" without text)."""
        raise NotImplementedError

    async def membership(self) -> str:
        """How the text is tested when another index leads (SQLite decides by how many
        listings hold the words)."""
        return ""

    async def ordered(self) -> list[Hit]:
        """Newest or ending soon, led by the order's index ``(status, published_at)`` or
        ``(status, expires_at)``, text tested on the way.

        Several statuses (or any): one branch per status, each reading its index in order up
        to the page, merged; with ``status IN (...)`` the engines would sort every listing of
        those statuses instead (20 ms at 20,000 listings on PostgreSQL, 100 times that at a
        million)."""
        s = Statement(self.dialect)
        membership = await self.membership()
        conditions = filters(s, self.q, statuses=False) + within(s, self.q, self._radius_m())
        conditions.append(await self.text_condition(s, membership))
        after, order = ordered_by(s, self.q, self.position)
        statuses = sorted(self.q.statuses) or sorted(Status)
        limit = s.p(self.count)
        if len(statuses) == 1:
            sql = (
                f"SELECT l.id FROM listing l"
                f" WHERE {where([f'l.status = {s.p(statuses[0])}', *conditions, after])}"
                f" ORDER BY {order} LIMIT {limit}"
            )
            return await self.fetch(s, sql)
        column = "published_at" if self.q.sort is Sort.NEWEST else "expires_at"
        branches = [
            f"SELECT id, {column} FROM (SELECT l.id, l.{column} FROM listing l"
            f" WHERE {where([f'l.status = {s.p(status)}', *conditions, after])}"
            f" ORDER BY {order} LIMIT {limit}) AS b{n}"
            for n, status in enumerate(statuses)
        ]
        merged = order.replace("l.", "")
        sql = (
            f"SELECT id FROM ({' UNION ALL '.join(branches)}) AS merged"
            f" ORDER BY {merged} LIMIT {limit}"
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

    async def text_first_source(self, s: Statement) -> tuple[str, str]:
        """The FROM clause and the condition that read the text's matches first (SQLite)."""
        raise NotImplementedError

    async def ring(self, radius_m: float, membership: str, text_first: bool = False) -> list[Hit]:
        """The nearest listings within ``radius_m`` (and after the cursor), in order."""
        assert self.q.near is not None
        s = Statement(self.dialect)
        lat, lon = self.q.near.latitude, self.q.near.longitude
        distance = distance_sql(s, lat, lon)
        conditions = [box_sql(s, lat, lon, radius_m), *filters(s, self.q)]
        if not self.q.statuses:  # any status: said, so that the index of places applies
            conditions.append(f"l.status IN ({s.many([status.value for status in Status])})")
        source = "listing l"
        if text_first:
            source, match = await self.text_first_source(s)
            conditions.append(match)
        else:
            conditions.append(await self.text_condition(s, membership))
        outer = [f"distance <= {s.p(radius_m)}"]
        if self.position is not None:
            d, i = s.p(self.position.key), s.p(self.position.id)
            outer.append(f"(distance > {d} OR (distance = {d} AND id > {i}))")
        sql = (
            f"SELECT id, distance FROM (SELECT l.id AS id, {distance} AS distance FROM {source}"
            f" WHERE {where(conditions)}) AS near WHERE {where(outer)}"
            f" ORDER BY distance, id LIMIT {s.p(self.count)}"
        )
        return await self.fetch(s, sql)
