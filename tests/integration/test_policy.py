"""The community's federation policy between real nodes: allowlist, local and blocks."""

from __future__ import annotations

import uuid

from federation.models import Delivery, DeliveryState, InboundMessage
from federation.outbound import publish
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer, error_of
from tests.conftest import FakeClock
from tests.integration.conftest import Peer, get, member, settle

PARTNERSHIPS = "/api/quartier/v1/admin/partnerships"
BLOCKS = "/api/quartier/v1/admin/domain_blocks"
ALLOWLIST = {"community": {"federation_mode": "allowlist"}}


async def follow(peer: Peer, token: str, target: str) -> None:
    resp = await peer.client.post(
        "/api/quartier/v1/follows", json={"target": target}, headers=bearer(token)
    )
    assert resp.status == 201, await resp.text()


async def message(peer: Peer, token: str, to: str, text: str) -> None:
    body = {"to": [to], "text": text}
    resp = await peer.client.post(
        "/api/quartier/v1/conversations", json=body, headers=bearer(token)
    )
    assert resp.status == 201, await resp.text()


async def deliveries(peer: Peer, kind: str) -> list[Delivery]:
    """The peer's deliveries of activities of one type, oldest first."""
    with activated(peer.client.app[DATABASE]):
        rows = await Delivery.all().order_by("id")
    return [row for row in rows if f'"type":"{kind}"' in row.body]


async def received(peer: Peer, activity_id: str) -> bool:
    with activated(peer.client.app[DATABASE]):
        return await InboundMessage.exists(activity_id=activity_id)


async def states(peer: Peer, token: str) -> list[str]:
    return [p["state"] for p in await get(peer, token, PARTNERSHIPS)]


async def queue_partner_scoped(peer: Peer, other: Peer, clock: FakeClock) -> str:
    """Something meant for partner nodes only, queued from ``peer``'s node actor to ``other``."""
    actor = f"{peer.base}/actor"
    activity = {"id": f"{actor}/offers/{uuid.uuid4().hex}", "type": "Create", "actor": actor,
                "object": {"type": "Note", "content": "Ladder to lend, partners only"}}  # fmt: skip
    with activated(peer.client.app[DATABASE]):
        await publish(activity, [f"{other.base}/inbox"], actor, clock.now, partners_only=True)
    return activity["id"]


async def test_an_allowlist_node_federates_only_once_the_partnership_is_active_and_no_longer(
    peers, clock
):
    a, b = await peers("a"), await peers("b", **ALLOWLIST)
    ada, bob, cyd = await member(a, "ada"), await member(b, "bob"), await member(a, "cyd")

    # Before any partnership, B turns A's members away: A's deliveries die on B's 403.
    await follow(a, cyd, b.handle("bob"))
    await message(a, cyd, b.handle("bob"), "Hello from a stranger")
    await settle(a, b)
    refused = await deliveries(a, "Follow") + await deliveries(a, "Create")
    assert [(r.state, r.last_status) for r in refused] == [(DeliveryState.DEAD, 403)] * 2
    assert await get(b, bob, "/api/quartier/v1/follow_requests") == []
    assert await get(b, bob, "/api/quartier/v1/conversations") == []

    # The partnership handshake itself goes through: A proposes, B accepts.
    resp = await a.client.post(PARTNERSHIPS, json={"node": b.domain}, headers=bearer(ada))
    assert resp.status == 201, await resp.text()
    await settle(a, b)
    [request] = await get(b, bob, PARTNERSHIPS)
    assert request["state"] == "requested"
    resp = await b.client.post(f"{PARTNERSHIPS}/{request['id']}/accept", headers=bearer(bob))
    assert resp.status == 200, await resp.text()
    await settle(a, b)
    assert await states(a, ada) == await states(b, bob) == ["active"]

    # Now follows and direct messages cross, both ways.
    await follow(a, ada, b.handle("bob"))
    await settle(a, b)
    [pending] = await get(b, bob, "/api/quartier/v1/follow_requests")
    assert pending["follower"] == a.actor("ada")
    resp = await b.client.post(
        f"/api/quartier/v1/follow_requests/{pending['id']}/accept", headers=bearer(bob)
    )
    assert resp.status == 200
    await message(a, ada, b.handle("bob"), "Hello, partner")
    await settle(a, b)
    [mine] = [
        f for f in await get(a, ada, "/api/quartier/v1/follows") if f["followee"] == b.actor("bob")
    ]
    assert mine["state"] == "accepted"
    [conversation] = await get(b, bob, "/api/quartier/v1/conversations")
    assert conversation["last_message"]["text"] == "Hello, partner"
    resp = await b.client.post(
        f"/api/quartier/v1/conversations/{conversation['id']}/messages",
        json={"text": "Hello back"},
        headers=bearer(bob),
    )
    assert resp.status == 201
    await settle(a, b)
    [at_a] = await get(a, ada, "/api/quartier/v1/conversations")
    assert at_a["last_message"]["text"] == "Hello back"

    # Partner-scoped rows queued on both sides while active; then A ends the partnership
    # before either worker gets to them: neither is sent, B is told it ended.
    from_a, from_b = (
        await queue_partner_scoped(a, b, clock),
        await queue_partner_scoped(b, a, clock),
    )
    [at_a] = await get(a, ada, PARTNERSHIPS)  # A's own row (its id need not be B's)
    resp = await a.client.delete(f"{PARTNERSHIPS}/{at_a['id']}", headers=bearer(ada))
    assert resp.status == 200, await resp.text()
    await settle(a, b)
    assert await states(a, ada) == await states(b, bob) == ["ended"]
    for peer, activity_id, other in ((a, from_a, b), (b, from_b, a)):
        [row] = [r for r in await deliveries(peer, "Create") if r.activity_id == activity_id]
        assert (row.state, row.last_error) == (DeliveryState.DEAD, "the partnership ended")
        assert not await received(other, activity_id)

    # And B is closed to A's members again.
    await message(a, ada, b.handle("bob"), "Still there?")
    await settle(a, b)
    last = (await deliveries(a, "Create"))[-1]
    assert (last.state, last.last_status) == (DeliveryState.DEAD, 403)
    [conversation] = await get(b, bob, "/api/quartier/v1/conversations")
    assert conversation["last_message"]["text"] == "Hello back"


