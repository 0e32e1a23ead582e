"""Outbound delivery: ``publish`` writes rows, ``DeliveryWorker`` signs and POSTs them.

``publish`` only inserts ``Delivery`` rows, one per distinct inbox, so the caller can do it in
the same transaction as the change it reports: either both happen or neither. The worker then
delivers, signing each request with the local actor's key: RFC 9421 ``ed25519`` to peers known
to take it, draft-cavage ``rsa-sha256`` to all others; an RFC 9421 delivery the peer refuses is
sent again at once with draft-cavage, and the peer remembered (:mod:`federation.signing`).
Then, for the answer to the request that counts (the second one, after such a refusal):

- 2xx: delivered. 410 Gone: the recipient is gone; dead, and ``on_gone`` tells the node.
- 429: retried after the peer's ``Retry-After`` (capped). Other 4xx (except 408): dead, the
  peer refuses it for good. 5xx, 408, timeouts, connection errors: retried with exponential
  backoff and jitter until ``horizon`` (3 days) after creation, then dead.
- A target we must not reach (private address, plain http), or one the ``refuse`` hook turns
  down (the community's federation policy): dead at once, never sent.

New work goes before the backlog (rows never tried first), each host gets at most
``per_host`` requests at a time, and rows are leased while in flight so a crashed worker's
rows are taken up again when the lease runs out. A batch does not wait for requests to a
server that lets them hang: they finish in the background (``DeliveryPolicy.straggler_after``).

A host that answers again (a delivery to it succeeds, or, through ``host_answered``, it
delivers to our inbox) gets its rows waiting for a retry at once, not at their next backoff
slot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from activitypub.signatures import sign_request, sign_request_rfc9421
from federation import wakeups
from federation.delivery_sql import claimable_ids
from federation.errors import ForbiddenAddress, ForbiddenScheme, PeerUnreachable, TransportError
from federation.models import Delivery, DeliveryState, SharedItem, SignatureScheme
from federation.signing import SchemeMemory
from federation.transport import SIGNATURE_REFUSALS, Response, Transport
from federation.worker import RetryPolicy, poll_loop, storable_error
from moderation.domains import authority_of
from moderation.governance import shared_content

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# local actor URI -> (key id, RSA private key); LookupError when the actor is not ours (any more)
SignerKeys = Callable[[str], Awaitable[tuple[str, rsa.RSAPrivateKey]]]
# local actor URI -> (Multikey id, Ed25519 private key); LookupError when it has none
Ed25519Keys = Callable[[str], Awaitable[tuple[str, ed25519.Ed25519PrivateKey]]]
GoneHook = Callable[[str], Awaitable[None]]
# Why some of a batch's deliveries must not be sent at all (the community's federation policy):
# row id -> reason, for those rows only. Asked once per batch, so that what the rows share (the
# partnerships of their hosts) is read in one query, not once per delivery.
RefusalHook = Callable[[Sequence[Delivery]], Awaitable[Mapping[int, str]]]


async def publish(
    activity: dict[str, Any],
    inboxes: Iterable[str],
    signer: str,
    now: datetime,
    *,
    partners_only: bool = False,
) -> int:
    """Queue ``activity`` for every distinct inbox; returns how many deliveries were queued.

    Call it inside the transaction of the change the activity reports. ``partners_only``
    marks what is meant for partner nodes alone: the worker's ``refuse`` hook drops such a
    delivery if its host stopped being a partner before it went out.
    """
    body = json.dumps(activity, separators=(",", ":"))
    targets = sorted(set(inboxes))
    # What it shares is read from the activity, not taken from the caller: the community's
    # policy is applied to what actually goes out, whatever the service meant to send.
    shared = shared_content(activity)
    activity_type = activity.get("type")
    activity_type = activity_type[:32] if isinstance(activity_type, str) else ""
    await Delivery.bulk_create(
        [
            Delivery(
                activity_id=activity["id"],
                inbox=inbox,
                host=authority_of(inbox),
                signer=signer,
                body=body,
                created_at=now,
                next_attempt_at=now,
                partners_only=partners_only,
                kind=shared.kind.value if shared else "",
                owner=shared.owner if shared else "",
                subject=shared.subject if shared else "",
                activity_type=activity_type,
            )
            for inbox in targets
        ]
    )
    if targets:  # the delivery workers of other processes: there is work (at commit)
        await wakeups.notify(Delivery._meta.db, wakeups.DELIVERIES)
    return len(targets)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard and how fast we deliver."""

    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(
            first_delay=timedelta(minutes=1), max_delay=timedelta(hours=6), max_attempts=1_000
        )
    )
    horizon: timedelta = timedelta(days=3)
    per_host: int = 4
    concurrency: int = 32
    batch_size: int = 200
    lease: timedelta = timedelta(minutes=5)
    flush_every: int = 100  # outcomes written per transaction
    max_retry_after: timedelta = timedelta(hours=12)
    # A failure this soon after the host answered is the activity's, not the host's: it backs
    # off without waiting for the host to come back (or every answer would retry it at once).
    answered_recently: timedelta = timedelta(minutes=1)
    # How often the hosts with delayed rows are read again (other workers' failures, restarts).
    delayed_hosts_refresh: timedelta = timedelta(seconds=30)
    # Record each delivery of a member's content in the sharing ledger (off only to measure
    # what the ledger costs).
    ledger: bool = True
    # A batch stops waiting once this passes with none of its running requests ending: they
    # finish in the background (a server letting connections hang would otherwise hold the
    # batch, and every other host's rows, for a whole timeout).
    straggler_after: timedelta = timedelta(seconds=2)


