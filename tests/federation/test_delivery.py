"""Outbound delivery against real inbox servers on 127.0.0.1, with a database and a fake clock."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from datetime import timedelta

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from activitypub.signatures import parse_signature, verify_signature
from federation.models import Delivery, DeliveryState
from federation.outbound import DeliveryPolicy, DeliveryWorker, publish
from federation.transport import TransportSettings, open_transport
from federation.worker import RetryPolicy

SIGNER = "https://here.example/users/alice"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
LOCAL = TransportSettings(user_agent="test", allow_private=True, allow_http=True)


async def signer_keys(actor: str) -> tuple[str, rsa.RSAPrivateKey]:
    assert actor == SIGNER
    return f"{actor}#main-key", KEY


class Inbox:
    """A remote server whose inbox answers what the test says, verifying every signature."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.statuses: list[int] = []  # answers to give, in order; then 202
        self.headers: dict[str, str] = {}
        self.received: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.got_one = asyncio.Event()
        self.base = self.host = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)  # let concurrent deliveries overlap
            body = await request.read()
            url = f"{self.base}{request.raw_path}"
            to_verify = parse_signature(
                "POST", url, list(request.headers.items()), body, self.clock()
            )
            verify_signature(to_verify, KEY.public_key())
            assert to_verify.key_id == f"{SIGNER}#main-key"
            self.received.append(json.loads(body))
            self.got_one.set()
            status = self.statuses.pop(0) if self.statuses else 202
            return web.Response(status=status, headers=self.headers)
        finally:
            self.in_flight -= 1


@pytest.fixture
async def inbox(aiohttp_server, clock) -> Inbox:
    inbox = Inbox(clock)
    app = web.Application()
    app.router.add_post("/{path:.*}", inbox.handle)
    server = await aiohttp_server(app)
    inbox.base = f"http://127.0.0.1:{server.port}"
    inbox.host = f"127.0.0.1:{server.port}"
    return inbox


@pytest.fixture
async def transport():
    async with open_transport(LOCAL) as t:
        yield t


def activity(n: int = 1) -> dict:
    return {"id": f"https://here.example/activities/{n}", "type": "Create", "actor": SIGNER}


def worker(transport, clock, **kwargs) -> DeliveryWorker:
    return DeliveryWorker(transport, signer_keys, clock, rng=random.Random(3), **kwargs)


def timing_out(seconds: float) -> TransportSettings:
    """The local transport, with requests timing out after ``seconds``."""
    return TransportSettings(
        user_agent="test", allow_private=True, allow_http=True, total_timeout=seconds
    )


class Stalled:
    """A server that accepts connections and never answers."""

    def __init__(self) -> None:
        self.never = asyncio.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self.base = self.host = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.never.wait()
            return web.Response(status=202)
        finally:
            self.in_flight -= 1


@pytest.fixture
async def stalled(aiohttp_server):
    server = Stalled()
    app = web.Application()
    app.router.add_post("/{path:.*}", server.handle)
    running = await aiohttp_server(app)
    server.host = f"127.0.0.1:{running.port}"
    server.base = f"http://{server.host}"
    yield server
    server.never.set()


async def rows() -> list[Delivery]:
    return await Delivery.all().order_by("id")


async def test_publish_queues_one_row_per_distinct_inbox_and_the_worker_delivers_signed(
    db, clock, inbox, transport
):
    targets = [f"{inbox.base}/inbox", f"{inbox.base}/users/b/inbox", f"{inbox.base}/inbox"]
    assert await publish(activity(), targets, SIGNER, clock.now) == 2
    assert await worker(transport, clock).run_once() == 2
    assert [r.state for r in await rows()] == [DeliveryState.DELIVERED] * 2
    assert inbox.received == [activity(), activity()]
    assert await worker(transport, clock).run_once() == 0


async def test_a_server_error_is_retried_later_then_delivered(db, clock, inbox, transport):
    inbox.statuses = [503]
    await publish(activity(), [f"{inbox.base}/inbox"], SIGNER, clock.now)
    w = worker(transport, clock)
    await w.run_once()
    [row] = await rows()
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.PENDING, 1, 503)
    assert timedelta(seconds=48) <= row.next_attempt_at - clock.now <= timedelta(seconds=72)
    assert await w.run_once() == 0  # not due yet
    clock.advance(minutes=2)
    await w.run_once()
    assert (await rows())[0].state == DeliveryState.DELIVERED


