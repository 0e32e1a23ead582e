"""The inbox's group-commit writer, on a real database."""

from __future__ import annotations

import asyncio

import pytest

from federation import ingest
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


async def test_a_failed_commit_fails_every_waiter_of_its_group_and_not_later_ones(db, clock):
    writer = InboxWriter()
    unstorable = message(clock, 1, body={"not json": object()})
    results = await asyncio.gather(
        writer.store(unstorable), writer.store(message(clock, 2)), return_exceptions=True
    )
    # Both were in the group: neither may be answered 202, since neither is stored.
    assert all(isinstance(r, TypeError) for r in results)
    assert await InboundMessage.all().count() == 0
    # The writer is not wedged: the next request is stored.
    assert await writer.store(message(clock, 3)) is True
    assert await InboundMessage.all().values_list("activity_id", flat=True) == [
        "https://a.example/activities/3"
    ]


async def test_a_sender_hanging_up_does_not_cancel_the_write(db, clock):
    writer = InboxWriter()
    request = asyncio.ensure_future(writer.store(message(clock, 1)))
    await asyncio.sleep(0)  # the writing task has started
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    await writer.close()
    assert await InboundMessage.exists(activity_id="https://a.example/activities/1")
