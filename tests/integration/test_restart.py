"""A node restarted after its process was killed takes its unfinished work over at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp import web

from federation.models import Delivery, DeliveryState, InboundMessage, InboundState
from federation.outbound import publish
from node.app import create_app
from node.db import activated, open_database
from node.http.keys import DATABASE
from node.verification.vault import create_key
from tests.conftest import POSTGRES_ADMIN_URL, migrate_schema

SENDER = "https://far.example/users/zoe"


async def pending() -> bool:
    return await InboundMessage.filter(state=InboundState.PENDING).exists() or (
        await Delivery.filter(state=DeliveryState.PENDING).exists()
    )


@pytest.mark.skipif(
    bool(POSTGRES_ADMIN_URL),
    reason="on PostgreSQL a lease may be another live process's: it is kept until it ends",
)
async def test_a_restarted_node_takes_over_the_leases_of_the_killed_process(
    make_settings, aiohttp_client, aiohttp_server, clock
):
    posts: list[str] = []

    async def inbox(request: web.Request) -> web.Response:
        posts.append((await request.json())["id"])
        return web.Response(status=202)

    sink = web.Application()
    sink.router.add_post("/inbox", inbox)
    server = await aiohttp_server(sink)
    settings = make_settings(federation={"local_testing": "true"})
    await migrate_schema(settings.database_url)
    create_key(settings.document_key_path)
    # What a process killed mid-batch leaves: rows leased until well after now (the clock
    # stands still, so they would wait for ever if nothing took them over).
    lease = clock.now + timedelta(minutes=5)
    me = settings.uris.instance_actor
    async with open_database(settings.database_url) as ctx:
        with activated(ctx):
            activity = {"id": f"{me}/activities/1", "type": "Like", "actor": me}
            await publish(activity, [f"http://127.0.0.1:{server.port}/inbox"], me, clock.now)
            await Delivery.all().update(lease_until=lease)
            for n in (1, 2):  # its first row was in progress; the second waits behind it
                await InboundMessage.create(
                    activity_id=f"https://far.example/{n}",
                    actor=SENDER,
                    activity_type="Like",
                    body={"id": f"https://far.example/{n}", "type": "Like", "actor": SENDER},
                    received_at=clock.now,
                    next_attempt_at=clock.now,
                    lease_until=lease if n == 1 else None,
                )

    node = await aiohttp_client(create_app(settings, clock=clock))  # with its workers
    with activated(node.app[DATABASE]):
        for _ in range(600):  # the workers run in the background: wait for them (or fail)
            if not await pending():
                break
            await asyncio.sleep(0.05)
        assert await InboundMessage.filter(state=InboundState.IGNORED).count() == 2
        assert [d.state for d in await Delivery.all()] == [DeliveryState.DELIVERED]
    assert posts == [activity["id"]]