async def test_a_local_node_neither_receives_nor_proposes(peers):
    a, c = await peers("a"), await peers("c", community={"federation_mode": "local"})
    ada, cid = await member(a, "ada"), await member(c, "cid")
    await follow(a, ada, c.handle("cid"))
    await settle(a, c)
    [refused] = await deliveries(a, "Follow")
    assert (refused.state, refused.last_status) == (DeliveryState.DEAD, 403)
    assert await get(c, cid, "/api/quartier/v1/follow_requests") == []
    resp = await c.client.post(PARTNERSHIPS, json={"node": a.domain}, headers=bearer(cid))
    error = await error_of(resp, 409, "conflict")
    assert error["message"] == f"cannot partner with {a.domain}: this node does not federate"
    assert await get(c, cid, PARTNERSHIPS) == []


async def test_a_blocked_node_is_dropped_quietly_and_sent_nothing(peers):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    resp = await a.client.post(
        BLOCKS, json={"domain": b.domain, "reason": "spam"}, headers=bearer(ada)
    )
    assert resp.status == 201, await resp.text()

    # B's message is accepted (202: B must not learn of the block, nor retry) and dropped.
    await message(b, bob, a.handle("ada"), "Buy my stuff")
    await settle(a, b)
    [sent] = await deliveries(b, "Create")
    assert sent.state == DeliveryState.DELIVERED
    assert not await received(a, sent.activity_id)
    assert await get(a, ada, "/api/quartier/v1/conversations") == []

    # A's members cannot reach B: refused at once with the reason, nothing queued.
    body = {"to": [b.handle("bob")], "text": "Hello?"}
    resp = await a.client.post("/api/quartier/v1/conversations", json=body, headers=bearer(ada))
    error = await error_of(resp, 403, "forbidden")
    assert error["message"] == f"cannot reach {b.domain}: blocked by this node's community"
    resp = await a.client.post(
        "/api/quartier/v1/follows", json={"target": b.actor("bob")}, headers=bearer(ada)
    )
    await error_of(resp, 403, "forbidden")
    assert await deliveries(a, "Create") == await deliveries(a, "Follow") == []
    assert await get(a, ada, "/api/quartier/v1/conversations") == []
    [at_b] = await get(b, bob, "/api/quartier/v1/conversations")  # bob's own, with his message only
    assert at_b["last_message"]["text"] == "Buy my stuff"

    # Lifted: messages cross again.
    resp = await a.client.delete(f"{BLOCKS}/{b.domain}", headers=bearer(ada))
    assert resp.status == 204
    await message(b, bob, a.handle("ada"), "Sorry about that")
    await settle(a, b)
    [at_a] = await get(a, ada, "/api/quartier/v1/conversations")
    assert at_a["last_message"]["text"] == "Sorry about that"
    await message(a, ada, b.handle("bob"), "No harm done")
    await settle(a, b)
    [sent] = await deliveries(a, "Create")
    assert sent.state == DeliveryState.DELIVERED