async def test_gone_recipients_are_dropped_and_reported(db, clock, inbox, transport):
    inbox.statuses = [410]
    gone: list[str] = []

    async def on_gone(url: str) -> None:
        gone.append(url)

    await publish(activity(), [f"{inbox.base}/users/x/inbox"], SIGNER, clock.now)
    await worker(transport, clock, on_gone=on_gone).run_once()
    assert (await rows())[0].state == DeliveryState.DEAD
    assert gone == [f"{inbox.base}/users/x/inbox"]


async def test_retry_after_of_a_rate_limiting_peer_is_honoured(db, clock, inbox, transport):
    inbox.statuses = [429]
    inbox.headers = {"Retry-After": "120"}
    await publish(activity(), [f"{inbox.base}/inbox"], SIGNER, clock.now)
    await worker(transport, clock).run_once()
    [row] = await rows()
    assert row.next_attempt_at - clock.now == timedelta(seconds=120)
    assert row.state == DeliveryState.PENDING


async def test_a_permanent_refusal_is_not_retried(db, clock, inbox, transport):
    inbox.statuses = [400]
    await publish(activity(), [f"{inbox.base}/inbox"], SIGNER, clock.now)
    await worker(transport, clock).run_once()
    [row] = await rows()
    assert (row.state, row.last_status) == (DeliveryState.DEAD, 400)


async def test_retries_stop_at_the_horizon(db, clock, inbox, transport):
    inbox.statuses = [500] * 1000
    await publish(activity(), [f"{inbox.base}/inbox"], SIGNER, clock.now)
    policy = DeliveryPolicy(retry=RetryPolicy(first_delay=timedelta(hours=1), max_attempts=1000))
    w = worker(transport, clock, policy=policy)
    for _ in range(100):
        await w.run_once()
        if (await rows())[0].state != DeliveryState.PENDING:
            break
        clock.advance(hours=7)
    [row] = await rows()
    assert row.state == DeliveryState.DEAD
    assert "retried for 3 days" in row.last_error
    assert row.next_attempt_at - row.created_at <= timedelta(days=3, hours=7)


async def test_a_private_target_is_dead_at_once_without_local_testing(db, clock, inbox):
    await publish(activity(), [f"{inbox.base}/inbox"], SIGNER, clock.now)
    async with open_transport(TransportSettings(user_agent="t", allow_http=True)) as strict:
        await worker(strict, clock).run_once()
    [row] = await rows()
    assert row.state == DeliveryState.DEAD
    assert inbox.received == []


async def test_new_work_goes_before_the_backlog(db, clock, inbox, transport):
    inbox.statuses = [500]
    await publish(activity(1), [f"{inbox.base}/old"], SIGNER, clock.now)
    w = worker(transport, clock, policy=DeliveryPolicy(batch_size=1))
    await w.run_once()  # the old one fails once
    clock.advance(hours=1)  # it is due again
    await publish(activity(2), [f"{inbox.base}/new"], SIGNER, clock.now)
    await w.run_once()
    assert [a["id"] for a in inbox.received] == [activity(1)["id"], activity(2)["id"]]
    states = {r.activity_id: r.state for r in await rows()}
    assert states[activity(2)["id"]] == DeliveryState.DELIVERED
    assert states[activity(1)["id"]] == DeliveryState.PENDING


async def test_each_host_gets_a_bounded_number_of_concurrent_requests(db, clock, inbox, transport):
    await publish(activity(), [f"{inbox.base}/u/{n}/inbox" for n in range(20)], SIGNER, clock.now)
    await worker(transport, clock, policy=DeliveryPolicy(per_host=3)).run_once()
    assert len(inbox.received) == 20
    assert 1 <= inbox.max_in_flight <= 3


async def test_a_crashed_workers_rows_are_taken_up_after_the_lease(db, clock, inbox, transport):
    await publish(activity(), [f"{inbox.base}/inbox"], SIGNER, clock.now)
    crashed = worker(transport, clock)
    claimed = await crashed._claim()  # claims, then "crashes" before delivering
    assert len(claimed) == 1
    other = worker(transport, clock)
    assert await other.run_once() == 0  # leased
    clock.advance(minutes=6)
    assert await other.run_once() == 1
    assert (await rows())[0].state == DeliveryState.DELIVERED


