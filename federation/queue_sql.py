"""The inbound queue's hot statements, in plain parameterised SQL for SQLite and PostgreSQL.

Every delivery the inbox accepts passes here twice: stored by the group-commit writer, then
claimed and marked by the inbound worker. Through the ORM each of those steps built model
instances and pypika queries on the event loop, the node's largest cost after the protocol
work itself (docs/performance.md, "Inbox ingestion"). These few statements are written out
instead, once per dialect, and run on tortoise's own connections (the current transaction's
when there is one), so they take part in its transactions and its SQLite connection lock. The
ORM keeps the table's schema and every other query on it.

What each statement keeps from the ORM version it replaces:

- :func:`insert_new`: ``INSERT ... ON CONFLICT (activity_id) DO NOTHING RETURNING
  activity_id``: the rows it returns are the ones stored, so no dedupe ``SELECT`` is needed,
  and an id another process stored first is reported as a duplicate (the unique constraint
  decides, not an earlier look).
- :func:`claim`: pending rows due now, not leased, of actors no other worker holds, in id
  order (the ``(state, id)`` index), leased in the same statement. On PostgreSQL claims are
  serialised by an advisory lock and skip rows locked by another claim (``FOR UPDATE SKIP
  LOCKED``).
- :func:`record_finished`, :func:`record_retry`, :func:`renew`, :func:`release_leases`: the
  worker's outcomes and leases, a statement per outcome rather than per row.

Placeholders are ``?`` in the text below; PostgreSQL's ``$1``, ``$2`` ... are derived from it.
A list of ids is one array parameter on PostgreSQL (``= ANY(?)``: one prepared statement for
every size), an ``IN (?, ?, ...)`` list on SQLite.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.data import JSON_DUMPS, JSON_LOADS
from tortoise.transactions import in_transaction

from federation import wakeups
from federation.models import InboundMessage, InboundState

CLAIM_LOCK = 0x71756172  # PostgreSQL advisory lock key for inbound claims ("quar")
# Rows per INSERT on SQLite: 7 parameters each stays under the 999 variables of old builds.
_SQLITE_ROWS_PER_INSERT = 100

# The SQL below spells InboundState.PENDING out ('pending'): a literal, which the planner sees.
_INSERT = (
    "INSERT INTO inbound_message (activity_id, actor, activity_type, recipient, body, "
    "received_at, next_attempt_at, state, attempts, last_error) "
)
_INSERT_SQLITE_ROW = "(?, ?, ?, ?, ?, ?, ?, 'pending', 0, '')"
# One statement and one prepared plan whatever the group's size: a column per array.
_INSERT_POSTGRES = (
    _INSERT + "SELECT a, b, c, d, e::jsonb, f, g, 'pending', 0, '' "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
    "$6::timestamptz[], $7::timestamptz[]) AS t(a, b, c, d, e, f, g) "
    "ON CONFLICT (activity_id) DO NOTHING RETURNING activity_id"
)
# Lease the rows a claim may take: due, not leased, of an actor nobody holds (an actor whose
# rows another worker holds is left to it, or its Delete could run while its Create still
# does), in id order. Parameters: lease_until, now, now, now, limit.
_CLAIM = """
    UPDATE inbound_message SET lease_until = ?
    WHERE id IN (
      SELECT id FROM inbound_message
      WHERE state = 'pending' AND next_attempt_at <= ?
        AND (lease_until IS NULL OR lease_until < ?)
        AND actor NOT IN (
          SELECT actor FROM inbound_message WHERE state = 'pending' AND lease_until >= ?
        )
      ORDER BY id LIMIT ? {lock}
    )
    RETURNING id, activity_id, actor, activity_type, recipient, body, attempts"""
_CLAIM_SQLITE = _CLAIM.format(lock="")
# SKIP LOCKED: rows that a claim still in progress holds are not waited for.
_CLAIM_POSTGRES = _CLAIM.format(lock="FOR UPDATE SKIP LOCKED")
_RENEW = "UPDATE inbound_message SET lease_until = ? WHERE state = 'pending' AND id "
_OUTCOME = "UPDATE inbound_message SET state = ?, last_error = ?, lease_until = NULL WHERE id "
_RETRY = (
    "UPDATE inbound_message SET attempts = ?, last_error = ?, state = ?, "
    "next_attempt_at = COALESCE(?, next_attempt_at), lease_until = NULL WHERE id = ?"
)
_RELEASE = (
    "UPDATE inbound_message SET lease_until = NULL "
    "WHERE state = 'pending' AND lease_until IS NOT NULL"
)


class Storable(Protocol):
    """An accepted activity as the writer stores it (a :class:`NewInbound`, or a model
    instance not saved yet)."""

    @property
    def activity_id(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def activity_type(self) -> str: ...
    @property
    def recipient(self) -> str | None: ...
    @property
    def body(self) -> Mapping[str, Any]: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def next_attempt_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class NewInbound:
    """An accepted activity on its way to the database (no model instance: the hot path)."""

    activity_id: str
    actor: str
    activity_type: str
    recipient: str | None
    body: Mapping[str, Any]
    received_at: datetime
    next_attempt_at: datetime


@dataclass(slots=True)
class Claimed:
    """A row the worker holds, with what processing reads and the outcome it sets."""

    id: int
    activity_id: str
    actor: str
    activity_type: str
    recipient: str | None
    body: dict[str, Any]
    attempts: int
    state: InboundState = InboundState.PENDING
    last_error: str = ""
    next_attempt_at: datetime | None = None


def _db() -> BaseDBAsyncClient:
    # The current transaction's connection inside ``in_transaction()``, else the node's.
    return InboundMessage._meta.db


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


@functools.lru_cache(maxsize=64)
def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1``, ``$2`` ... (the SQL here has no other ``?``)."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


def _in_list(count: int) -> str:
    return "(" + ", ".join("?" * count) + ")"


async def insert_new(rows: Sequence[Storable]) -> set[str]:
    """Insert ``rows`` (distinct activity ids), skipping ids already stored; returns the
    activity ids it stored. Raises what encoding a body raises (``TypeError``, ``ValueError``)
    before anything is written, and the database's error for a row it refuses."""
    values = [
        (
            row.activity_id,
            row.actor,
            row.activity_type,
            row.recipient,
            JSON_DUMPS(row.body),
            row.received_at,
            row.next_attempt_at,
        )
        for row in rows
    ]
    if not values:
        return set()
    db = _db()
    if _is_postgres(db):
        columns = [list(column) for column in zip(*values, strict=True)]
        inserted = await db.execute_query_dict(_INSERT_POSTGRES, columns)
        if inserted:  # the workers of other processes: there is work (federation/wakeups.py)
            await wakeups.notify(db, wakeups.INBOUND)
        return {row["activity_id"] for row in inserted}
    chunks = [
        values[start : start + _SQLITE_ROWS_PER_INSERT]
        for start in range(0, len(values), _SQLITE_ROWS_PER_INSERT)
    ]
    if len(chunks) == 1:  # one statement commits alone: no BEGIN and COMMIT around it
        return await _insert_sqlite(db, chunks[0])
    stored: set[str] = set()
    async with in_transaction() as connection:
        for chunk in chunks:
            stored |= await _insert_sqlite(connection, chunk)
    return stored


