"""Work queued in one process wakes the workers of the others (PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from federation import queue_sql, wakeups
from federation.outbound import publish
from tests.conftest import POSTGRES_ADMIN_URL

postgres_only = pytest.mark.skipif(
    not POSTGRES_ADMIN_URL, reason="LISTEN/NOTIFY is PostgreSQL's (SQLite runs one process)"
)
WAIT = 10  # seconds a notification may take to arrive, at most, on a loaded machine
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class Woken:
    """Wake-ups counted per channel, with an event to wait for the next one."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.event = asyncio.Event()

    def wakeups(self) -> dict[str, object]:
        return {channel: self._waker(channel) for channel in (wakeups.INBOUND, wakeups.DELIVERIES)}

    def _waker(self, channel: str):
        def wake() -> None:
            self.counts[channel] += 1
            self.event.set()

        return wake

    async def next(self) -> None:
        await asyncio.wait_for(self.event.wait(), WAIT)
        self.event.clear()


@pytest.fixture
async def listening(db, database_url):
    woken = Woken()
    listener = wakeups.Listener(database_url, woken.wakeups(), retry=0.1)
    await listener.start()
    await asyncio.wait_for(listener.listening.wait(), WAIT)
    await woken.next()  # the wake-up every listener gives once it listens
    woken.counts.clear()
    yield woken, listener
    await listener.close()


def inbound(n: int) -> queue_sql.NewInbound:
    return queue_sql.NewInbound(
        activity_id=f"https://there.example/activities/{n}",
        actor="https://there.example/users/zoe",
        activity_type="Create",
        recipient=None,
        body={"id": f"https://there.example/activities/{n}", "type": "Create"},
        received_at=NOW,
        next_attempt_at=NOW,
    )


def test_the_listening_connection_drops_tortoises_pool_options() -> None:
    url = "postgres://q:secret@db.example:5433/quartier?minsize=2&maxsize=20&sslmode=require"
    assert wakeups.connection_url(url) == (
        "postgres://q:secret@db.example:5433/quartier?sslmode=require"
    )


@postgres_only
async def test_activities_stored_by_another_process_wake_the_inbound_worker(listening) -> None:
    woken, _ = listening
    assert await queue_sql.insert_new([inbound(1), inbound(2)]) == {
        inbound(1).activity_id,
        inbound(2).activity_id,
    }
    await woken.next()
    assert woken.counts == {wakeups.INBOUND: 1}  # one for the group, not one per row


@postgres_only
async def test_a_delivery_wakes_the_delivery_workers_when_its_transaction_commits(
    listening,
) -> None:
    woken, _ = listening
    async with in_transaction():
        activity = {"id": "https://here.example/activities/1", "type": "Create"}
        inboxes = [f"https://peer{n}.example/inbox" for n in range(3)]
        assert await publish(activity, inboxes, "https://here.example/users/ada", NOW) == 3
        # Not before the commit: a worker woken now would not see the rows yet.
        await asyncio.sleep(0.5)
        assert woken.counts == {}
    await woken.next()
    assert woken.counts == {wakeups.DELIVERIES: 1}


@postgres_only
async def test_a_lost_listening_connection_is_opened_again(listening, database_url) -> None:
    woken, listener = listening
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        # The listener's own connection: the one on this test's database that last listened.
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND query LIKE 'LISTEN %'",
            database_url.rsplit("/", 1)[1],
        )
    finally:
        await admin.close()
    assert ended == 1
    await woken.next()  # listening again: each worker looks once for what it missed
    assert listener.listening.is_set()
    woken.counts.clear()
    await queue_sql.insert_new([inbound(3)])
    await woken.next()
    assert woken.counts == {wakeups.INBOUND: 1}