class DeliveryWorker:
    """Delivers due ``Delivery`` rows."""

    def __init__(
        self,
        transport: Transport,
        signer_keys: SignerKeys,
        clock: Clock,
        *,
        policy: DeliveryPolicy | None = None,
        on_gone: GoneHook | None = None,
        refuse: RefusalHook | None = None,
        rng: random.Random | None = None,
        schemes: SchemeMemory | None = None,
        ed25519_keys: Ed25519Keys | None = None,
    ) -> None:
        self._transport = transport
        self._signer_keys = signer_keys
        # Both or neither: without them every delivery is signed draft-cavage.
        self._schemes = schemes if ed25519_keys is not None else None
        self._ed25519_keys = ed25519_keys
        self._clock = clock
        self.policy = policy or DeliveryPolicy()
        self._on_gone = on_gone
        self._refuse = refuse
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._wake = asyncio.Event()
        # Hosts with rows waiting for a retry: an answer from one of them makes its rows due.
        # In memory, so that the inbox asks it for every POST without a query.
        self._delayed: set[str] = set()
        self._delayed_read_at: datetime | None = None
        self._answered_at: dict[str, datetime] = {}
        # Hosts whose rows an inbound answer made due, and which no delivery has reached since:
        # a server whose inbox fails while it still sends to us (its web workers down, its
        # delivery jobs up) must not have its backlog retried at each of its messages.
        self._flushed_on_answer: set[str] = set()
        # Batches in a row in which a host did not answer at all (timeout, connection refused):
        # how long its waiting rows are put off grows with it, as a row's retries do.
        self._unreachable_streak: dict[str, int] = {}
        # Batches whose last requests still run in the background (see run_once).
        self._stragglers: dict[asyncio.Task[None], _Stragglers] = {}

    def wake(self) -> None:
        """New deliveries were queued."""
        self._wake.set()

    async def release_leases(self) -> int:
        """Give up every lease on deliveries; returns how many were held.

        Only for a worker that knows it is the only one (SQLite, at start-up): every lease
        then belongs to a process that is gone. Rows it had sent but not recorded go out
        again (receivers drop the duplicate by activity id).
        """
        return await Delivery.filter(state=DeliveryState.PENDING, lease_until__isnull=False).update(
            lease_until=None
        )

    async def host_answered(self, host: str) -> None:
        """``host`` (``host[:port]``) is reachable again: it sent us something we accepted.

        Its rows waiting for a retry become due now (not at their next backoff slot, hours
        away after a long outage) and the worker wakes; only 429 answers keep their wait.
        Free when the host has no delayed rows: no query, which the inbox relies on. Never
        raises: the caller has done its own work already.
        """
        now = self._clock()
        self._answered_at[host] = now
        if host not in self._delayed or host in self._flushed_on_answer:
            return
        self._delayed.discard(host)  # first: concurrent answers make one UPDATE, not several
        self._flushed_on_answer.add(host)  # again only once a delivery to it succeeds
        try:
            due = await self._make_due(host, now, exclude=())
        except Exception:
            self._delayed.add(host)  # the next answer tries again
            self._flushed_on_answer.discard(host)
            log.exception("making the deliveries to %s due failed", host)
            return
        if due:
            log.info("%s answers again: %d deliveries to it are due now", host, due)
            self.wake()

    async def _make_due(self, host: str, now: datetime, exclude: Iterable[int]) -> int:
        """One UPDATE: the delayed rows of ``host`` (but ``exclude``) become due at ``now``."""
        delayed = (
            _waiting(host, now, exclude)
            .filter(next_attempt_at__gt=now)
            # The peer asked for that wait (Retry-After): an answer does not cancel it.
            .filter(Q(last_status__isnull=True) | Q(last_status__not=429))
        )
        return await delayed.update(next_attempt_at=now)

    async def _read_delayed_hosts(self, now: datetime) -> None:
        """Learn the delayed hosts from the database: at start-up, and those of other workers
        (PostgreSQL), at most every ``delayed_hosts_refresh``."""
        read_at = self._delayed_read_at
        if read_at is not None and now - read_at < self.policy.delayed_hosts_refresh:
            return
        self._delayed_read_at = now
        hosts = (
            await Delivery.filter(state=DeliveryState.PENDING, next_attempt_at__gt=now)
            .filter(Q(last_status__isnull=True) | Q(last_status__not=429))
            .distinct()
            .values_list("host", flat=True)
        )
        recent = now - self.policy.answered_recently
        self._answered_at = {h: t for h, t in self._answered_at.items() if t > recent}
        self._delayed = {str(h) for h in hosts if str(h) not in self._answered_at}

    async def run_once(self) -> int:
        """Deliver what is due now (one batch); returns how many rows were attempted.

        Returns once every row of the batch is done, or once ``policy.straggler_after``
        passes with none of the requests still running finishing: those finish in the
        background (their rows leased, their outcomes written when they end), and their hosts
        get no rows in the next batches until then (:meth:`settle` waits for them)."""
        await self._read_delayed_hosts(self._clock())
        room = await self._room()
        rows = await self._claim(room)
        if not rows:
            return 0
        batch = _Batch(rows, room, self.policy)
        # Asked for the whole batch just before it is sent: a block, a mode change or an
        # ended partnership also stops rows queued before it (a batch lasts seconds, at most
        # half a lease).
        refused = await self._refuse(rows) if self._refuse is not None else {}
        for row in rows:
            if (reason := refused.get(row.id)) is not None:
                await self._give_up(row, batch.results, None, reason)
        tasks = {
            asyncio.create_task(self._one(batch, row)): row.host
            for row in rows
            if row.id not in refused
        }
        for task in tasks:
            task.add_done_callback(batch.progressed)
        try:
            left = await batch.wait_while_progressing(tasks)
        except BaseException:  # cancelled: what was sent must still be recorded
            await _cancel(tasks)
            await batch.results.flush()
            raise
        if not left:
            await self._finish(batch, list(tasks))
            return len(rows)
        hosts = frozenset(tasks[task] for task in left)
        log.info(
            "%d deliveries to %s still running after %s without an answer: they finish in "
            "the background",
            len(left),
            ", ".join(sorted(hosts)),
            self.policy.straggler_after,
        )
        await batch.results.flush()  # the rows already done are not held up by the rest
        finisher = asyncio.create_task(self._finish(batch, list(tasks)))
        self._stragglers[finisher] = _Stragglers(hosts, batch)
        finisher.add_done_callback(self._straggled)
        return len(rows)

    async def settle(self) -> None:
        """Wait for the requests of earlier batches still finishing in the background."""
        while self._stragglers:
            await asyncio.gather(*self._stragglers, return_exceptions=True)

    async def _room(self) -> int:
        """Requests this batch may have in flight: ``policy.concurrency`` less those of
        earlier batches still running; when none is left, waits until one ends."""
        while True:
            running = sum(s.batch.in_flight for s in self._stragglers.values())
            if running < self.policy.concurrency or not self._stragglers:
                return max(1, self.policy.concurrency - running)
            await asyncio.wait(list(self._stragglers), return_when=asyncio.FIRST_COMPLETED)

    def _straggled(self, finisher: asyncio.Task[None]) -> None:
        del self._stragglers[finisher]
        if not finisher.cancelled() and (error := finisher.exception()) is not None:
            log.error("finishing a batch's last deliveries failed", exc_info=error)
        self.wake()  # its hosts may be claimed again

    async def _one(self, batch: _Batch, row: Delivery) -> None:
        # The host's slot first, then the batch's: rows queued behind a slow host must not
        # hold slots the other hosts' rows could use.
        async with batch.host_slots[row.host], batch.slots:
            if (error := batch.unreachable.get(row.host)) is not None:
                await self._retry(row, batch.results, None, f"not sent: {error}", self._clock())
                return
            batch.in_flight += 1
            try:
                await self._deliver(row, batch.results, batch.unreachable)
            finally:
                batch.in_flight -= 1

    async def _finish(self, batch: _Batch, tasks: list[asyncio.Task[None]]) -> None:
        """Wait for the batch's last deliveries, then record it: outcomes, the hosts that
        answered again, those that did not answer at all."""
        try:
            # return_exceptions: one failure (a flush) must not stop waiting for the others,
            # or outcomes recorded after the final flush below would never be written.
            failures = await asyncio.gather(*tasks, return_exceptions=True)
        except BaseException:
            await _cancel(tasks)
            raise
        finally:
            await batch.results.flush()  # even when cancelled: what was sent must be recorded
        for failure in failures:
            if isinstance(failure, BaseException):
                log.error("a delivery failed unexpectedly", exc_info=failure)
        await self._recovered(batch.results.answered, batch.ids)
        await self._put_off(batch.unreachable, batch.ids)

    async def _put_off(self, unreachable: Mapping[str, str], batch: list[int]) -> None:
        """The waiting rows of hosts that did not answer this batch wait as a retry would
        (growing with each such batch in a row), so that the next batches do not try them
        again at once; an answer from the host makes them due again (``host_answered``)."""
        now = self._clock()
        for host, error in unreachable.items():
            streak = self._unreachable_streak[host] = self._unreachable_streak.get(host, 0) + 1
            until = now + self.policy.retry.delay(streak, self._rng)
            put_off = (
                await _waiting(host, now, batch)
                .filter(next_attempt_at__lt=until)
                .update(next_attempt_at=until)
            )
            self._delayed.add(host)
            log.info(
                "%s does not answer (%s): %d deliveries to it put off until %s",
                host,
                error,
                put_off,
                until.isoformat(timespec="seconds"),
            )

    async def _recovered(self, hosts: set[str], batch: list[int]) -> None:
        """Hosts a delivery of this batch reached: their delayed rows are due now. Rows of
        this batch keep the outcome just written (one that failed while its host answered
        failed for its own reasons)."""
        now = self._clock()
        for host in hosts & self._delayed:
            self._delayed.discard(host)
            if due := await self._make_due(host, now, exclude=batch):
                log.info("%s answers again: %d deliveries to it are due now", host, due)
                self.wake()

    async def run(self, stop: asyncio.Event, poll_interval: float = 5.0) -> None:
        """Loop until ``stop`` is set (see :func:`federation.worker.poll_loop`). Requests still
        running in the background then are cancelled: their rows stay leased and go out again
        when the lease ends (at once on SQLite, whose next start releases every lease)."""
        try:
            await poll_loop(self.run_once, self._wake, stop, poll_interval, "delivery")
        finally:
            await _cancel(list(self._stragglers))

    async def _claim(self, room: int | None = None) -> list[Delivery]:
        now = self._clock()
        per_host, total = self._within_lease(room)
        # A host with requests still running in the background gets none in this batch.
        busy = {host for s in self._stragglers.values() for host in s.hosts}
        async with in_transaction() as connection:
            # At most per_host rows of each host, chosen in SQL (federation/delivery_sql.py):
            # one host's backlog cannot fill the batch. SKIP LOCKED: several workers on
            # PostgreSQL each take different rows; SQLite runs exactly one worker.
            ids = await claimable_ids(
                connection,
                DeliveryState.PENDING.value,
                now,
                per_host,
                min(self.policy.batch_size, total),
                busy,
            )
            if not ids:
                return []
            await Delivery.filter(id__in=ids).update(lease_until=now + self.policy.lease)
            return await Delivery.filter(id__in=ids).order_by("attempts", "id")

    def _within_lease(self, room: int | None = None) -> tuple[int, int]:
        """How many rows of one host, and in all, a batch can surely finish before its lease
        ends, with ``room`` requests in flight at a time (``policy.concurrency`` by default).

        A host gets ``per_host`` requests at a time and the batch ``concurrency``, each up to
        the transport's timeout: a batch holding hundreds of rows for one slow host could
        outlast the lease, and another worker would take (and send) those rows again. So a
        host, and the batch, get at most as many rows as half the lease allows; the rest wait
        for the next batch.
        """
        timeout = timedelta(seconds=self._transport.settings.total_timeout)
        rounds = max(1, int(self.policy.lease / (2 * timeout)))
        return self.policy.per_host * rounds, (room or self.policy.concurrency) * rounds

    async def _deliver(self, row: Delivery, results: _Results, unreachable: dict[str, str]) -> None:
        """Sign and POST ``row`` and record the outcome; a host that does not answer at all
        goes into ``unreachable``."""
        now = self._clock()
        body = row.body.encode("utf-8")
        try:
            rsa_key = await self._signer_keys(row.signer)
        except LookupError as exc:  # the signer was deleted since: nothing can sign this
            await self._give_up(row, results, None, f"cannot sign: {exc}")
            return
        try:
            response = await self._knock(row, body, rsa_key, now)
        except (ForbiddenAddress, ForbiddenScheme) as exc:
            await self._give_up(row, results, None, str(exc))
            return
        except TransportError as exc:
            # No answer at all (a timeout, a refused or reset connection), not an answer we
            # could not read (too large, malformed): the host is down for now.
            if isinstance(exc, PeerUnreachable):
                unreachable.setdefault(row.host, str(exc))
            await self._retry(row, results, None, str(exc), now)
            return
        self._unreachable_streak.pop(row.host, None)
        status = response.status
        if 200 <= status < 300:
            row.state, row.delivered_at, row.last_status = DeliveryState.DELIVERED, now, status
            row.attempts += 1
            row.lease_until, row.last_error = None, ""
            self._answered_at[row.host] = now
            self._flushed_on_answer.discard(row.host)
            results.answered.add(row.host)
            await results.add(row)
        elif status == 410:
            await self._give_up(row, results, status, "the recipient is gone")
            if self._on_gone is not None:
                await self._on_gone(row.inbox)
        elif status == 429:
            wait = _retry_after(response.headers.get("Retry-After"), now)
            await self._retry(row, results, status, "rate limited by the peer", now, wait)
        elif 400 <= status < 500 and status != 408:
            await self._give_up(row, results, status, f"refused with {status}")
        else:
            await self._retry(row, results, status, f"answered {status}", now)

    async def _knock(
        self, row: Delivery, body: bytes, rsa_key: tuple[str, rsa.RSAPrivateKey], now: datetime
    ) -> Response:
        """POST ``row``, signed as its host takes it; a refused RFC 9421 signature is followed
        at once by the same request signed draft-cavage (the "double knock"), whose answer is
        the delivery's."""
        if self._schemes is None:
            return await self._post(row, body, rsa_key, None, now)
        scheme = await self._schemes.for_delivery(row.inbox)
        ed_key = await self._ed25519_key(row.signer) if scheme is SignatureScheme.RFC9421 else None
        response = await self._post(row, body, rsa_key, ed_key, now)
        if ed_key is None:
            return response
        if 200 <= response.status < 300:
            await self._schemes.accepted(row.inbox)
        elif response.status in SIGNATURE_REFUSALS:
            response = await self._post(row, body, rsa_key, None, now)
            if 200 <= response.status < 300:
                # Only now: refused both ways, the fault was not the scheme (a key the peer
                # could not fetch, say), and the next delivery knocks with RFC 9421 again.
                await self._schemes.refused(row.inbox)
        return response

    async def _ed25519_key(self, signer: str) -> tuple[str, ed25519.Ed25519PrivateKey] | None:
        assert self._ed25519_keys is not None
        try:
            return await self._ed25519_keys(signer)
        except LookupError:  # an erased account keeps only its RSA key: draft-cavage
            return None

    async def _post(
        self,
        row: Delivery,
        body: bytes,
        rsa_key: tuple[str, rsa.RSAPrivateKey],
        ed_key: tuple[str, ed25519.Ed25519PrivateKey] | None,
        now: datetime,
    ) -> Response:
        """One signed POST: RFC 9421 with ``ed_key`` when given, else draft-cavage."""
        if ed_key is not None:
            headers = sign_request_rfc9421("POST", row.inbox, body, *ed_key, now)
        else:
            headers = sign_request("POST", row.inbox, body, *rsa_key, now)
        headers["Content-Type"] = "application/activity+json"
        return await self._transport.request("POST", row.inbox, headers=headers, body=body)

    async def _retry(
        self,
        row: Delivery,
        results: _Results,
        status: int | None,
        error: str,
        now: datetime,
        wait: timedelta | None = None,
    ) -> None:
        row.attempts += 1
        if now - row.created_at >= self.policy.horizon:
            await self._give_up(row, results, status, f"{error}; retried for {self.policy.horizon}")
            return
        if wait is not None:
            wait = min(wait, self.policy.max_retry_after)
        row.next_attempt_at = now + (wait or self.policy.retry.delay(row.attempts, self._rng))
        row.last_status, row.last_error, row.lease_until = status, storable_error(error), None
        answered = self._answered_at.get(row.host)
        if status != 429 and (answered is None or now - answered > self.policy.answered_recently):
            self._delayed.add(row.host)  # down, it seems: its next answer makes this due
        await results.add(row)

    async def _give_up(
        self, row: Delivery, results: _Results, status: int | None, error: str
    ) -> None:
        row.state, row.last_status = DeliveryState.DEAD, status
        row.last_error, row.lease_until = storable_error(error), None
        await results.add(row)
        log.info("delivery %s to %s is dead: %s", row.activity_id, row.inbox, error)


