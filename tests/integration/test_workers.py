"""Several worker processes sharing the queues (PostgreSQL), and one only on SQLite.

``quartier worker`` runs the node's wiring without the HTTP listener, beside ``quartier
serve``. On PostgreSQL workers lease rows and claim them with ``FOR UPDATE SKIP LOCKED``; on
SQLite, which has neither, it refuses to start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from activitypub.uris import UriScheme
from federation.dispatch import Dispatcher, InboundActivity
from federation.models import Delivery, DeliveryState, InboundMessage
from federation.outbound import DeliveryPolicy, DeliveryWorker, publish
from federation.transport import TransportSettings, open_transport
from federation.worker import InboundWorker
from node.actors.service import SigningKeys, ensure_instance_actor
from node.db import activated, open_database
from tests.conftest import POSTGRES_ADMIN_URL, migrate_schema

QUARTIER = Path(sys.executable).parent / "quartier"
# What several workers share only exists on PostgreSQL; CI runs the suite on both databases.
postgres_only = pytest.mark.skipif(
    not POSTGRES_ADMIN_URL, reason="SQLite runs exactly one worker (no SKIP LOCKED)"
)
BASE = "http://127.0.0.1:8080"


class Sink:
    """An inbox server counting what arrives, per inbox path."""

    def __init__(self) -> None:
        self.posts: Counter[str] = Counter()
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.posts[request.path] += 1
        await asyncio.sleep(0.001)  # keep requests in flight so claims overlap
        return web.Response(status=202)

    def inbox(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/inbox/{n}"


@pytest.fixture
async def sink(aiohttp_server) -> Sink:
    sink = Sink()
    app = web.Application()
    app.router.add_post("/inbox/{n}", sink.handle)
    sink.port = (await aiohttp_server(app)).port
    return sink


def worker_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARTIER_")}
    env |= {
        "QUARTIER_STORAGE_DATABASE_URL": database_url,
        "QUARTIER_STORAGE_DATA_DIR": str(tmp_path / "data"),
        "QUARTIER_SERVER_BASE_URL": BASE,
        "QUARTIER_FEDERATION_LOCAL_TESTING": "true",
    }
    return env


async def queue(database_url: str, sink: Sink, count: int) -> str:
    """Queue one activity of the node's own actor to ``count`` sink inboxes; its id."""
    async with open_database(database_url) as ctx, asyncio.timeout(30):
        with activated(ctx):
            await ensure_instance_actor()  # its keys sign the deliveries
            actor = UriScheme(BASE).instance_actor
            activity = {"id": f"{actor}/notices/1", "type": "Create", "actor": actor}
            await publish(activity, (sink.inbox(n) for n in range(count)), actor, now())
    return activity["id"]


def now() -> datetime:
    return datetime.now(UTC)


async def delivered(database_url: str) -> int:
    async with open_database(database_url) as ctx:
        with activated(ctx):
            return await Delivery.filter(state=DeliveryState.DELIVERED).count()


