"""A real node for a real browser: HTTP on 127.0.0.1 at a free port, its own data directory and
database, served from a thread of its own.

The browser tests drive Chromium with Playwright's synchronous API, which blocks the thread that
calls it; a node served from the test's own event loop would then never answer. So the node
runs its event loop in a background thread, and the test seeds it through ``call``, which runs
a coroutine there with a ``TestClient`` on the node: the helpers of ``tests/api.py`` (register,
log in, invites) work unchanged. ``scripts/screenshots.py`` starts its demo node the same way.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

from aiohttp.test_utils import TestClient, TestServer

from node.app import create_app
from node.config import load_settings
from node.verification.vault import create_key
from tests.api import PASSWORD, admin_token, bearer, login, register
from tests.conftest import migrate_schema, scratch_database, write_config
from tests.integration.conftest import free_port

T = TypeVar("T")

# Starting a node migrates (copies) a database and opens it: seconds at worst on a busy CI.
START_TIMEOUT = 60


class LiveNode:
    """A running node at ``base`` (``http://127.0.0.1:PORT``, also its public URL, so the
    Origin a browser sends on a form POST is the node's own)."""

    def __init__(self, directory: Path, **sections: dict[str, Any]) -> None:
        self.directory = directory
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._sections = sections
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._stack = AsyncExitStack()
        self._client: TestClient | None = None

    def start(self) -> LiveNode:
        """Start the loop's thread and the node in it; returns self."""
        self._thread.start()
        self._run(self._start())
        return self

    def stop(self) -> None:
        """Stop serving, drop the database (PostgreSQL) and end the thread."""
        try:
            self._run(self._stack.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(START_TIMEOUT)
            self._loop.close()

    def call(self, step: Callable[[TestClient], Awaitable[T]]) -> T:
        """Run ``step(client)`` on the node's loop and return its result (the client is an
        aiohttp ``TestClient`` on the node, as the API tests use)."""
        client = self._client
        assert client is not None, "the node is not started"
        return self._run(step(client))

    # Seeding through the API: the same calls the API tests make.

    def admin(self, username: str = "ada") -> str:
        """Register an admin through a bootstrap invite (as the first admin does); their
        bearer token."""
        return self.call(lambda client: admin_token(client, username))

    def invite(self, admin: str) -> str:
        """A new invite code, made by the admin whose token is ``admin``."""

        async def step(client: TestClient) -> str:
            resp = await client.post(
                "/api/quartier/v1/admin/invites", json={}, headers=bearer(admin)
            )
            assert resp.status == 201, await resp.text()
            return str((await resp.json())["code"])

        return self.call(step)

    def member(self, admin: str, username: str, **fields: Any) -> str:
        """Invite and register a resident (``PASSWORD`` unless given); their bearer token."""
        code = self.invite(admin)

        async def step(client: TestClient) -> str:
            password = fields.pop("password", PASSWORD)
            fields.setdefault("real_name", username.title())
            await register(client, code, username, password=password, **fields)
            return await login(client, username, password)

        return self.call(step)

    def post(self, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST JSON to the API as the member of ``token``; asserts a 2xx and returns the body."""

        async def step(client: TestClient) -> dict[str, Any]:
            resp = await client.post(path, json=body, headers=bearer(token))
            assert resp.status < 300, await resp.text()
            return dict(await resp.json())

        return self.call(step)

    def _run(self, coro: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(START_TIMEOUT)

    async def _start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        database_url = await self._stack.enter_async_context(
            scratch_database(self.directory, schema=True)
        )
        env = {
            "QUARTIER_SERVER_BASE_URL": self.base,
            "QUARTIER_STORAGE_DATABASE_URL": database_url,
            "QUARTIER_STORAGE_DATA_DIR": str(self.directory / "data"),
        }
        for section, values in self._sections.items():
            for key, value in values.items():
                if isinstance(value, list | tuple):
                    value = ",".join(value)
                env[f"QUARTIER_{section.upper()}_{key.upper()}"] = str(value)
        settings = load_settings(write_config(self.directory, ""), environ=env)
        await migrate_schema(database_url)
        create_key(settings.document_key_path)  # as quartier migrate does
        app = create_app(settings, run_worker=False)
        client = TestClient(TestServer(app, host="127.0.0.1", port=self.port))
        await client.start_server()
        self._stack.push_async_callback(client.close)
        self._client = client