async def test_members_of_a_local_node_cannot_reach_other_servers_at_all(peers):
    a, c = await peers("a"), await peers("c", community={"federation_mode": "local"})
    await member(a, "ada")
    cid = await member(c, "cid")
    expected = f"cannot reach {a.domain}: this node does not federate"
    # A handle: refused before the WebFinger lookup; an actor URL: before fetching it.
    for target in (a.handle("ada"), a.actor("ada")):
        resp = await c.client.post(
            "/api/quartier/v1/follows", json={"target": target}, headers=bearer(cid)
        )
        assert (await error_of(resp, 403, "forbidden"))["message"] == expected
        body = {"to": [target], "text": "Hello"}
        resp = await c.client.post("/api/quartier/v1/conversations", json=body, headers=bearer(cid))
        assert (await error_of(resp, 403, "forbidden"))["message"] == expected
    # A server that does not even exist: 403 (not the lookup's 404) shows nothing was asked.
    for path, body in (
        ("/api/quartier/v1/follows", {"target": "ghost@127.0.0.1:9"}),
        ("/api/quartier/v1/conversations", {"to": ["ghost@127.0.0.1:9"], "text": "Hello"}),
    ):
        resp = await c.client.post(path, json=body, headers=bearer(cid))
        error = await error_of(resp, 403, "forbidden")
        assert error["message"] == "cannot reach 127.0.0.1:9: this node does not federate"
    with activated(c.client.app[DATABASE]):
        assert await Delivery.all().count() == 0
    # Neighbours on the local node still follow and message each other.
    await member(c, "cora")
    await follow(c, cid, c.handle("cora"))
    await message(c, cid, c.handle("cora"), "Coffee?")


async def test_an_allowlist_node_refuses_its_members_non_partner_servers(peers):
    a, b = await peers("a"), await peers("b", **ALLOWLIST)
    await member(a, "ada")
    bob = await member(b, "bob")
    resp = await b.client.post(
        "/api/quartier/v1/follows", json={"target": a.handle("ada")}, headers=bearer(bob)
    )
    error = await error_of(resp, 403, "forbidden")
    assert error["message"] == (
        f"cannot reach {a.domain}: this node federates only with its partner nodes"
    )


async def test_a_server_blocked_since_leaves_the_conversation_and_the_member_is_told(peers):
    a, b, c = await peers("a"), await peers("b"), await peers("c")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await member(c, "cyd")
    body = {"to": [b.handle("bob"), c.handle("cyd")], "text": "Who has a ladder?"}
    resp = await a.client.post("/api/quartier/v1/conversations", json=body, headers=bearer(ada))
    assert resp.status == 201, await resp.text()
    cid = (await resp.json())["id"]
    await settle(a, b, c)
    resp = await a.client.post(BLOCKS, json={"domain": b.domain}, headers=bearer(ada))
    assert resp.status == 201, await resp.text()
    # The suspension ended the conversation with B's members, and ada is told so.
    [note] = await get(a, ada, "/api/quartier/v1/notifications")
    assert note["type"] == "moderation.ended"
    assert b.domain in note["detail"]
    [conversation] = await get(a, ada, "/api/quartier/v1/conversations")
    assert b.actor("bob") not in conversation["participants"]

    resp = await a.client.post(
        f"/api/quartier/v1/conversations/{cid}/messages",
        json={"text": "Found one"},
        headers=bearer(ada),
    )
    assert resp.status == 201, await resp.text()
    reply = await resp.json()
    assert reply["not_sent_to"] == []  # bob is no longer in it: nothing was refused
    await settle(a, b, c)
    [at_b] = await get(b, bob, "/api/quartier/v1/conversations")
    assert at_b["last_message"]["text"] == "Who has a ladder?"  # B never got the reply
    creates = await deliveries(a, "Create")
    first, reply_delivery = (
        [d.inbox for d in creates if d.activity_id == activity_id]
        for activity_id in dict.fromkeys(d.activity_id for d in creates)
    )
    assert sorted(first) == sorted([f"{b.base}/inbox", f"{c.base}/inbox"])
    assert reply_delivery == [f"{c.base}/inbox"]  # C got the reply

    # Unblocked, then edited: B left the conversation, so it gets no Update of it either.
    assert (await a.client.delete(f"{BLOCKS}/{b.domain}", headers=bearer(ada))).status == 204
    resp = await a.client.patch(
        f"/api/quartier/v1/conversations/{cid}/messages/{reply['id']}",
        json={"text": "Found one, thanks"},
        headers=bearer(ada),
    )
    assert resp.status == 200, await resp.text()
    assert [d.inbox for d in await deliveries(a, "Update")] == [f"{c.base}/inbox"]