async def test_a_batch_takes_no_more_rows_of_one_host_than_it_can_send_within_its_lease(
    db, clock, inbox, transport
):
    # 20 s requests, a 5-minute lease: at most 7 rounds fit in half of it, 2 at a time.
    policy = DeliveryPolicy(per_host=2, lease=timedelta(minutes=5))
    assert transport.settings.total_timeout == 20
    await publish(activity(), [f"{inbox.base}/u/{n}/inbox" for n in range(40)], SIGNER, clock.now)
    other_host = f"http://localhost:{inbox.base.rsplit(':', 1)[1]}/inbox"
    await publish(activity(2), [other_host], SIGNER, clock.now)
    first = worker(transport, clock, policy=policy)
    assert await first.run_once() == 2 * 7 + 1  # the other host is not held back
    assert await first.run_once() == 14
    assert await first.run_once() == 40 - 28
    assert len(inbox.received) == 41


async def test_a_batch_takes_no_more_rows_than_its_overall_limit_can_send_within_its_lease(
    db, clock, inbox, transport
):
    # 20 s requests, a 5-minute lease (7 rounds in half of it), 3 requests at a time overall.
    policy = DeliveryPolicy(per_host=4, concurrency=3, lease=timedelta(minutes=5))
    hosts = [f"http://{host}:{inbox.base.rsplit(':', 1)[1]}" for host in ("127.0.0.1", "localhost")]
    await publish(
        activity(), [f"{h}/u/{n}/inbox" for h in hosts for n in range(20)], SIGNER, clock.now
    )
    first = worker(transport, clock, policy=policy)
    assert await first.run_once() == 3 * 7
    assert await first.run_once() == 40 - 21
    assert len(inbox.received) == 40


async def test_one_hosts_backlog_does_not_hold_back_the_other_hosts(db, clock, transport):
    # A server that was down for days: 600 rows wait for it, older than anything else. The
    # claim's LIMIT (50 rows) must not be all of them: the other hosts' rows are in the same
    # batch, and the big host has no more than its cap (2 at a time, 7 rounds in half the
    # lease of 20 s requests).
    policy = DeliveryPolicy(batch_size=50, per_host=2, lease=timedelta(minutes=5))
    backlog = [f"https://big.example/users/{n}/inbox" for n in range(600)]
    await publish(activity(1), backlog, SIGNER, clock.now - timedelta(days=1))
    others = [f"https://small{n}.example/inbox" for n in range(10)]
    for n, inbox in enumerate(others):
        await publish(activity(10 + n), [inbox, f"{inbox}/2", f"{inbox}/3"], SIGNER, clock.now)
    # A row of the big host tried before: after its never-tried rows, whatever its id.
    tried = await Delivery.filter(host="big.example").order_by("id").first()
    assert tried is not None
    tried.attempts = 1
    await tried.save(update_fields=["attempts"])

    claimed = await worker(transport, clock, policy=policy)._claim()

    by_host = Counter(row.host for row in claimed)
    assert by_host.pop("big.example") == 2 * 7
    assert by_host == {f"small{n}.example": 3 for n in range(10)}
    first_never_tried = await Delivery.filter(host="big.example", attempts=0).order_by("id")
    assert [row.id for row in claimed if row.host == "big.example"] == [
        row.id for row in first_never_tried[:14]
    ]
    # Claimed means leased: the next claim takes the big host's next rows, and nothing else.
    again = await worker(transport, clock, policy=policy)._claim()
    assert {row.host for row in again} == {"big.example"}
    assert len(again) == 14
    assert not {row.id for row in again} & {row.id for row in claimed}


async def test_a_host_that_answers_again_gets_its_delayed_deliveries_at_once(
    db, clock, inbox, transport
):
    inbox.statuses = [503]
    await publish(activity(1), [f"{inbox.base}/inbox"], SIGNER, clock.now)
    # Another delivery to that host, hours into its backoff after a long outage.
    await publish(activity(2), [f"{inbox.base}/users/b/inbox"], SIGNER, clock.now)
    far = clock.now + timedelta(hours=5)
    await Delivery.filter(activity_id=activity(2)["id"]).update(
        attempts=9, next_attempt_at=far, last_status=503, last_error="answered 503"
    )
    # And one the peer itself asked us to hold back (Retry-After): that wait stays.
    await publish(activity(3), [f"{inbox.base}/users/c/inbox"], SIGNER, clock.now)
    await Delivery.filter(activity_id=activity(3)["id"]).update(
        attempts=1, next_attempt_at=far, last_status=429
    )
    w = worker(transport, clock)
    assert await w.run_once() == 1  # the first one fails (503): retried in about a minute
    clock.advance(minutes=2)
    assert await w.run_once() == 1  # then succeeds: the host is back
    by_id = {r.activity_id: r for r in await rows()}
    assert by_id[activity(1)["id"]].state == DeliveryState.DELIVERED
    assert by_id[activity(2)["id"]].next_attempt_at == clock.now
    assert by_id[activity(3)["id"]].next_attempt_at == far
    assert await w.run_once() == 1  # at once, without waiting for its slot
    assert (await Delivery.get(activity_id=activity(2)["id"])).state == DeliveryState.DELIVERED