@dataclass(frozen=True)
class _Stragglers:
    """A batch whose last requests run in the background, and their hosts."""

    hosts: frozenset[str]
    batch: _Batch


class _Batch:
    """One claim's rows while they are sent: the limits on requests in flight (``room`` in
    all, the policy's ``per_host`` to each host), the outcomes, the hosts that did not answer at all
    (host -> the error: their other rows are not sent, or a server letting connections time
    out would hold the batch a timeout per request), and when a request last ended."""

    def __init__(self, rows: list[Delivery], room: int, policy: DeliveryPolicy) -> None:
        self.ids = [row.id for row in rows]
        self.slots = asyncio.Semaphore(room)
        self.host_slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(policy.per_host)
        )
        self.results = _Results(policy.flush_every, policy.ledger)
        self.unreachable: dict[str, str] = {}
        self.in_flight = 0  # requests sent and not answered yet
        self._quiet = policy.straggler_after.total_seconds()
        self._loop = asyncio.get_running_loop()
        self._last_ended = 0.0
        self._running = 0
        self._all_ended = asyncio.Event()

    def progressed(self, task: asyncio.Task[None]) -> None:
        """A request of the batch ended (a task's done callback)."""
        self._last_ended = self._loop.time()
        self._running -= 1
        if self._running <= 0:
            self._all_ended.set()

    async def wait_while_progressing(
        self, tasks: Mapping[asyncio.Task[None], str]
    ) -> set[asyncio.Task[None]]:
        """Wait for ``tasks`` for as long as one of them ends at least every ``quiet``
        seconds; returns those still running when that stops (none when all ended)."""
        self._running += sum(not task.done() for task in tasks)
        if self._running <= 0:
            return set()
        self._last_ended = self._loop.time()  # the quiet period counts from the first send
        # One timer per quiet period, not a wait per task ending: a batch of hundreds of
        # requests pays no more for this than for a plain gather.
        while not self._all_ended.is_set():
            try:
                async with asyncio.timeout_at(self._last_ended + self._quiet):
                    await self._all_ended.wait()
            except TimeoutError:
                if self._loop.time() >= self._last_ended + self._quiet:
                    break
        return {task for task in tasks if not task.done()}


