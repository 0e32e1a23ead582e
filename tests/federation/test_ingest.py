"""The inbox's group-commit writer, on a real database."""

from __future__ import annotations

import asyncio
import gc

import pytest

from federation import ingest
from federation.errors import StoreFailed
from federation.ingest import InboxWriter
from federation.models import InboundMessage
from tests.conftest import FakeClock


def message(clock: FakeClock, n: int, **overrides: object) -> InboundMessage:
    body: dict[str, object] = {
        "id": f"https://a.example/activities/{n}",
        "type": "Create",
        "actor": "https://a.example/users/ann",
    }
    values: dict[str, object] = {
        "activity_id": body["id"],
        "actor": body["actor"],
        "activity_type": "Create",
        "body": body,
        "received_at": clock.now,
        "next_attempt_at": clock.now,
    }
    values.update(overrides)
    return InboundMessage(**values)


async def test_concurrent_requests_are_all_committed_and_grouped(db, clock, monkeypatch):
    groups: list[int] = []
    commit = ingest._commit

    async def counting(group):  # type: ignore[no-untyped-def]
        groups.append(len(group))
        return await commit(group)

    monkeypatch.setattr(ingest, "_commit", counting)
    writer = InboxWriter()
    stored = await asyncio.gather(*(writer.store(message(clock, n)) for n in range(300)))
    assert stored == [True] * 300
    assert await InboundMessage.all().count() == 300
    # 300 requests arriving together share one transaction, not one commit each.
    assert groups == [300]


async def test_a_lone_request_is_committed_before_store_returns(db, clock):
    writer = InboxWriter()
    assert await writer.store(message(clock, 1)) is True
    row = await InboundMessage.get(activity_id="https://a.example/activities/1")
    assert row.body["type"] == "Create"


async def test_duplicates_in_one_group_and_against_stored_rows_are_reported(db, clock):
    writer = InboxWriter()
    assert await writer.store(message(clock, 1)) is True
    outcomes = await asyncio.gather(
        writer.store(message(clock, 1)),  # already stored
        writer.store(message(clock, 2)),
        writer.store(message(clock, 2)),  # twice in the same group
    )
    assert outcomes == [False, True, False]
    assert await InboundMessage.all().count() == 2


async def test_groups_are_capped_and_every_group_is_written(db, clock):
    writer = InboxWriter(max_group=7)
    stored = await asyncio.gather(*(writer.store(message(clock, n)) for n in range(50)))
    assert all(stored)
    assert await InboundMessage.all().count() == 50


async def test_a_row_the_database_refuses_fails_alone_not_its_group(db, clock):
    writer = InboxWriter()
    results = await asyncio.gather(
        writer.store(message(clock, 1, body={"not json": object()})),
        writer.store(message(clock, 2)),
        writer.store(message(clock, 3, body={"not json either": object()})),
        writer.store(message(clock, 4)),
        return_exceptions=True,
    )
    # Its waiter may not answer 202: not stored. Its neighbours are stored all the same, or
    # one hostile delivery would fail every delivery that arrived with it.
    bad, good, other_bad, other_good = results
    assert good is True
    assert other_good is True
    for failed in (bad, other_bad):
        assert isinstance(failed, StoreFailed)
        assert isinstance(failed.__cause__, TypeError)
    assert bad is not other_bad  # one exception each: no shared traceback
    assert sorted(await InboundMessage.all().values_list("activity_id", flat=True)) == [
        "https://a.example/activities/2",
        "https://a.example/activities/4",
    ]
    # The writer is not wedged: the next request is stored.
    assert await writer.store(message(clock, 5)) is True


async def test_a_sender_hanging_up_does_not_cancel_the_write(db, clock):
    writer = InboxWriter()
    request = asyncio.ensure_future(writer.store(message(clock, 1)))
    await asyncio.sleep(0)  # the writing task has started
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    await writer.close()
    assert await InboundMessage.exists(activity_id="https://a.example/activities/1")


async def test_a_cancelled_writer_fails_its_waiters_instead_of_leaving_them_hanging(db, clock):
    writer = InboxWriter()
    waiters = [asyncio.ensure_future(writer.store(message(clock, n))) for n in range(3)]
    await asyncio.sleep(0)  # the writing task exists now
    assert writer._writing is not None
    writer._writing.cancel()  # what a shutdown timeout does
    results = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 5)
    assert all(isinstance(r, StoreFailed) for r in results)


async def test_a_failure_nobody_waits_for_any_more_is_not_reported_as_unretrieved(db, clock):
    unretrieved: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unretrieved.append(context))
    try:
        writer = InboxWriter()
        request = asyncio.ensure_future(writer.store(message(clock, 1, body={"x": object()})))
        await asyncio.sleep(0)
        request.cancel()  # the sender hung up before the commit failed
        await writer.close()
        del request, writer
        for _ in range(3):
            gc.collect()
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert unretrieved == []