async def test_a_failure_while_the_host_answers_backs_off_as_usual(db, clock, inbox, transport):
    inbox.statuses = [202, 500]  # the host is up; it refuses one activity
    await publish(activity(1), [f"{inbox.base}/a"], SIGNER, clock.now)
    await publish(activity(2), [f"{inbox.base}/b"], SIGNER, clock.now)
    w = worker(transport, clock, policy=DeliveryPolicy(per_host=1))
    assert await w.run_once() == 2
    await publish(activity(3), [f"{inbox.base}/c"], SIGNER, clock.now)
    assert await w.run_once() == 1  # a success again: the failed one keeps its backoff
    failed = await Delivery.get(activity_id=activity(2)["id"])
    assert (failed.state, failed.last_status) == (DeliveryState.PENDING, 500)
    assert failed.next_attempt_at > clock.now
    await w.host_answered(failed.host)  # nor does the host's next inbox POST bring it forward
    assert (await Delivery.get(id=failed.id)).next_attempt_at > clock.now


async def test_a_host_whose_inbox_fails_while_it_sends_to_us_is_not_retried_at_each_message(
    db, clock, inbox, transport
):
    """Its web workers down, its delivery jobs up: its messages to us make the backlog due
    once; until a delivery to it succeeds, the next ones leave the backoff alone."""
    inbox.statuses = [503] * 10
    await publish(activity(1), [f"{inbox.base}/inbox"], SIGNER, clock.now)
    w = worker(transport, clock)
    assert await w.run_once() == 1  # fails: delayed
    host = (await Delivery.get(activity_id=activity(1)["id"])).host
    clock.advance(seconds=30)  # its retry is due in about a minute
    await w.host_answered(host)  # it sends us something: worth one try at once
    assert (await Delivery.get(activity_id=activity(1)["id"])).next_attempt_at == clock.now
    assert await w.run_once() == 1  # fails again: backs off
    backoff = (await Delivery.get(activity_id=activity(1)["id"])).next_attempt_at
    clock.advance(seconds=61)  # the backoff (about 2 minutes) still runs
    w._delayed_read_at = None  # as after the worker's periodic re-read of delayed hosts
    await w.run_once()  # (nothing due; the re-read puts the host back among the delayed)
    await w.host_answered(host)  # another message from it: no second flush
    assert (await Delivery.get(activity_id=activity(1)["id"])).next_attempt_at == backoff


async def test_a_host_that_lets_connections_time_out_does_not_hold_the_others(
    db, clock, inbox, stalled
):
    # A server that accepts connections and never answers: each request waits for the
    # transport's timeout. Its first requests time out together; its other rows in the batch
    # are not sent (they would hold the batch, and every other host's rows, a timeout each),
    # and its rows not in the batch are put off as a retry would be, until it answers again.
    policy = DeliveryPolicy(batch_size=25, per_host=2, lease=timedelta(minutes=5))
    live = [f"{inbox.base}/users/{n}/inbox" for n in range(5)]
    await publish(activity(1), live, SIGNER, clock.now)
    hanging = [f"{stalled.base}/users/{n}/inbox" for n in range(40)]
    await publish(activity(2), hanging, SIGNER, clock.now)
    async with open_transport(timing_out(0.5)) as transport:
        # The batch: the 5 live rows and the first 20 of the stalled host.
        assert await worker(transport, clock, policy=policy).run_once() == 25
        assert len(inbox.received) == 5
        stalled_rows = await Delivery.filter(host=stalled.host).order_by("id")
        batch, after = stalled_rows[:20], stalled_rows[20:]
        not_sent = [r for r in batch if r.last_error.startswith("not sent: ")]
        timed_out = [r for r in batch if r not in not_sent and "timed out" in r.last_error]
        assert len(timed_out) == 2  # the first two, sent together (2 at a time)
        assert len(not_sent) == 18
        assert all(r.state is DeliveryState.PENDING and r.attempts == 1 for r in batch)
        # Its rows outside the batch are put off too, never tried.
        assert all(r.attempts == 0 and r.next_attempt_at > clock.now for r in after)
        assert all(r.next_attempt_at > clock.now for r in batch)
        # Nothing of it is due now: the next batch does not wait on it again.
        assert await worker(transport, clock, policy=policy).run_once() == 0


