"""Fixtures shared by the node's tests: the real CLI, and nodes in a federation mode."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER
from tests.api import admin_token, bearer, login, member_token
from tests.conftest import migrate_as_the_cli_does
from tests.node.cli_support import Run, clean_environment, runner
from tests.node.media_support import jpeg, uploaded
from tests.node.test_inbox import NODE, Remote, start_remote
from tests.node.verification_support import set_verified

StartNode = Callable[[str], Awaitable[TestClient]]


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    """A clean environment on the test database."""
    return clean_environment(database_url)


@pytest.fixture
def quartier(tmp_path: Path, env: dict[str, str]) -> Run:
    """Run ``quartier ARGS`` in tmp_path; returns the completed process (text output)."""
    return runner(tmp_path, env)


@pytest.fixture
async def migrated(env: dict[str, str], tmp_path: Path) -> None:
    """The test database as ``quartier migrate`` run by ``quartier`` leaves it, without
    running it: for tests of the other commands (see migrate_as_the_cli_does)."""
    await migrate_as_the_cli_does(tmp_path, env)


@pytest.fixture
def node_in(make_settings, make_node) -> StartNode:
    """``await node_in(mode)``: a node in that federation mode that may fetch from loopback."""

    async def start(mode: str) -> TestClient:
        settings = make_settings(
            federation={"local_testing": "true"}, community={"federation_mode": mode}
        )
        return await make_node(settings)

    return start


@pytest.fixture
async def people(node) -> dict[str, str]:
    """Tokens of ada (an admin), bea and cyd (residents)."""
    ada = await admin_token(node, "ada")
    return {
        "ada": ada,
        "bea": await member_token(node, ada, "bea"),
        "cyd": await member_token(node, ada, "cyd"),
    }


async def deliver_all(node) -> None:
    """Run the node's delivery worker until nothing is due."""
    with activated(node.app[DATABASE]):
        while await node.app[DELIVERY_WORKER].run_once():
            pass


@pytest.fixture
async def remote(aiohttp_server) -> Remote:
    """Another server (fake: it serves its actors and records what it receives)."""
    return await start_remote(aiohttp_server)


@pytest.fixture
async def mods(node, people) -> dict[str, str]:
    """people, and dan, a moderator."""
    await member_token(node, people["ada"], "dan")
    resp = await node.patch(
        "/api/quartier/v1/admin/members/dan",
        json={"role": "moderator"},
        headers=bearer(people["ada"]),
    )
    assert resp.status == 200, await resp.text()
    return {**people, "dan": await login(node, "dan")}


@pytest.fixture
async def bea_world(node, people, remote):
    """bea with a listing and its photo, a message to cyd, one to zoe on another server
    (delivered: in her ledger), verified (a credential), her vouch for cyd."""
    bea = people["bea"]
    photo = await uploaded(node, bea, jpeg((40, 30)))
    resp = await node.post(
        "/api/quartier/v1/listings",
        json={"kind": "give", "title": "Sofa", "category": "furniture", "photos": [photo["id"]]},
        headers=bearer(bea),
    )
    assert resp.status == 201, await resp.text()
    listing = await resp.json()
    for to, text in (([f"{NODE}/users/cyd"], "Hello cyd"), ([remote.add("zoe").id], "Hi zoe")):
        resp = await node.post(
            "/api/quartier/v1/conversations", json={"to": to, "text": text}, headers=bearer(bea)
        )
        assert resp.status == 201, await resp.text()
    await deliver_all(node)
    await set_verified(node, people["ada"], "bea")
    resp = await node.post("/api/quartier/v1/members/cyd/vouch", headers=bearer(bea))
    assert resp.status in (200, 201), await resp.text()
    return {"photo": photo, "listing": listing}


@pytest.fixture
def cli_env(tmp_path, database_url) -> dict[str, str]:
    """The test node's settings (same database, data directory, URL) for ``quartier``."""
    return clean_environment(
        database_url,
        QUARTIER_SERVER_BASE_URL=NODE,
        QUARTIER_STORAGE_DATA_DIR=str(tmp_path / "data"),
        QUARTIER_FEDERATION_LOCAL_TESTING="true",
    )


@pytest.fixture
def cli(tmp_path, cli_env, node) -> Run:
    """``quartier ARGS`` beside the running test node."""
    return runner(tmp_path, cli_env)
