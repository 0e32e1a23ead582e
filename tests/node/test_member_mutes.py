"""Member mutes, over the real HTTP API: the muted neighbour's listings, messages and
notifications leave the muter's views, nothing is refused and nothing leaves the node."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from federation.models import Delivery
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer, error_of
from tests.node.test_inbox import NODE

pytestmark = pytest.mark.local_testing

MUTES = "/api/quartier/v1/me/mutes"
DRILL = {"kind": "lend", "title": "Drill", "category": "tools", "details": {"duration_days": 7}}


async def get(node, path: str, token: str) -> Any:
    resp = await node.get(path, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def post(node, path: str, token: str, body: dict[str, Any], status: int = 201) -> Any:
    resp = await node.post(path, json=body, headers=bearer(token))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def titles(node, token: str) -> list[str]:
    return sorted(
        item["title"] for item in (await get(node, "/api/quartier/v1/listings", token))["listings"]
    )


async def test_a_mute_hides_the_neighbour_from_the_muters_views_only(node, people):
    bea, cyd = people["bea"], people["cyd"]
    mine = await post(node, "/api/quartier/v1/listings", bea, DRILL)
    await post(node, "/api/quartier/v1/listings", cyd, {**DRILL, "title": "Ladder"})
    muted = await post(node, MUTES, bea, {"account": "cyd"})
    assert (muted["account"], muted["kind"], muted["federated"]) == (
        f"{NODE}/users/cyd",
        "mute",
        False,
    )
    assert await get(node, MUTES, bea) == [muted]
    assert await get(node, "/api/quartier/v1/me/blocks", bea) == []  # a mute is not a block

    # Nothing is refused: cyd may still answer and write to bea...
    await post(
        node, f"/api/quartier/v1/listings/{mine['id']}/responses", cyd, {"message": "Saturday?"}
    )
    await post(node, "/api/quartier/v1/conversations", cyd, {"to": ["bea"], "text": "Hello"})
    # ...but bea sees none of it: no listing, no notification, no conversation.
    assert await titles(node, bea) == ["Drill"]
    assert await get(node, "/api/quartier/v1/notifications", bea) == []
    assert await get(node, "/api/quartier/v1/conversations", bea) == []
    # The response itself is there for bea to decide on (only the noise is hidden).
    [response] = await get(node, f"/api/quartier/v1/listings/{mine['id']}/responses", bea)
    assert response["state"] == "pending"
    # Everyone else sees cyd as before.
    assert await titles(node, people["ada"]) == ["Drill", "Ladder"]
    assert len(await get(node, "/api/quartier/v1/conversations", cyd)) == 1
    # Muting tells nobody: nothing was queued for delivery.
    with activated(node.app[DATABASE]):
        assert await Delivery.all().count() == 0

    # Unmuted by id: all of it shows again.
    resp = await node.delete(f"{MUTES}/{muted['id']}", headers=bearer(bea))
    assert resp.status == 204
    assert await titles(node, bea) == ["Drill", "Ladder"]
    [note] = await get(node, "/api/quartier/v1/notifications", bea)
    assert note["type"] == "listing.response"
    [conversation] = await get(node, "/api/quartier/v1/conversations", bea)
    assert conversation["participants"]


async def test_muting_again_is_idempotent_and_bad_input_is_refused(node, people, remote):
    bea = people["bea"]
    first = await post(node, MUTES, bea, {"account": "cyd"})
    again = await post(node, MUTES, bea, {"account": f"{NODE}/users/cyd"}, status=200)
    assert again == first
    body = await error_of(
        await node.post(MUTES, json={"account": "@bea"}, headers=bearer(bea)),
        422,
        "validation_failed",
    )
    assert body["message"] == "you cannot mute yourself"
    resp = await node.post(MUTES, json={"account": "ghost"}, headers=bearer(bea))
    await error_of(resp, 404, "not_found")
    resp = await node.post(
        MUTES, json={"account": f"{remote.base}/users/ghost"}, headers=bearer(bea)
    )
    await error_of(resp, 404, "not_found")
    resp = await node.post(MUTES, json={"who": "cyd"}, headers=bearer(bea))
    await error_of(resp, 422, "validation_failed")
    # A mute is lifted by the member who made it only; a block's id is not a mute's.
    await error_of(
        await node.delete(f"{MUTES}/{first['id']}", headers=bearer(people["cyd"])), 404, "not_found"
    )
    await error_of(
        await node.delete(f"/api/quartier/v1/me/blocks/{first['id']}", headers=bearer(bea)),
        404,
        "not_found",
    )
    node.session.cookie_jar.clear()  # the logins left a session cookie in the test client
    await error_of(await node.get(MUTES), 401, "unauthorized")
    await error_of(await node.post(MUTES, json={"account": "cyd"}), 401, "unauthorized")


async def test_a_remote_actor_is_muted_without_telling_its_server(node, people, remote):
    alice = remote.add("alice")
    muted = await post(node, MUTES, people["bea"], {"account": alice.id})
    assert (muted["account"], muted["federated"]) == (alice.id, False)
    with activated(node.app[DATABASE]):
        assert await Delivery.all().count() == 0
    assert remote.delivered == []


async def test_a_members_export_holds_their_blocks_and_mutes(node, people):
    bea = people["bea"]
    await post(node, MUTES, bea, {"account": "cyd"})
    await post(node, "/api/quartier/v1/me/blocks", bea, {"account": "ada"})
    resp = await node.get("/api/quartier/v1/me/export", headers=bearer(bea))
    assert resp.status == 200, await resp.text()
    archive = zipfile.ZipFile(io.BytesIO(await resp.read()))
    kept = json.loads(archive.read("blocks.json"))
    assert [b["target"] for b in kept["blocks"]] == [f"{NODE}/users/ada"]
    assert [m["target"] for m in kept["mutes"]] == [f"{NODE}/users/cyd"]
