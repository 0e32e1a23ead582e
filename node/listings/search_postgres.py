"""Listing search on PostgreSQL: ``search_vector @@ tsquery``.

Each term is matched as written or by its French or English stem (the listing's vector holds
all three forms of its own words). The planner chooses between the GIN index and walking the
order's index, planning for the real words (:func:`search_postgres`). A short prefix after
other words is tested on the listings those words find rather than read from the index.
"""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from node.listings.cursor import Position
from node.listings.query import ListingQuery, Sort
from node.listings.search_sql import Engine, Hit, Statement

# A prefix this short or shorter stands for hundreds of words.
SHORT_PREFIX = 3


def tsquery_terms(query: ListingQuery) -> list[str]:
    """One ``tsquery`` literal per term (``'velo'``, the last ``'velo':*``): quoted, so that
    nothing the user typed is read as tsquery syntax (terms are letters and digits anyway)."""
    literals = ["'" + term.replace("'", "''").replace("\\", "\\\\") + "'" for term in query.terms]
    if query.prefix:
        literals[-1] += ":*"
    return literals


class PostgresSearch(Engine):
    """One search on PostgreSQL."""

    dialect = "postgres"

    async def text_condition(self, s: Statement, membership: str) -> str:
        if not self.q.terms:
            return ""
        literals = tsquery_terms(self.q)
        if not self._short_prefix():
            return f"l.search_vector @@ {self._tsquery(s, literals)}"
        # A short prefix stands for hundreds of words, each in many listings: the GIN index
        # reads all their lists (180 ms for "tr" at a million). The other words lead, and
        # the whole query is tested on their listings only (IS TRUE: not indexable).
        return (
            f"l.search_vector @@ {self._tsquery(s, literals[:-1])}"
            f" AND (l.search_vector @@ {self._tsquery(s, literals)}) IS TRUE"
        )

    def _short_prefix(self) -> bool:
        return self.q.prefix and len(self.q.terms) > 1 and len(self.q.terms[-1]) <= SHORT_PREFIX

    @staticmethod
    def _tsquery(s: Statement, literals: Sequence[str]) -> str:
        # Each term as it is, or stemmed in French or English: the listing's vector holds
        # all three forms of its own words.
        parts = []
        for literal in literals:
            p = s.p(literal)
            parts.append(
                f"(to_tsquery('simple', {p}) || to_tsquery('french', {p})"
                f" || to_tsquery('english', {p}))"
            )
        return f"({' && '.join(parts)})"

    async def run(self) -> list[Hit]:
        if self.q.sort is Sort.NEAREST:
            return await self.nearest()
        return await self.ordered()


async def search_postgres(
    connection: BaseDBAsyncClient, q: ListingQuery, position: Position | None, count: int
) -> list[Hit]:
    """PostgreSQL, planned for these very words and filters.

    asyncpg prepares statements, and after five runs PostgreSQL may keep a generic plan
    that has never seen the words: how many listings hold them is what decides between the
    GIN index and walking newest first (measured: docs/performance.md)."""
    async with in_transaction(connection.connection_name) as tx:
        await tx.execute_query("SET LOCAL plan_cache_mode = force_custom_plan")
        return await PostgresSearch(tx, q, position, count).run()