async def test_a_batch_leaves_requests_that_hang_to_finish_in_the_background(
    db, clock, inbox, stalled
):
    # The requests to a hanging server would hold the batch until they time out: once no
    # request of the batch has ended for straggler_after, the batch is over, those requests
    # go on in the background, and their host gets no rows until they end.
    policy = DeliveryPolicy(
        batch_size=25, per_host=2, straggler_after=timedelta(seconds=0.2), flush_every=1
    )
    await publish(
        activity(1), [f"{inbox.base}/users/{n}/inbox" for n in range(5)], SIGNER, clock.now
    )
    await publish(
        activity(2), [f"{stalled.base}/users/{n}/inbox" for n in range(10)], SIGNER, clock.now
    )
    async with open_transport(timing_out(1.5)) as transport:
        delivering = worker(transport, clock, policy=policy)
        assert await delivering.run_once() == 15
        # Back before the hanging requests timed out: the live rows are recorded, the
        # stalled host's are not (still leased, in flight or waiting for one of its 2 slots).
        assert len(inbox.received) == 5
        assert all(
            r.state is DeliveryState.DELIVERED for r in await Delivery.filter(host=inbox.host)
        )
        held = await Delivery.filter(host=stalled.host)
        assert all(r.attempts == 0 and r.lease_until is not None for r in held)
        assert stalled.max_in_flight == 2

        # New work: the live host's row goes out at once; the stalled host's new row waits.
        await publish(
            activity(3), [f"{inbox.base}/inbox", f"{stalled.base}/inbox"], SIGNER, clock.now
        )
        assert await delivering.run_once() == 1
        assert len(inbox.received) == 6
        waiting = await Delivery.get(activity_id=activity(3)["id"], host=stalled.host)
        assert waiting.attempts == 0
        assert waiting.lease_until is None

        await delivering.settle()
        held = await Delivery.filter(host=stalled.host, activity_id=activity(2)["id"])
        not_sent = [r for r in held if r.last_error.startswith("not sent: ")]
        assert len(not_sent) == 8
        assert sum("timed out" in r.last_error for r in held if r not in not_sent) == 2
        assert all(r.attempts == 1 and r.lease_until is None for r in held)
        # Once they ended, the host's other row was put off as for any host that does not
        # answer, not sent into the same silence.
        await waiting.refresh_from_db()
        assert waiting.attempts == 0
        assert waiting.next_attempt_at > clock.now
        assert stalled.max_in_flight == 2  # never more than its share, across batches


async def test_requests_left_in_the_background_count_against_the_concurrency(
    db, clock, inbox, stalled
):
    policy = DeliveryPolicy(concurrency=3, per_host=2, straggler_after=timedelta(seconds=0.2))
    await publish(activity(1), [f"{stalled.base}/u/{n}/inbox" for n in range(2)], SIGNER, clock.now)
    async with open_transport(timing_out(1.5)) as transport:
        delivering = worker(transport, clock, policy=policy)
        assert await delivering.run_once() == 2  # both still hang, in the background
        await publish(
            activity(2), [f"{inbox.base}/u/{n}/inbox" for n in range(6)], SIGNER, clock.now
        )
        assert await delivering.run_once() == 6
        assert len(inbox.received) == 6
        assert inbox.max_in_flight == 1  # 3 at a time in all, 2 of them still hanging
        await delivering.settle()


async def test_stopping_the_worker_does_not_wait_for_requests_that_hang(db, clock, inbox, stalled):
    policy = DeliveryPolicy(per_host=2, straggler_after=timedelta(seconds=0.1), flush_every=1)
    await publish(activity(1), [f"{inbox.base}/inbox"], SIGNER, clock.now)
    await publish(activity(2), [f"{stalled.base}/u/{n}/inbox" for n in range(4)], SIGNER, clock.now)
    async with open_transport(timing_out(30)) as transport:
        delivering = worker(transport, clock, policy=policy)
        stop = asyncio.Event()
        running = asyncio.create_task(delivering.run(stop, poll_interval=0.05))
        await inbox.got_one.wait()
        while stalled.in_flight < 2:  # noqa: ASYNC110 - the server's count, no event to wait on
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # past straggler_after: the batch is over
        stop.set()
        await running  # returns with the requests still hanging (30 s timeout)
    # Their rows stay leased, with no outcome: they go out again when the lease ends.
    held = await Delivery.filter(host=stalled.host)
    assert all(r.attempts == 0 and r.lease_until is not None for r in held)
