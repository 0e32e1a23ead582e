"""Storing accepted activities many to a transaction (group commit).

The inbox may answer 202 only once the activity is committed. A commit per request caps the
inbox at the disk's sync rate, so :class:`InboxWriter` gathers the activities of concurrent
requests and commits them together: each request still waits for *its* commit, but one commit
serves all requests that arrived while the previous one was being written. Nothing is delayed
on purpose: an idle inbox commits a lone activity at once, a busy one in growing groups.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from federation.errors import StoreFailed
from federation.queue_sql import Storable, insert_new

log = logging.getLogger(__name__)

MAX_GROUP = 500


class InboxLoad:
    """How many inbox requests are being handled right now.

    The inbox counts its requests here; the inbound worker, in the same process, reads it to
    take smaller claims while senders are waiting (see ``InboundWorker``).
    """

    def __init__(self) -> None:
        self.in_flight = 0

    @contextmanager
    def request(self) -> Iterator[None]:
        """Count one request for as long as the block runs."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


class InboxWriter:
    """Commits ``InboundMessage`` rows for concurrent requests in shared transactions (one
    ``INSERT`` statement per group, :func:`federation.queue_sql.insert_new`).

    Use one writer per node (per ORM context): the writing task runs in the context of the
    request that started it.
    """

    def __init__(self, max_group: int = MAX_GROUP) -> None:
        self._max_group = max_group
        self._waiting: list[tuple[Storable, asyncio.Future[bool]]] = []
        self._in_flight: list[tuple[Storable, asyncio.Future[bool]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def store(self, message: Storable) -> bool:
        """Commit ``message``; ``True`` once stored, ``False`` if its activity id was already
        stored. Raises ``StoreFailed`` (caused by the database's error) when it was not."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        # A waiter that gave up (cancelled) no longer reads its outcome: read it here, or
        # asyncio reports "exception was never retrieved" for a failed commit.
        done.add_done_callback(_retrieve)
        self._waiting.append((message, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_all(), name="inbox-writer")
            self._writing.add_done_callback(self._finished)
        # A sender that hangs up does not cancel the write: the group is committed anyway.
        return await asyncio.shield(done)

    async def close(self) -> None:
        """Wait until everything handed over so far is committed."""
        if self._writing is not None:
            await asyncio.wait([self._writing])  # does not raise if the writer was cancelled

    async def _write_all(self) -> None:
        while self._waiting:
            group = self._in_flight = self._waiting[: self._max_group]
            del self._waiting[: self._max_group]
            try:
                await self._write(group)
            finally:
                self._in_flight = []

    async def _write(self, group: list[tuple[Storable, asyncio.Future[bool]]]) -> None:
        try:
            outcomes = await _commit(group)
        except Exception as exc:
            # str(exc): a record holding the exception would keep every waiter alive.
            log.warning("storing %d inbound activities failed: %s", len(group), str(exc))
            if len(group) == 1:
                _fail(group, exc)  # its waiter learns it: it may not answer 202
                return
            # One row the database refuses must not fail its neighbours: each on its own.
            for item in group:
                await self._write([item])
            return
        for (_, done), stored in zip(group, outcomes, strict=True):
            if not done.done():
                done.set_result(stored)

    def _finished(self, task: asyncio.Task[None]) -> None:
        # Cancelled (even before it started) or crashed: nobody may be left waiting forever.
        cause = asyncio.CancelledError() if task.cancelled() else task.exception()
        if cause is not None:
            _fail(self._in_flight + self._waiting, cause)
            self._in_flight, self._waiting = [], []


def _fail(group: list[tuple[Storable, asyncio.Future[bool]]], cause: BaseException) -> None:
    for _, done in group:
        if not done.done():
            # One exception per waiter: a shared one would collect every request's traceback.
            failed = StoreFailed(f"the activity could not be stored: {cause!r}")
            failed.__cause__ = cause
            done.set_exception(failed)


def _retrieve(done: asyncio.Future[bool]) -> None:
    if not done.cancelled():
        done.exception()


async def _commit(group: list[tuple[Storable, asyncio.Future[bool]]]) -> list[bool]:
    """Insert the group in one statement; which rows were new (others are duplicates)."""
    first: dict[str, Storable] = {}
    for message, _ in group:
        first.setdefault(message.activity_id, message)  # a second copy in a group: duplicate
    stored = await insert_new(list(first.values()))
    outcomes: list[bool] = []
    for message, _ in group:
        outcomes.append(message.activity_id in stored and first[message.activity_id] is message)
    return outcomes
