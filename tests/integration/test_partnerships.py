"""Partnerships between two real nodes: proposed, accepted or refused, ended."""

from __future__ import annotations

from tests.api import admin_token, bearer, error_of, member_token
from tests.integration.conftest import Peer, settle

PATH = "/api/v1/admin/partnerships"


async def listed(peer: Peer, token: str) -> list[dict]:
    resp = await peer.client.get(PATH, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_a_proposes_b_accepts_then_a_ends_it(peers):
    a, b = await peers("a"), await peers("b")
    admin_a, admin_b = await admin_token(a.client), await admin_token(b.client)
    body = {"node": b.domain, "message": "Residents of A would like to share offers with B."}
    resp = await a.client.post(PATH, json=body, headers=bearer(admin_a))
    assert resp.status == 201, await resp.text()
    proposal = await resp.json()
    assert (proposal["state"], proposal["actor"]) == ("proposed", f"{b.base}/actor")

    await settle(a, b)
    [request] = await listed(b, admin_b)
    assert (request["state"], request["initiated_by_us"]) == ("requested", False)
    assert request["message"] == body["message"]
    assert request["actor"] == f"{a.base}/actor"

    resp = await b.client.post(f"{PATH}/{request['id']}/accept", headers=bearer(admin_b))
    assert resp.status == 200
    await settle(a, b)
    assert [p["state"] for p in await listed(a, admin_a)] == ["active"]
    assert [p["state"] for p in await listed(b, admin_b)] == ["active"]

    resp = await a.client.delete(f"{PATH}/{proposal['id']}", headers=bearer(admin_a))
    assert resp.status == 200
    await settle(a, b)
    assert [p["state"] for p in await listed(a, admin_a)] == ["ended"]
    assert [p["state"] for p in await listed(b, admin_b)] == ["ended"]


async def test_b_refuses_and_b_can_end_an_active_partnership_from_its_side(peers):
    a, b = await peers("a"), await peers("b")
    admin_a, admin_b = await admin_token(a.client), await admin_token(b.client)
    await a.client.post(PATH, json={"node": b.base}, headers=bearer(admin_a))
    await settle(a, b)
    [request] = await listed(b, admin_b)
    await b.client.post(f"{PATH}/{request['id']}/reject", headers=bearer(admin_b))
    await settle(a, b)
    assert [p["state"] for p in await listed(a, admin_a)] == ["refused"]

    # A tries again; this time B accepts, then B ends it.
    await a.client.post(PATH, json={"node": b.domain}, headers=bearer(admin_a))
    await settle(a, b)
    [request] = await listed(b, admin_b)
    assert request["state"] == "requested"
    await b.client.post(f"{PATH}/{request['id']}/accept", headers=bearer(admin_b))
    await settle(a, b)
    resp = await b.client.delete(f"{PATH}/{request['id']}", headers=bearer(admin_b))
    assert resp.status == 200
    await settle(a, b)
    assert [p["state"] for p in await listed(a, admin_a)] == ["ended"]


async def test_partnership_requests_with_bad_input_get_clear_errors(peers):
    (a,) = [await peers("a")]
    admin = await admin_token(a.client)
    for body, status, code in [
        ({"node": "not a host!"}, 422, "validation_failed"),
        ({"node": "b.example", "message": "x" * 1001}, 422, "validation_failed"),
        ({"node": "127.0.0.1:9"}, 409, "conflict"),  # nothing listens there
        ({"node": a.domain}, 409, "conflict"),  # ourselves
    ]:
        resp = await a.client.post(PATH, json=body, headers=bearer(admin))
        await error_of(resp, status, code)
    resp = await a.client.post(f"{PATH}/999/accept", headers=bearer(admin))
    await error_of(resp, 409, "conflict")
    resp = await a.client.delete(f"{PATH}/999", headers=bearer(admin))
    await error_of(resp, 409, "conflict")


async def test_only_admins_manage_partnerships(peers):
    (a,) = [await peers("a")]
    admin = await admin_token(a.client)
    resident = await member_token(a.client, admin, "res")
    resp = await a.client.get(PATH, headers=bearer(resident))
    await error_of(resp, 403, "forbidden")
    resp = await a.client.post(PATH, json={"node": "b.example"}, headers=bearer(resident))
    await error_of(resp, 403, "forbidden")
