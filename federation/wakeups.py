"""Waking the workers of other processes when work is queued (PostgreSQL ``LISTEN/NOTIFY``).

A worker wakes at once for work queued in its own process (the inbox and ``publish`` call its
``wake()``), and otherwise polls the queue every few seconds. With several processes on
PostgreSQL (``serve --processes N``, ``quartier worker``), the process that queued the work is
not always the one with a free worker: an activity stored by one process's inbox, or a
delivery queued by one process's request, would wait for another process's next poll. So,
on PostgreSQL, whoever stores rows in a queue also sends a notification on the queue's
channel (delivered when its transaction commits, once per transaction and channel however
many rows), and each process listens on one connection of its own and wakes its workers.

Nothing here is needed for correctness: a notification lost (a dropped listening connection)
only means the poll finds the work a few seconds later. On SQLite there is one process, and
nothing to send.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from tortoise.backends.base.client import BaseDBAsyncClient

log = logging.getLogger(__name__)

INBOUND = "quartier_inbound"  # rows stored in inbound_message
DELIVERIES = "quartier_deliveries"  # rows stored in delivery

# Options of tortoise's PostgreSQL URL that configure its pool, not the connection.
_POOL_OPTIONS = frozenset({"minsize", "maxsize", "max_queries", "max_inactive_connection_lifetime"})


async def notify(db: BaseDBAsyncClient, channel: str) -> None:
    """Tell the other processes that rows were stored in ``channel``'s queue (PostgreSQL; at
    the commit of the current transaction, if there is one). Nothing on SQLite."""
    if db.capabilities.dialect == "postgres":
        await db.execute_query("SELECT pg_notify($1, '')", [channel])


class Listener:
    """One connection of its own that listens on queue channels and calls the wake-up of
    each; reconnects after ``retry`` seconds when the connection is lost."""

    def __init__(
        self, database_url: str, wakeups: Mapping[str, Callable[[], None]], retry: float = 10.0
    ) -> None:
        self._url = connection_url(database_url)
        self._wakeups = dict(wakeups)
        self._retry = retry
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.listening = asyncio.Event()  # set while the connection listens

    async def start(self) -> None:
        """Listen in the background until :meth:`close`."""
        self._task = asyncio.create_task(self._run(), name="queue-wakeups")

    async def close(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                connection = await asyncpg.connect(self._url)
                try:
                    await self._listen(connection)
                finally:
                    self.listening.clear()
                    await _close(connection)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning(
                    "cannot listen for queued work (%s): other processes' work is found by "
                    "polling; trying again in %.0f s",
                    exc,
                    self._retry,
                )
            await asyncio.sleep(self._retry)

    async def _listen(self, connection: asyncpg.Connection) -> None:
        self._lost.clear()
        connection.add_termination_listener(lambda _: self._lost.set())
        for channel in self._wakeups:
            await connection.add_listener(channel, self._notified)
        self.listening.set()
        # A wake-up for work queued while the connection was down: each worker looks once.
        for wake in self._wakeups.values():
            wake()
        await self._lost.wait()
        log.warning("the connection listening for queued work was lost: reconnecting")

    def _notified(self, _connection: Any, _pid: int, channel: str, _payload: str) -> None:
        wake = self._wakeups.get(channel)
        if wake is not None:
            wake()


async def _close(connection: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(connection.close(), timeout=5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        connection.terminate()


def connection_url(database_url: str) -> str:
    """The node's PostgreSQL URL as asyncpg reads it: tortoise's pool options left out."""
    parts = urlsplit(database_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in _POOL_OPTIONS]
    return urlunsplit(parts._replace(query=urlencode(query)))
