"""Partnerships under the community's federation policy: no proposals in the local mode, none
to or from blocked nodes; the allowlist mode proposes freely (that is how it admits anyone)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from aiohttp import web

from federation.models import Delivery, Partnership, PartnershipState
from node.db import activated
from node.http.keys import DATABASE, FEDERATION_POLICY
from tests.api import admin_token, bearer, error_of
from tests.node.cli_support import QUARTIER

PATH = "/api/quartier/v1/admin/partnerships"


class OtherNode:
    """A server that answers WebFinger with the node actor it is told to name."""

    def __init__(self) -> None:
        self.base = ""
        self.names = ""  # the actor its WebFinger names; its own by default
        self.hits = 0

    @property
    def host(self) -> str:
        return self.base.removeprefix("http://")

    async def webfinger(self, request: web.Request) -> web.Response:
        self.hits += 1
        actor = self.names or f"{self.base}/actor"
        return web.json_response({"links": [{"rel": "self", "href": actor}]})


async def start_other(aiohttp_server) -> OtherNode:
    other = OtherNode()
    app = web.Application()
    app.router.add_get("/.well-known/webfinger", other.webfinger)
    server = await aiohttp_server(app)
    other.base = f"http://127.0.0.1:{server.port}"
    return other


@pytest.fixture
async def other(aiohttp_server) -> OtherNode:
    return await start_other(aiohttp_server)


async def test_a_local_node_proposes_to_nobody(node_in, other):
    node = await node_in("local")
    admin = await admin_token(node)
    resp = await node.post(PATH, json={"node": other.host}, headers=bearer(admin))
    error = await error_of(resp, 409, "conflict")
    assert error["message"] == f"cannot partner with {other.host}: this node does not federate"
    assert other.hits == 0


@pytest.mark.parametrize("mode", ["open", "allowlist"])
async def test_a_blocked_node_is_not_even_contacted(node_in, other, mode):
    node = await node_in(mode)
    admin = await admin_token(node)
    with activated(node.app[DATABASE]):
        await node.app[FEDERATION_POLICY].blocks.add(other.host)
    resp = await node.post(PATH, json={"node": other.base}, headers=bearer(admin))
    error = await error_of(resp, 409, "conflict")
    assert error["message"].endswith("blocked by this node's community")
    assert other.hits == 0
    # Control: unblocked, it is contacted (and found to be no node: still 409).
    with activated(node.app[DATABASE]):
        await node.app[FEDERATION_POLICY].blocks.remove(other.host)
    await node.post(PATH, json={"node": other.base}, headers=bearer(admin))
    assert other.hits >= 1


async def test_webfinger_naming_a_blocked_node_is_refused(node_in, other, aiohttp_server):
    node = await node_in("open")
    admin = await admin_token(node)
    blocked = await start_other(aiohttp_server)
    other.names = f"{blocked.base}/actor"
    with activated(node.app[DATABASE]):
        await node.app[FEDERATION_POLICY].blocks.add(blocked.host)
    resp = await node.post(PATH, json={"node": other.host}, headers=bearer(admin))
    error = await error_of(resp, 409, "conflict")
    assert error["message"] == (
        f"cannot partner with {blocked.host}: blocked by this node's community"
    )
    with activated(node.app[DATABASE]):
        assert await Partnership.all().count() == 0
        assert await Delivery.all().count() == 0


async def test_a_request_from_a_node_blocked_since_cannot_be_accepted_but_can_be_refused(
    node_in, other, clock
):
    node = await node_in("open")
    admin = await admin_token(node)
    with activated(node.app[DATABASE]):
        row = await Partnership.create(
            peer_actor=f"{other.base}/actor",
            peer_host=other.host,
            peer_inbox=f"{other.base}/inbox",
            initiated_by_us=False,
            state=PartnershipState.REQUESTED,
            follow_activity_id=f"{other.base}/follow/1",
            follow_activity={"id": f"{other.base}/follow/1", "type": "Follow"},
            created_at=clock.now,
            updated_at=clock.now,
        )
        await node.app[FEDERATION_POLICY].blocks.add(other.host)
    resp = await node.post(f"{PATH}/{row.id}/accept", headers=bearer(admin))
    error = await error_of(resp, 409, "conflict")
    assert error["message"].endswith("blocked by this node's community")
    resp = await node.post(f"{PATH}/{row.id}/reject", headers=bearer(admin))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["state"] == "refused"


async def test_the_cli_refuses_to_propose_from_a_local_node(
    node_in, other, database_url, tmp_path: Path
):
    await node_in("local")  # migrates the database
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARTIER_")}
    env |= {
        "QUARTIER_STORAGE_DATABASE_URL": database_url,
        "QUARTIER_COMMUNITY_FEDERATION_MODE": "local",
        "QUARTIER_FEDERATION_LOCAL_TESTING": "true",
    }
    process = await asyncio.create_subprocess_exec(
        str(QUARTIER), "partners", "propose", other.host, cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    assert err.decode().strip() == (
        f"quartier: cannot partner with {other.host}: this node does not federate"
    )
    assert other.hits == 0
