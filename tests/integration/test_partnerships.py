"""Partnerships between two real nodes: proposed, accepted or refused, ended."""

from __future__ import annotations

from federation.models import Partnership, PartnershipState
from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER
from tests.api import admin_token, bearer, error_of, member_token
from tests.integration.conftest import Peer, settle

PATH = "/api/quartier/v1/admin/partnerships"
BLOCKS = "/api/quartier/v1/admin/domain_blocks"


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


async def active_partnership(a: Peer, b: Peer) -> tuple[str, str, dict, dict]:
    """A proposes, B accepts: the admins' tokens and each side's partnership."""
    admin_a, admin_b = await admin_token(a.client), await admin_token(b.client)
    resp = await a.client.post(PATH, json={"node": b.domain}, headers=bearer(admin_a))
    assert resp.status == 201, await resp.text()
    await settle(a, b)
    [request] = await listed(b, admin_b)
    await b.client.post(f"{PATH}/{request['id']}/accept", headers=bearer(admin_b))
    await settle(a, b)
    [mine] = await listed(a, admin_a)
    assert mine["state"] == "active"
    return admin_a, admin_b, mine, request


async def test_proposing_again_to_a_node_that_just_ended_it_sends_a_new_proposal(peers):
    a, b = await peers("a"), await peers("b")
    admin_a, admin_b, _mine, theirs = await active_partnership(a, b)
    resp = await b.client.delete(f"{PATH}/{theirs['id']}", headers=bearer(admin_b))
    assert resp.status == 200
    with activated(b.client.app[DATABASE]):  # B's notice reaches A's inbox, not yet processed
        assert await b.client.app[DELIVERY_WORKER].run_once() == 1

    body = {"node": b.domain, "message": "Shall we start again?"}
    resp = await a.client.post(PATH, json=body, headers=bearer(admin_a))
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["state"] == "proposed"
    await settle(a, b)
    # B's late notice ends nothing: it answers the earlier proposal, not this one.
    assert [p["state"] for p in await listed(a, admin_a)] == ["proposed"]
    [request] = await listed(b, admin_b)
    assert (request["state"], request["message"]) == ("requested", body["message"])
    await b.client.post(f"{PATH}/{request['id']}/accept", headers=bearer(admin_b))
    await settle(a, b)
    assert [p["state"] for p in await listed(a, admin_a)] == ["active"]


async def test_proposing_again_to_an_active_partner_is_accepted_at_once(peers):
    a, b = await peers("a"), await peers("b")
    admin_a, admin_b, _mine, theirs = await active_partnership(a, b)
    resp = await a.client.post(PATH, json={"node": b.domain}, headers=bearer(admin_a))
    assert resp.status == 201, await resp.text()
    await settle(a, b)
    assert [p["state"] for p in await listed(a, admin_a)] == ["active"]
    assert [p["state"] for p in await listed(b, admin_b)] == ["active"]
    # Both now name the new proposal: ending it from either side still works.
    resp = await b.client.delete(f"{PATH}/{theirs['id']}", headers=bearer(admin_b))
    assert resp.status == 200
    await settle(a, b)
    assert [p["state"] for p in await listed(a, admin_a)] == ["ended"]


async def test_a_partnership_with_a_blocked_node_shows_it_is_suspended(peers):
    a, b = await peers("a"), await peers("b")
    admin_a, admin_b, mine, _theirs = await active_partnership(a, b)
    assert mine["suspended"] is None
    resp = await a.client.post(BLOCKS, json={"domain": b.domain}, headers=bearer(admin_a))
    assert resp.status == 201, await resp.text()
    [partnership] = await listed(a, admin_a)
    assert (partnership["state"], partnership["suspended"]) == (
        "active",
        "blocked by this node's community",
    )
    assert [p["suspended"] for p in await listed(b, admin_b)] == [None]


async def test_partnerships_of_a_node_that_no_longer_federates_are_suspended(peers, clock):
    a = await peers("a", community={"federation_mode": "local"})
    admin = await admin_token(a.client)
    with activated(a.client.app[DATABASE]):  # made while the node still federated
        for n, state in enumerate((PartnershipState.ACTIVE, PartnershipState.ENDED)):
            follow = {"id": f"{a.base}/actor/partnership/{n}", "type": "Follow"}
            await Partnership.create(
                peer_actor=f"https://p{n}.example/actor",
                peer_host=f"p{n}.example",
                peer_inbox=f"https://p{n}.example/inbox",
                initiated_by_us=True,
                state=state,
                follow_activity_id=follow["id"],
                follow_activity=follow,
                created_at=clock.now,
                updated_at=clock.now,
            )
    found = {p["node"]: (p["state"], p["suspended"]) for p in await listed(a, admin)}
    assert found == {
        "p0.example": ("active", "this node does not federate"),
        "p1.example": ("ended", None),  # over anyway
    }