async def _cancel(tasks: Collection[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait for them to end (their ``finally`` blocks record outcomes)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class _Results:
    """Outcomes of one batch, written a group at a time.

    A committed UPDATE per delivery cost about half of each delivery's time (see
    docs/performance.md), so outcomes are written ``size`` at a time in one transaction, and
    successes of one status in one statement (each row's try counted in SQL, so rows with
    different histories still share it). If the process dies first, those rows are sent
    again once their lease ends: at most a batch of duplicates, which receivers drop by
    activity id, and nothing lost.
    """

    _FIELDS = (
        "state",
        "attempts",
        "next_attempt_at",
        "last_status",
        "last_error",
        "lease_until",
        "delivered_at",
    )

    def __init__(self, size: int, ledger: bool) -> None:
        self._size = size
        self._ledger = ledger
        self._rows: list[Delivery] = []
        self.answered: set[str] = set()  # hosts that accepted a delivery of this batch

    async def add(self, row: Delivery) -> None:
        """Record ``row``'s new state; writes the group once it is full."""
        self._rows.append(row)
        if len(self._rows) >= self._size:
            await self.flush()

    async def flush(self) -> None:
        """Write every outcome recorded so far."""
        rows, self._rows = self._rows, []
        if not rows:
            return
        # Successes of one status share one statement, so they share one delivery time: the
        # latest in the group, within a batch's duration of each one's true time.
        delivered: dict[int | None, list[Delivery]] = defaultdict(list)
        async with in_transaction():
            for row in rows:
                if row.state == DeliveryState.DELIVERED:
                    delivered[row.last_status].append(row)
                else:
                    await row.save(update_fields=list(self._FIELDS))
            if self._ledger:
                await _record_shared([row for group in delivered.values() for row in group])
            for status, group in delivered.items():
                await Delivery.filter(id__in=[row.id for row in group]).update(
                    state=DeliveryState.DELIVERED,
                    # The stored count is the one before this try: a row is leased while in
                    # flight, so nothing else changed it meanwhile.
                    attempts=F("attempts") + 1,
                    last_error="",
                    last_status=status,
                    delivered_at=max(row.delivered_at for row in group if row.delivered_at),
                    lease_until=None,
                )


async def _record_shared(rows: list[Delivery]) -> None:
    """The sharing ledger's entries for ``rows``, just delivered (in the caller's transaction,
    with their outcome: a delivery recorded as made is in the ledger)."""
    items = [
        SharedItem(
            owner=row.owner,
            kind=row.kind,
            subject=row.subject,
            activity_type=row.activity_type,
            host=row.host,
            inbox=row.inbox,
            shared_at=row.delivered_at,
        )
        for row in rows
        if row.kind and row.owner
    ]
    if items:
        await SharedItem.bulk_create(items)


def _waiting(host: str, now: datetime, exclude: Iterable[int]) -> QuerySet[Delivery]:
    """The pending rows of ``host`` but ``exclude`` and those in flight elsewhere (leased:
    their outcome is about to be written, with its own next try)."""
    rows = Delivery.filter(state=DeliveryState.PENDING, host=host).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    if excluded := list(exclude):
        rows = rows.exclude(id__in=excluded)
    return rows


def _retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; ``None`` when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when - now, timedelta(0)) if when.tzinfo else None


async def list_deliveries(state: DeliveryState | None = None, limit: int = 50) -> list[Delivery]:
    """Deliveries, newest first, optionally of one state."""
    query = Delivery.all() if state is None else Delivery.filter(state=state)
    return await query.order_by("-id").limit(limit)


async def retry_deliveries(ids: Iterable[int] | None, now: datetime) -> int:
    """Queue dead deliveries again (the given ids, or every dead one), with a fresh horizon."""
    query = Delivery.filter(state=DeliveryState.DEAD)
    if ids is not None:
        query = query.filter(id__in=list(ids))
    return await query.update(
        state=DeliveryState.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        lease_until=None,
    )
