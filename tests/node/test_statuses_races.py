"""Two handlers naming the same new account at the same moment, each inside its own
transaction: the loser takes the winner's row and its transaction goes on.

On PostgreSQL a failed insert aborts the transaction around it unless it ran in a savepoint;
a flood of Flags once lost a report that way (two reports at once asked for the account id
of the same moderator). SQLite runs one transaction at a time, so there the second starts
when the first is committed and the test checks the same outcome without the race.
"""

from __future__ import annotations

import asyncio

from tortoise.transactions import in_transaction

from node.statuses.models import AccountRef
from node.statuses.service import account_id


async def test_the_same_new_account_named_by_two_transactions_at_once(db):
    actor = "https://elsewhere.example/users/new"
    inside: list[asyncio.Event] = [asyncio.Event(), asyncio.Event()]
    both = asyncio.Event()

    async def name_it(n: int) -> int:
        async with in_transaction() as connection:
            await AccountRef.filter(actor=actor).exists()  # the transaction has begun
            inside[n].set()
            if connection.capabilities.dialect == "postgres":
                await both.wait()  # neither has inserted yet: both will try
            got = await account_id(actor)
            # The transaction is still usable after its lost insert: this write must commit.
            await AccountRef.create(actor=f"{actor}/after/{n}")
            return got

    async def release() -> None:
        for event in inside:
            await event.wait()
        both.set()

    first, second, _ = await asyncio.gather(name_it(0), name_it(1), release())
    assert first == second
    assert await AccountRef.filter(actor=actor).count() == 1
    assert await AccountRef.filter(actor__startswith=f"{actor}/after/").count() == 2
