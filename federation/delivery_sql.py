"""The delivery claim in SQL: each host's share of a batch is capped in the query itself.

A plain ``ORDER BY attempts, id LIMIT n`` hands the whole batch to whichever host has the
oldest backlog: thousands of rows for one slow server fill the ``LIMIT``, and every other
host waits behind them. Here a window function numbers each host's due rows in claim order
(never-tried first, then oldest), the query keeps at most ``per_host`` of each, and the batch
fills with other hosts' rows.

PostgreSQL refuses ``FOR UPDATE`` in a query with a window function, so the ranked ids are
chosen in a subquery and the outer query locks them, with ``SKIP LOCKED`` and the due
conditions again (under READ COMMITTED a row changed since the subquery's snapshot is read
again as it is now, and dropped if no longer due). Claims are taken one at a time across
processes (a transaction-scoped advisory lock, held for the claim's two short statements):
without it, two workers claiming at once would rank the same rows, and the second, finding
them locked, would come back empty and sleep, where a plain ``LIMIT ... SKIP LOCKED`` would
have given it the next rows. After the lock, its query sees the first claim's leases.

SQLite (window functions since 3.25) runs exactly one worker and has no row locks: the same
query without the lock.

Hosts whose requests of an earlier batch are still finishing in the background (a server
letting connections hang) are left out of the claim altogether, so a host never has more than
one batch's share in flight: their list is one parameter, an array on PostgreSQL and a JSON
array on SQLite (``json_each``), one prepared statement whatever its length.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

_CLAIM_LOCK = 0x64656C76  # PostgreSQL advisory lock key for delivery claims ("delv")

# $1 the state of rows to send, $2 now, $3 the cap per host, $4 the batch size, $5 the hosts
# left out.
_DUE = "state = $1 AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2)"
_RANKED = """
SELECT id FROM (
    SELECT id, attempts,
           ROW_NUMBER() OVER (PARTITION BY host ORDER BY attempts, id) AS host_rank
    FROM delivery
    WHERE {due} AND {hosts}
) AS ranked
WHERE host_rank <= $3
ORDER BY attempts, id
LIMIT $4
"""
_RANKED_SQLITE = _RANKED.format(
    due=_DUE, hosts="host NOT IN (SELECT value FROM json_each($5))"
).replace("$", "?")  # SQLite spells numbered placeholders ?N
_RANKED_POSTGRES = _RANKED.format(due=_DUE, hosts="host <> ALL($5::text[])")
_CLAIM_POSTGRES = f"""
SELECT id FROM delivery
WHERE id IN ({_RANKED_POSTGRES}) AND {_DUE}
ORDER BY attempts, id
FOR UPDATE SKIP LOCKED
"""  # noqa: S608 - fixed text, every value a parameter


async def claimable_ids(
    connection: BaseDBAsyncClient,
    pending: str,
    now: datetime,
    per_host: int,
    limit: int,
    exclude_hosts: Collection[str] = (),
) -> list[int]:
    """Ids of up to ``limit`` due, unleased deliveries, at most ``per_host`` of each host and
    none of ``exclude_hosts``, never-tried rows first. Call it in a transaction: on PostgreSQL
    the rows are locked, and other claims wait, until it ends (lease them before)."""
    params: list[Any] = [pending, now.astimezone(UTC), per_host, limit]
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query("SELECT pg_advisory_xact_lock($1)", [_CLAIM_LOCK])
        rows = await connection.execute_query_dict(
            _CLAIM_POSTGRES, [*params, sorted(exclude_hosts)]
        )
    else:
        rows = await connection.execute_query_dict(
            _RANKED_SQLITE, [*params, json.dumps(sorted(exclude_hosts))]
        )
    return [int(row["id"]) for row in rows]
