"""The inbound worker: processes stored activities, retrying failures with backoff.

Rows are the queue (``InboundMessage``): nothing to flush or replay, and a restart simply
continues. ``run_once()`` processes what is due now and returns how many rows it handled, so
tests drive the worker deterministically; ``run()`` loops until stopped, waking early when an
inbox stores something new. Activities no handler acts on are kept as ``ignored``, not deleted,
with the reason in ``last_error``: without a handler for their type (a later version that
learns to handle them can still act on them), or when every handler raised
:class:`federation.errors.NotActedOn` (it was not for them: a Follow of nobody we know). With
several handlers, the activity is ``done`` if any acted. On SQLite exactly one
worker runs, inside ``quartier serve``.

Within a batch, each actor's activities are processed in the order they arrived (a Create
before its Delete), and up to ``concurrency`` actors at a time: a handler waiting on a slow
server holds up only the activities of the actor that sent it. Across worker processes
(PostgreSQL) the order holds too: a worker never claims rows of an actor whose rows another
worker holds, and claims are serialised with an advisory lock.

The worker shares its process with the inbox (``quartier serve``). Given the inbox's
:class:`federation.ingest.InboxLoad`, it claims fewer rows while requests are in flight and
hands the event loop back between rows, so senders are answered first; it never stops: every
cycle handles at least one due row, and cycles follow each other without waiting while work is
due, so a backlog drains while the inbox goes on accepting. Claims, leases and outcomes are
plain SQL (:mod:`federation.queue_sql`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from federation import queue_sql
from federation.dispatch import Dispatcher, InboundActivity, object_type_of
from federation.errors import NotActedOn
from federation.ingest import InboxLoad
from federation.models import InboundState
from federation.queue_sql import Claimed

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_ERROR_LENGTH = 2000
LEASE = timedelta(minutes=5)


def storable_error(text: str) -> str:
    """An error message safe to store: it may quote remote data (NUL, lone surrogates)."""
    cleaned = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return cleaned[:MAX_ERROR_LENGTH]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; after ``max_attempts`` a row is marked failed."""

    first_delay: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    max_delay: timedelta = timedelta(hours=6)
    max_attempts: int = 10
    jitter: float = 0.2  # +- this fraction, so retries of one burst do not stay in step

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        """Wait before attempt number ``attempt + 1`` (``attempt`` counts from 1)."""
        base = min(self.first_delay * self.factor ** (attempt - 1), self.max_delay)
        return base * (1 + rng.uniform(-self.jitter, self.jitter))


async def poll_loop(
    cycle: Callable[[], Awaitable[int]],
    wake: asyncio.Event,
    stop: asyncio.Event,
    poll_interval: float,
    name: str,
) -> None:
    """Run ``cycle`` until ``stop``: again at once while it finds work, else after
    ``poll_interval`` or as soon as ``wake`` is set. A failing cycle is logged, never fatal."""
    while not stop.is_set():
        # Cleared before the cycle, not after: work announced while a cycle runs (which may
        # not see it) must make the loop go round again, not wait for the next poll.
        wake.clear()
        try:
            handled = await cycle()
        except Exception:
            log.exception("%s worker cycle failed", name)
            handled = 0
        if handled:
            continue
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=poll_interval, return_when="FIRST_COMPLETED")
        finally:
            for waiter in waiters:
                waiter.cancel()


