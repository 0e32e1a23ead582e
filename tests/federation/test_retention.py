"""The purge of finished federation rows, on a real database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from federation import retention
from federation.models import Delivery, DeliveryState, InboundMessage, InboundState
from federation.retention import RetentionPolicy, purge, purge_periodically
from tests.conftest import FakeClock


async def inbound(clock: FakeClock, n: int, state: InboundState, age: timedelta) -> None:
    at = clock.now - age
    await InboundMessage.create(
        activity_id=f"https://a.example/{n}",
        actor="https://a.example/u",
        activity_type="Create",
        body={"id": f"https://a.example/{n}"},
        received_at=at,
        next_attempt_at=at,
        state=state,
    )


async def delivery(clock: FakeClock, n: int, state: DeliveryState, age: timedelta) -> None:
    at = clock.now - age
    await Delivery.create(
        activity_id=f"https://q.example/{n}",
        inbox="https://b.example/inbox",
        host="b.example",
        signer="https://q.example/actor",
        body="{}",
        state=state,
        created_at=at,
        next_attempt_at=at,
        delivered_at=at if state == DeliveryState.DELIVERED else None,
    )


async def remaining_inbound() -> list[str]:
    return sorted(await InboundMessage.all().values_list("activity_id", flat=True))


async def remaining_deliveries() -> list[str]:
    return sorted(await Delivery.all().values_list("activity_id", flat=True))


async def test_old_finished_rows_go_and_everything_else_stays(db, clock):
    day = timedelta(days=1)
    await inbound(clock, 1, InboundState.DONE, 15 * day)  # past the dedupe window
    await inbound(clock, 2, InboundState.IGNORED, 15 * day)
    await inbound(clock, 3, InboundState.DONE, 13 * day)  # still the dedupe record
    await inbound(clock, 4, InboundState.FAILED, 15 * day)  # kept longer for the operator
    await inbound(clock, 5, InboundState.FAILED, 31 * day)
    await inbound(clock, 6, InboundState.PENDING, 90 * day)  # never purged
    await delivery(clock, 1, DeliveryState.DELIVERED, 8 * day)
    await delivery(clock, 2, DeliveryState.DELIVERED, 6 * day)
    await delivery(clock, 3, DeliveryState.DEAD, 8 * day)  # still retryable
    await delivery(clock, 4, DeliveryState.DEAD, 31 * day)
    await delivery(clock, 5, DeliveryState.PENDING, 90 * day)

    purged = await purge(clock.now)

    assert (purged.inbound, purged.deliveries, purged.total) == (3, 2, 5)
    assert await remaining_inbound() == [f"https://a.example/{n}" for n in (3, 4, 6)]
    assert await remaining_deliveries() == [f"https://q.example/{n}" for n in (2, 3, 5)]
    assert (await purge(clock.now)).total == 0


async def test_a_purged_activity_id_is_no_longer_a_duplicate(db, clock):
    # The dedupe record is the row: after the window, the same id is new again.
    await inbound(clock, 1, InboundState.DONE, timedelta(days=15))
    await purge(clock.now)
    await inbound(clock, 1, InboundState.PENDING, timedelta(0))
    assert await remaining_inbound() == ["https://a.example/1"]


async def test_the_policy_sets_the_windows(db, clock):
    await inbound(clock, 1, InboundState.DONE, timedelta(hours=2))
    await delivery(clock, 1, DeliveryState.DELIVERED, timedelta(hours=2))
    short = RetentionPolicy(inbound=timedelta(hours=1), delivered=timedelta(hours=1))
    assert (await purge(clock.now, short)).total == 2


async def test_large_purges_go_in_chunks_and_remove_everything_due(db, clock, monkeypatch):
    monkeypatch.setattr(retention, "CHUNK", 7)
    for n in range(30):
        await inbound(clock, n, InboundState.DONE, timedelta(days=20))
    await inbound(clock, 99, InboundState.DONE, timedelta(days=1))
    assert (await purge(clock.now)).inbound == 30
    assert await remaining_inbound() == ["https://a.example/99"]


async def test_the_periodic_purge_runs_at_once_and_stops_when_asked(db, clock):
    await inbound(clock, 1, InboundState.DONE, timedelta(days=20))
    stop = asyncio.Event()
    task = asyncio.create_task(purge_periodically(clock, stop, every=timedelta(hours=1)))
    for _ in range(100):
        if not await remaining_inbound():
            break
        await asyncio.sleep(0.01)
    assert await remaining_inbound() == []
    stop.set()
    await asyncio.wait_for(task, timeout=5)
