"""The domain block service on a real database, and its cache."""

from __future__ import annotations

import pytest
from tortoise.exceptions import ConfigurationError

from moderation.blocks import CACHE_MAX_AGE, DomainBlocks
from moderation.errors import AlreadyBlocked, InvalidBlock, NoSuchBlock
from moderation.models import DomainBlock
from node.db import activated, open_database
from tests.conftest import FakeClock, migrate_schema

OWN = "tilleuls.example"


@pytest.fixture
def blocks(clock: FakeClock) -> DomainBlocks:
    return DomainBlocks(OWN, clock)


async def test_add_list_and_remove_with_normalised_hosts(db, blocks, clock):
    block = await blocks.add(" Spam.EXAMPLE. ", "  sends spam  ")
    assert (block.host, block.reason, block.created_at) == ("spam.example", "sends spam", clock.now)
    await blocks.add("München.de")
    assert [b.host for b in await blocks.all()] == ["spam.example", "xn--mnchen-3ya.de"]
    assert await blocks.is_blocked("mail.spam.example")
    removed = await blocks.remove("münchen.DE")  # another spelling of the same host
    assert removed.host == "xn--mnchen-3ya.de"
    assert [b.host for b in await blocks.all()] == ["spam.example"]


async def test_bad_input_is_refused_with_the_reason(db, blocks):
    with pytest.raises(InvalidBlock, match="not a URL"):
        await blocks.add("https://spam.example/")
    with pytest.raises(InvalidBlock, match="own host") as own:
        await blocks.add("TILLEULS.example")
    assert own.value.field == "domain"
    with pytest.raises(InvalidBlock, match="own host"):
        await blocks.add("example")  # a parent domain would cover this node too
    with pytest.raises(InvalidBlock, match="longer than 1000") as long_reason:
        await blocks.add("spam.example", "x" * 1001)
    assert long_reason.value.field == "reason"
    await blocks.add("spam.example")
    with pytest.raises(AlreadyBlocked, match=r"spam\.example is already blocked"):
        await blocks.add("SPAM.example")
    with pytest.raises(NoSuchBlock, match=r"other\.example is not blocked"):
        await blocks.remove("other.example")
    with pytest.raises(InvalidBlock):
        await blocks.remove("https://spam.example")
    assert [b.host for b in await blocks.all()] == ["spam.example"]


async def test_a_port_of_our_own_host_is_refused_but_another_port_is_not(db, clock):
    blocks = DomainBlocks("127.0.0.1:8080", clock)
    for own in ("127.0.0.1", "127.0.0.1:8080"):
        with pytest.raises(InvalidBlock, match="own host"):
            await blocks.add(own)
    await blocks.add("127.0.0.1:8081")
    assert await blocks.is_blocked("127.0.0.1:8081")
    assert not await blocks.is_blocked("127.0.0.1:8080")


async def test_a_change_by_another_process_is_seen_once_the_cache_is_30_seconds_old(
    db, blocks, clock
):
    other_process = DomainBlocks(OWN, clock)
    assert not await blocks.is_blocked("spam.example")  # loads the (empty) cache
    await other_process.add("spam.example")
    # Answered from memory: not seen yet...
    clock.advance(seconds=CACHE_MAX_AGE.total_seconds() - 1)
    assert not await blocks.is_blocked("spam.example")
    # ...and seen once the cache is old enough.
    clock.advance(seconds=1)
    assert await blocks.is_blocked("spam.example")
    await other_process.remove("spam.example")
    assert await blocks.is_blocked("spam.example")
    clock.advance(seconds=30)
    assert not await blocks.is_blocked("spam.example")


async def test_a_change_in_this_process_is_seen_at_once(db, blocks):
    assert not await blocks.is_blocked("spam.example")
    await blocks.add("spam.example")
    assert await blocks.is_blocked("spam.example")
    await blocks.remove("spam.example")
    assert not await blocks.is_blocked("spam.example")


async def test_a_fresh_cache_answers_without_the_database(database_url, clock):
    await migrate_schema(database_url)
    blocks = DomainBlocks(OWN, clock)
    async with open_database(database_url) as ctx:
        with activated(ctx):
            await blocks.add("spam.example")
    # Outside any ORM context a query would raise: these answers come from memory.
    assert await blocks.is_blocked("a.spam.example")
    assert not await blocks.is_blocked("good.example")
    clock.advance(seconds=30)
    with pytest.raises((RuntimeError, ConfigurationError), match=r"TortoiseContext|connection"):
        await blocks.is_blocked("spam.example")  # stale: it has to ask the database


async def test_a_clock_set_back_counts_as_stale(db, blocks, clock):
    assert not await blocks.is_blocked("spam.example")
    await DomainBlock.create(host="spam.example", created_at=clock.now)  # behind its back
    clock.advance(seconds=-5)
    assert await blocks.is_blocked("spam.example")