class InboundWorker:
    """Processes due ``InboundMessage`` rows through the dispatcher."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        clock: Clock,
        *,
        policy: RetryPolicy | None = None,
        batch_size: int = 100,
        concurrency: int = 8,
        refuse: Callable[[str, dict[str, Any]], Awaitable[str | None]] | None = None,
        handler_timeout: timedelta = timedelta(minutes=2),
        renew_every: float = LEASE.total_seconds() / 3,
        rng: random.Random | None = None,
        load: InboxLoad | None = None,
        busy_batch_size: int = 25,
    ) -> None:
        self._dispatcher = dispatcher
        self._clock = clock
        self.policy = policy or RetryPolicy()
        self.batch_size = batch_size
        self.concurrency = concurrency
        # Given the sender and the activity, a reason to set it aside unprocessed (a block
        # added after it was accepted), or None.
        self._refuse = refuse
        # A handler stuck longer than this counts as failed (and is retried later).
        self.handler_timeout = handler_timeout
        # Seconds between lease renewals while a batch runs: a long batch keeps its rows, so
        # no other worker takes them (and an actor's next rows) while they are in progress.
        self._renew_every = renew_every
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        # While the inbox of this process has requests in flight, a claim takes at most
        # busy_batch_size rows (never fewer than one) and each row gives the event loop back
        # before the next: senders wait less for their 202, and the backlog still shrinks by
        # at least a row per cycle, cycles following each other while work is due.
        self._load = load
        self.busy_batch_size = max(1, busy_batch_size)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New work was stored: do not wait for the next poll."""
        self._wake.set()

    async def release_leases(self) -> int:
        """Give up every lease on inbound rows; returns how many were held.

        Only for a worker that knows it is the only one (SQLite, at start-up): every lease
        then belongs to a process that is gone, such as one killed with ``kill -9``, and its
        rows, with every later row of their actors, would otherwise wait for it to end.
        """
        return await queue_sql.release_leases()

    async def run_once(self) -> int:
        """Process the rows due now, up to ``batch_size`` (up to ``busy_batch_size`` while the
        inbox has requests in flight); returns how many were handled."""
        now = self._clock()
        busy = self._load is not None and self._load.in_flight > 0
        limit = min(self.batch_size, self.busy_batch_size) if busy else self.batch_size
        # SKIP LOCKED and a lease (queue_sql.claim): several workers on PostgreSQL take
        # different rows, and the rows of a worker that died are taken up when its lease ends.
        rows = await queue_sql.claim(now, now + LEASE, limit)
        by_actor: dict[str, list[Claimed]] = defaultdict(list)
        for row in rows:
            by_actor[row.actor].append(row)
        slots = asyncio.Semaphore(self.concurrency)
        finished: list[Claimed] = []
        leased = {row.id for row in rows}  # held by this batch until recorded

        async def in_order(actor_rows: list[Claimed]) -> None:
            async with slots:
                for row in actor_rows:
                    if self._load is not None and self._load.in_flight:
                        await asyncio.sleep(0)  # requests waiting for their 202 go first
                    try:
                        if await self._process(row, now):
                            finished.append(row)
                        else:
                            leased.discard(row.id)  # its retry (and lease) is saved already
                    except Exception:
                        # One row must not stop the others; it is retried when its lease ends.
                        log.exception("processing inbound %s failed", row.activity_id)

        renewing = asyncio.create_task(self._keep_leased(leased))
        try:
            await asyncio.gather(*(in_order(actor_rows) for actor_rows in by_actor.values()))
        finally:
            renewing.cancel()
            await asyncio.wait([renewing])
            await _record_finished(finished)
        return len(rows)

    async def _keep_leased(self, held: set[int]) -> None:
        while True:
            await asyncio.sleep(self._renew_every)
            try:
                await queue_sql.renew(held, self._clock() + LEASE)
            except Exception:  # the next renewal may succeed; the lease still runs meanwhile
                log.exception("renewing the lease of %d inbound rows failed", len(held))

    async def run(self, stop: asyncio.Event, poll_interval: float = 5.0) -> None:
        """Loop until ``stop`` is set (see :func:`poll_loop`)."""
        await poll_loop(self.run_once, self._wake, stop, poll_interval, "inbound")

    async def _process(self, row: Claimed, now: datetime) -> bool:
        """Handle one row; ``True`` when it is finished (done or ignored) and waits to be
        recorded with the batch, ``False`` when its retry or failure was saved already."""
        activity = InboundActivity(
            activity_id=row.activity_id,
            actor=row.actor,
            activity_type=row.activity_type,
            object_type=object_type_of(row.body),
            recipient=row.recipient,
            body=row.body,
        )
        handlers = self._dispatcher.handlers_for(activity)
        refused = await self._refuse(row.actor, row.body) if self._refuse is not None else None
        if refused is None and not handlers:
            refused = f"this node does not handle {_kind(activity)}"
        if refused is not None:
            row.state, row.last_error = InboundState.IGNORED, storable_error(refused)
            return True
        passed: list[str] = []  # why each handler that did not act left it alone
        try:
            async with asyncio.timeout(self.handler_timeout.total_seconds()):
                for handler in handlers:
                    try:
                        await handler(activity)
                    except NotActedOn as exc:
                        passed.append(exc.reason)
        except Exception as exc:
            row.attempts += 1
            row.last_error = storable_error(f"{type(exc).__name__}: {exc}")
            if row.attempts >= self.policy.max_attempts:
                row.state = InboundState.FAILED
                log.warning("giving up on %s after %d attempts", row.activity_id, row.attempts)
            else:
                row.next_attempt_at = now + self.policy.delay(row.attempts, self._rng)
                log.info("will retry %s: %s", row.activity_id, row.last_error)
            await queue_sql.record_retry(row)
            return False
        if len(passed) == len(handlers):
            row.state = InboundState.IGNORED
            row.last_error = storable_error("; ".join(dict.fromkeys(passed)))
        else:
            row.state, row.last_error = InboundState.DONE, ""
        return True


def _kind(activity: InboundActivity) -> str:
    """``Create`` or ``Create(Note)``: the activity's type as a node admin reads it."""
    if activity.object_type is None:
        return activity.activity_type
    return f"{activity.activity_type}({activity.object_type})"


async def _record_finished(rows: list[Claimed]) -> None:
    """Mark a batch's finished rows at once, one statement per outcome.

    A committed UPDATE per activity was the inbound path's largest database cost. If the
    process dies first, the rows are handled again when their lease ends: handlers are
    idempotent, so nothing changes twice.
    """
    outcomes: dict[tuple[InboundState, str], list[int]] = defaultdict(list)
    for row in rows:
        outcomes[row.state, row.last_error].append(row.id)
    await queue_sql.record_finished(outcomes)
