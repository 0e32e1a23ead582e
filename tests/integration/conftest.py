"""Several real nodes in one test: each its own app, database and port on 127.0.0.1.

Nodes run with ``federation.local_testing`` (they reach each other over plain http on
loopback) and without background workers: ``settle`` drives every node's inbound and delivery
workers until no node has anything left to do, so tests are deterministic.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from node.app import create_app
from node.config import load_settings
from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER, INBOUND_WORKER
from node.verification.vault import create_key
from tests.api import bearer, bootstrap_invite, login, register
from tests.conftest import FakeClock, migrate_schema, scratch_database, write_config


@dataclass
class Peer:
    """A running node and a client for it; ``restart`` stops it and starts a new process-like
    instance (new app, same database and port), as after a crash or an upgrade."""

    name: str
    base: str
    client: TestClient
    make_app: Callable[[], web.Application]
    port: int
    env: dict[str, str]  # the QUARTIER_* settings of this node, for running its CLI

    async def stop(self) -> None:
        await self.client.close()

    async def restart(self) -> None:
        self.client = TestClient(TestServer(self.make_app(), host="127.0.0.1", port=self.port))
        await self.client.start_server()

    @property
    def domain(self) -> str:
        return self.base.removeprefix("http://")

    def handle(self, username: str) -> str:
        return f"{username}@{self.domain}"

    def actor(self, username: str) -> str:
        return f"{self.base}/users/{username}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def peers(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Callable[..., Awaitable[Peer]]]:
    """``await peers("a")`` starts a node named a; all are stopped at the end of the test."""
    async with AsyncExitStack() as stack:

        async def start(name: str, **sections: dict[str, Any]) -> Peer:
            directory = tmp_path / name
            directory.mkdir()
            database_url = await stack.enter_async_context(
                scratch_database(directory, name, schema=True)
            )
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {
                "QUARTIER_SERVER_BASE_URL": base,
                "QUARTIER_STORAGE_DATABASE_URL": database_url,
                "QUARTIER_STORAGE_DATA_DIR": str(directory / "data"),
                "QUARTIER_COMMUNITY_NAME": f"Node {name}",
                "QUARTIER_FEDERATION_LOCAL_TESTING": "true",
            }
            for section, values in sections.items():
                for key, value in values.items():
                    env[f"QUARTIER_{section.upper()}_{key.upper()}"] = str(value)
            settings = load_settings(write_config(directory, ""), environ=env)
            await migrate_schema(database_url)
            create_key(settings.document_key_path)  # as quartier migrate does

            def make_app() -> web.Application:
                return create_app(settings, clock=clock, run_worker=False)

            client = TestClient(TestServer(make_app(), host="127.0.0.1", port=port))
            await client.start_server()
            peer = Peer(name=name, base=base, client=client, make_app=make_app, port=port, env=env)
            stack.push_async_callback(lambda: peer.client.close())
            return peer

        yield start


async def settle(*peers: Peer, rounds: int = 20) -> None:
    """Run every node's workers until a whole round finds nothing to do."""
    for _ in range(rounds):
        busy = 0
        for peer in peers:
            app = peer.client.app
            with activated(app[DATABASE]):
                busy += await app[INBOUND_WORKER].run_once()
                busy += await app[DELIVERY_WORKER].run_once()
        if not busy:
            return
    raise AssertionError(f"nodes still busy after {rounds} rounds")


async def member(peer: Peer, username: str) -> str:
    """Register a member on ``peer`` (bootstrap invites make admins); their token."""
    await register(peer.client, await bootstrap_invite(peer.client), username)
    return await login(peer.client, username)


async def get(peer: Peer, token: str, path: str) -> Any:
    """GET ``path`` on ``peer`` as ``token``'s member: the JSON of a 200."""
    resp = await peer.client.get(path, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()