async def test_quartier_worker_delivers_beside_serve_or_refuses_sqlite(
    database_url, tmp_path, sink
):
    await migrate_schema(database_url)
    await queue(database_url, sink, 5)
    proc = await asyncio.create_subprocess_exec(
        str(QUARTIER),
        "worker",
        cwd=tmp_path,
        env=worker_env(database_url, tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    if not POSTGRES_ADMIN_URL:
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 1
        assert err.decode().strip() == (
            "quartier: extra worker processes need PostgreSQL; on SQLite, 'quartier serve' "
            "runs the node's only worker"
        )
        assert await delivered(database_url) == 0
        return
    try:
        for _ in range(300):  # the worker's first cycle runs as soon as it has started
            if await delivered(database_url) == 5:
                break
            await asyncio.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert await delivered(database_url) == 5, err.decode()
    assert sorted(sink.posts.values()) == [1] * 5
    assert proc.returncode == 0, err.decode()
    assert b"is processing inbound activities and deliveries" in out


@postgres_only
async def test_two_workers_on_postgresql_deliver_every_row_exactly_once(database_url, sink):
    await migrate_schema(database_url)
    await queue(database_url, sink, 300)
    transport_settings = TransportSettings(
        user_agent="quartier-test", allow_private=True, allow_http=True
    )
    policy = DeliveryPolicy(batch_size=20, per_host=8, concurrency=8)
    both_connected = asyncio.Barrier(2)

    async def one_worker() -> int:
        # Its own database connection, as a separate process would have.
        async with (
            open_database(database_url) as ctx,
            open_transport(transport_settings) as transport,
        ):
            with activated(ctx):
                worker = DeliveryWorker(transport, SigningKeys(UriScheme(BASE)), now, policy=policy)
                await both_connected.wait()  # claim at the same moment: a real race
                attempted = 0
                while handled := await worker.run_once():
                    attempted += handled
                return attempted

    first, second = await asyncio.gather(one_worker(), one_worker())
    assert first + second == 300
    # Both took a share: the claims really overlapped.
    assert first > 0
    assert second > 0
    assert len(sink.posts) == 300
    assert set(sink.posts.values()) == {1}  # no inbox got the activity twice
    assert await delivered(database_url) == 300


async def store_inbound(database_url: str, count: int, actors: list[str]) -> None:
    """``count`` pending Creates, from ``actors`` in turn; each body carries its number."""
    async with open_database(database_url) as ctx:
        with activated(ctx):
            at = now()
            await InboundMessage.bulk_create(
                InboundMessage(
                    activity_id=f"https://a.example/activities/{n}",
                    actor=actors[n % len(actors)],
                    activity_type="Create",
                    body={"id": f"https://a.example/activities/{n}", "n": n},
                    received_at=at,
                    next_attempt_at=at,
                )
                for n in range(count)
            )


async def two_inbound_workers(
    database_url: str, on_create: Callable[[InboundActivity], Awaitable[None]], batch_size: int
) -> tuple[int, int]:
    """Two inbound workers, each with its own connection, racing over the rows; how many
    rows each processed."""
    dispatcher = Dispatcher()
    dispatcher.register("Create", on_create)
    both_connected = asyncio.Barrier(2)

    async def one_worker() -> int:
        async with open_database(database_url) as ctx:
            with activated(ctx):
                worker = InboundWorker(dispatcher, now, batch_size=batch_size)
                await both_connected.wait()  # claim at the same moment: a real race
                processed = 0
                while count := await worker.run_once():
                    processed += count
                return processed

    first, second = await asyncio.gather(one_worker(), one_worker())
    return first, second


@postgres_only
async def test_two_inbound_workers_on_postgresql_handle_every_activity_exactly_once(
    database_url,
):
    await migrate_schema(database_url)
    await store_inbound(database_url, 200, [f"https://a.example/users/u{k}" for k in range(40)])
    handled: Counter[str] = Counter()

    async def on_create(activity: InboundActivity) -> None:
        handled[activity.activity_id] += 1
        await asyncio.sleep(0.001)

    first, second = await two_inbound_workers(database_url, on_create, batch_size=20)
    assert first + second == 200
    assert first > 0
    assert second > 0
    assert len(handled) == 200
    assert set(handled.values()) == {1}


@postgres_only
async def test_two_inbound_workers_on_postgresql_keep_each_actors_order(database_url):
    await migrate_schema(database_url)
    actors = [f"https://a.example/users/u{k}" for k in range(3)]
    await store_inbound(database_url, 60, actors)
    seen: dict[str, list[int]] = {actor: [] for actor in actors}

    async def on_create(activity: InboundActivity) -> None:
        # Uneven handling times: a worker that took an actor's next rows while another still
        # handled its previous ones would record them out of order.
        await asyncio.sleep(0.004 if activity.body["n"] % 2 else 0.0)
        seen[activity.actor].append(activity.body["n"])

    await two_inbound_workers(database_url, on_create, batch_size=4)
    for k, actor in enumerate(actors):
        assert seen[actor] == list(range(k, 60, 3))
