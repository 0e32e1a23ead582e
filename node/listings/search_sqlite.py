"""Listing search on SQLite: the FTS5 index ``listing_fts``.

``listing_fts`` is contentless and its rowid is a key of ours, the listing's publication second
times 2^31 plus its id (:func:`fts_key`). FTS5 walks matches in rowid order and stops at the
``LIMIT``, so "newest first" with text reads only as many matches as the page needs, however
common the words. The index also holds the listing's status, kind, category and audience as
words no search can spell (:func:`facet`), so that these filters are intersected with the
words inside the index; a join on ``listing`` by id applies the others.

The other orders cannot come out of the index: words (and facets) matching at most
:data:`FEW` listings are read in full, then sorted; more, and the order's own index (expiry, or
rings of distance) is walked instead, each listing tested against the text through the set of
matching keys (built once per statement) or, when the words are in more than
:data:`COMMON_SHARE` of all listings, by asking the index about that one listing (few are
walked before the page is full). A prefix longer than the prefix index is spelt out as its
completions (:data:`INDEXED_PREFIX`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from node.listings.query import ListingQuery, Sort
from node.listings.search_sql import Engine, Hit, Statement, filters, ordered_by, where, within

# The FTS key: publication second * 2^31 + id (ids stay below 2^31).
KEY_SPAN = 2**31
# SQLite: words in at most this many listings are read in full, then sorted (ending soon: an
# index walk with the set of matches is cheaper sooner; nearest: the rings cost more)
FEW = {Sort.ENDING_SOON: 3_000, Sort.NEAREST: 5_000}
COMMON_SHARE = 1 / 15  # words in more of the listings than this: tested one listing at a time
# A prefix up to this long is read from FTS5's prefix index; a longer one is spelt out as the
# terms it begins (at most MAX_COMPLETIONS of them), because FTS5 gathers every match of an
# unindexed prefix before returning the first (57 ms for "velo"* at a million listings).
INDEXED_PREFIX = 3
MAX_COMPLETIONS = 40

_SQL_KEY = (
    "(max(0, coalesce(CAST(strftime('%s', l.published_at) AS INTEGER), 0)) * 2147483648 + l.id)"
)


def fts_key(published_at: datetime, listing_id: int) -> int:
    """The ``listing_fts`` rowid of a listing (as the migration's triggers compute it)."""
    return max(0, math.floor(published_at.timestamp())) * KEY_SPAN + listing_id


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def facet(prefix: str, value: str) -> str:
    """The word ``listing_fts`` indexes for one value of a filtered column (the migration's
    triggers write the same): ``_s_open``, ``_k_sell``, ``_a_public``, and the category in
    hexadecimal, one word whatever it holds (``_c_746f6f6c73``)."""
    return f"_{prefix}_{value.encode().hex()}" if prefix == "c" else f"_{prefix}_{value}"


def fts_match(query: ListingQuery, completions: Sequence[str] | None = None) -> str:
    """The FTS5 query: every term quoted (nothing the user typed is read as FTS5 syntax) and
    ANDed, the last one a prefix, written as the terms it stands for when ``completions`` (the
    longer terms it begins) are given; then the facets of the status, kind, category and
    audience filters, so that the index intersects words and filters by itself."""
    parts = [_quoted(term) for term in query.terms]
    if query.prefix:
        if completions is None:
            parts[-1] += "*"
        elif completions:
            parts[-1] = "(" + " OR ".join([parts[-1], *map(_quoted, completions)]) + ")"
    for prefix, values in (
        ("s", query.statuses),
        ("k", query.kinds),
        ("c", query.categories),
        ("a", query.audiences),
    ):
        if values:
            words = [_quoted(facet(prefix, str(value))) for value in sorted(values)]
            parts.append(words[0] if len(words) == 1 else "(" + " OR ".join(words) + ")")
    return " AND ".join(parts)


class SqliteSearch(Engine):
    """One search on SQLite."""

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
        s = Statement(self.dialect)
        conditions = [f"listing_fts MATCH {s.p(await self.match())}"]
        if self.position is not None:
            assert isinstance(self.position.key, datetime)
            conditions.append(f"f.rowid < {s.p(fts_key(self.position.key, self.position.id))}")
        conditions += filters(s, self.q) + within(s, self.q, self._radius_m())
        sql = (
            f"SELECT l.id FROM listing_fts f CROSS JOIN listing l ON l.id = f.rowid % {KEY_SPAN}"
            f" WHERE {where(conditions)} ORDER BY f.rowid DESC LIMIT {s.p(self.count)}"
        )
        return await self.fetch(s, sql)

    async def matches_at_most(self, limit: int) -> bool:
        """Whether at most ``limit`` listings hold the words (reads at most ``limit`` + 1)."""
        s = Statement(self.dialect)
        sql = (
            "SELECT count(*) FROM (SELECT 1 FROM listing_fts WHERE listing_fts MATCH"
            f" {s.p(await self.match())} LIMIT {s.p(limit + 1)})"
        )
        _, rows = await self.connection.execute_query(sql, s.params)
        return int(rows[0][0]) <= limit

    async def text_first_source(self, s: Statement) -> tuple[str, str]:
        source = f"listing_fts f CROSS JOIN listing l ON l.id = f.rowid % {KEY_SPAN}"
        return source, f"listing_fts MATCH {s.p(await self.match())}"

    async def text_first(self) -> list[Hit]:
        """Few matches: read them all, filter, sort."""
        if self.q.sort is Sort.NEAREST:
            return await self.ring(self._radius_m(), "", text_first=True)
        s = Statement(self.dialect)
        conditions = [f"listing_fts MATCH {s.p(await self.match())}"]
        conditions += filters(s, self.q) + within(s, self.q, self._radius_m())
        after, order = ordered_by(s, self.q, self.position)
        sql = (
            f"SELECT l.id FROM listing_fts f CROSS JOIN listing l ON l.id = f.rowid % {KEY_SPAN}"
            f" WHERE {where([*conditions, after])} ORDER BY {order} LIMIT {s.p(self.count)}"
        )
        return await self.fetch(s, sql)

    async def membership(self) -> str:
        if not self.q.terms:
            return ""
        _, rows = await self.connection.execute_query("SELECT max(id) FROM listing")
        listings = int(rows[0][0] or 0)
        common = max(FEW[self.q.sort], int(listings * COMMON_SHARE))
        return "probe" if not await self.matches_at_most(common) else "set"

    async def text_condition(self, s: Statement, membership: str) -> str:
        if not self.q.terms:
            return ""
        match = s.p(await self.match())
        if membership == "probe":
            return (
                f"EXISTS (SELECT 1 FROM listing_fts f WHERE listing_fts MATCH {match}"
                f" AND f.rowid = {_SQL_KEY})"
            )
        return f"{_SQL_KEY} IN (SELECT rowid FROM listing_fts WHERE listing_fts MATCH {match})"