async def _insert_sqlite(db: BaseDBAsyncClient, values: list[tuple[Any, ...]]) -> set[str]:
    rows = ", ".join([_INSERT_SQLITE_ROW] * len(values))
    sql = f"{_INSERT}VALUES {rows} ON CONFLICT (activity_id) DO NOTHING RETURNING activity_id"
    flat = [value for row_values in values for value in row_values]
    return {row["activity_id"] for row in await db.execute_query_dict(sql, flat)}


async def claim(now: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due rows until ``lease_until``; returns them in id order."""
    params: list[Any] = [lease_until, now, now, now, limit]
    db = _db()
    if _is_postgres(db):
        async with in_transaction() as connection:
            # Claims one at a time across worker processes, so two cannot both see an actor
            # as free and split its rows (a claim is one short statement).
            await connection.execute_query("SELECT pg_advisory_xact_lock($1)", [CLAIM_LOCK])
            rows = await connection.execute_query_dict(_numbered(_CLAIM_POSTGRES), params)
    else:
        # One statement is atomic by itself, and on SQLite only one worker claims.
        rows = await db.execute_query_dict(_CLAIM_SQLITE, params)
    claimed = [
        Claimed(
            id=row["id"],
            activity_id=row["activity_id"],
            actor=row["actor"],
            activity_type=row["activity_type"],
            recipient=row["recipient"],
            body=_json(row["body"]),
            attempts=row["attempts"],
        )
        for row in rows
    ]
    claimed.sort(key=lambda row: row.id)  # RETURNING promises no order
    return claimed


def _json(value: Any) -> dict[str, Any]:
    # SQLite keeps the text; asyncpg hands jsonb over as text unless a codec says otherwise.
    return JSON_LOADS(value) if isinstance(value, str | bytes) else value  # type: ignore[no-any-return]


async def renew(ids: Iterable[int], lease_until: datetime) -> None:
    """Extend the lease of those of ``ids`` still pending."""
    held = list(ids)
    if not held:
        return
    db = _db()
    if _is_postgres(db):
        await db.execute_query(_numbered(_RENEW + "= ANY(?)"), [lease_until, held])
    else:
        await db.execute_query(_RENEW + "IN " + _in_list(len(held)), [lease_until, *held])


async def record_finished(outcomes: Mapping[tuple[InboundState, str], Sequence[int]]) -> None:
    """Set each group of ids to its (state, last_error) and free their leases, atomically."""
    groups = [(state, error, list(ids)) for (state, error), ids in outcomes.items() if ids]
    if not groups:
        return
    if len(groups) == 1:  # the usual batch: one statement, which commits alone
        await _set_outcome(_db(), *groups[0])
        return
    async with in_transaction() as db:
        for group in groups:
            await _set_outcome(db, *group)


async def _set_outcome(
    db: BaseDBAsyncClient, state: InboundState, error: str, ids: list[int]
) -> None:
    if _is_postgres(db):
        await db.execute_query(_numbered(_OUTCOME + "= ANY(?)"), [state.value, error, ids])
    else:
        await db.execute_query(_OUTCOME + "IN " + _in_list(len(ids)), [state.value, error, *ids])


async def record_retry(row: Claimed) -> None:
    """Save a failed attempt: its count, error, next attempt (or failed state, the time of the
    last attempt kept); lease freed."""
    db = _db()
    params = [row.attempts, row.last_error, row.state.value, row.next_attempt_at, row.id]
    await db.execute_query(_numbered(_RETRY) if _is_postgres(db) else _RETRY, params)


async def release_leases() -> int:
    """Free every lease on pending rows; returns how many were held."""
    count, _ = await _db().execute_query(_RELEASE)
    return count
