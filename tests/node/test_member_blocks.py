"""Member blocks, over the real HTTP API: a block refuses the other's follows, messages and
responses (here and from other servers), ends follows both ways, declines their pending
responses and hides what they do; a block of another server's actor goes there as ``Block``
(and its lifting as ``Undo``); another server's ``Block`` of one of our members (Mastodon's
shape) ends the follows between them. Bad input gets clear JSON errors."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from activitypub.listings import ProposalRef, offer_agreement, read_listing
from federation.models import InboundMessage, InboundState
from node.conversations.models import Message
from node.db import activated
from node.follows.models import Follow, FollowState
from node.http.keys import DATABASE, DELIVERY_WORKER, INBOUND_WORKER, LISTINGS
from node.listings.models import Listing, Response
from node.relations.models import RemoteBlock
from tests.api import bearer, error_of
from tests.node.test_inbox import NODE, RemoteActor, deliver, follow
from tests.node.test_inbox_interop import localised

pytestmark = pytest.mark.local_testing

BLOCKS = "/api/quartier/v1/me/blocks"
DRILL = {
    "kind": "lend",
    "title": "Cordless drill",
    "category": "tools",
    "details": {"duration_days": 7},
}
BEA, CYD = f"{NODE}/users/bea", f"{NODE}/users/cyd"


async def block(node, token: str, account: str, status: int = 201) -> dict[str, Any]:
    resp = await node.post(BLOCKS, json={"account": account}, headers=bearer(token))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def publish_listing(
    node, token: str, title: str = "Cordless drill", audience: str = "node"
) -> int:
    body = {**DRILL, "title": title, "audience": audience}
    resp = await node.post("/api/quartier/v1/listings", json=body, headers=bearer(token))
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


async def respond(node, token: str, listing_id: int):
    return await node.post(
        f"/api/quartier/v1/listings/{listing_id}/responses",
        json={"message": "Saturday?"},
        headers=bearer(token),
    )


async def write(node, token: str, to: str):
    return await node.post(
        "/api/quartier/v1/conversations", json={"to": [to], "text": "Hello"}, headers=bearer(token)
    )


async def follows(node) -> list[tuple[str, str, FollowState]]:
    with activated(node.app[DATABASE]):
        return [(f.follower, f.followee, f.state) for f in await Follow.all().order_by("id")]


async def run_inbound(node) -> InboundMessage:
    with activated(node.app[DATABASE]):
        assert await node.app[INBOUND_WORKER].run_once() == 1
        return await InboundMessage.all().order_by("-id").first()


async def deliver_all(node) -> None:
    with activated(node.app[DATABASE]):
        while await node.app[DELIVERY_WORKER].run_once():
            pass


async def titles(node, token: str) -> list[str]:
    resp = await node.get("/api/quartier/v1/listings", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return sorted(item["title"] for item in (await resp.json())["listings"])


async def accept_follow_of(node, token: str) -> None:
    [request] = await (
        await node.get("/api/quartier/v1/follow_requests", headers=bearer(token))
    ).json()
    resp = await node.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/accept", headers=bearer(token)
    )
    assert resp.status == 200, await resp.text()


async def test_blocking_a_neighbour_refuses_their_follows_messages_and_responses(node, people):
    bea, cyd = people["bea"], people["cyd"]
    # Before: they follow each other, cyd answered bea's listing, both have listings.
    for who, whom, token in ((cyd, "bea", bea), (bea, "cyd", cyd)):
        resp = await node.post(
            "/api/quartier/v1/follows", json={"target": whom}, headers=bearer(who)
        )
        assert resp.status == 201, await resp.text()
        await accept_follow_of(node, token)
    drill = await publish_listing(node, bea)
    await publish_listing(node, cyd, "Ladder")
    assert (await respond(node, cyd, drill)).status == 201
    assert await titles(node, bea) == ["Cordless drill", "Ladder"]

    blocked = await block(node, bea, "cyd")
    assert blocked["account"] == CYD
    assert (blocked["kind"], blocked["federated"]) == ("block", False)
    assert blocked["created_at"] == "2026-11-26T12:00:00Z"

    # Follows both ways ended; cyd's pending response declined.
    assert await follows(node) == []
    with activated(node.app[DATABASE]):
        [response] = await Response.all()
    assert response.state.value == "declined"
    # cyd can neither follow, write to nor answer bea; bea cannot write to cyd either.
    resp = await node.post("/api/quartier/v1/follows", json={"target": "bea"}, headers=bearer(cyd))
    body = await error_of(resp, 403, "forbidden")
    assert "has blocked you" in body["message"]
    body = await error_of(await write(node, cyd, "bea"), 403, "forbidden")
    assert "has blocked you" in body["message"]
    body = await error_of(await write(node, bea, "cyd"), 403, "forbidden")
    assert "you have blocked" in body["message"]
    other = await publish_listing(node, bea, "Sofa")
    body = await error_of(await respond(node, cyd, other), 403, "forbidden")
    assert "has blocked you" in body["message"]
    # bea no longer sees cyd's listings; others still do.
    assert await titles(node, bea) == ["Cordless drill", "Sofa"]
    assert await titles(node, people["ada"]) == ["Cordless drill", "Ladder", "Sofa"]

    # Asking again changes nothing: 200 with the same block.
    again = await block(node, bea, "@cyd", status=200)
    assert again == blocked
    listed = await (await node.get(BLOCKS, headers=bearer(bea))).json()
    assert listed == [blocked]
    assert await (await node.get(BLOCKS, headers=bearer(cyd))).json() == []

    # Unblocked (by whom it is of): cyd may follow again; the ended follows stay ended.
    resp = await node.delete(f"{BLOCKS}/cyd", headers=bearer(bea))
    assert resp.status == 204
    assert await (await node.get(BLOCKS, headers=bearer(bea))).json() == []
    resp = await node.post("/api/quartier/v1/follows", json={"target": "bea"}, headers=bearer(cyd))
    assert resp.status == 201, await resp.text()
    assert await titles(node, bea) == ["Cordless drill", "Ladder", "Sofa"]


async def test_a_block_of_another_servers_actor_goes_there_and_its_lifting_too(
    node, clock, people, remote
):
    alice = remote.add("alice")
    bea = people["bea"]
    # alice follows bea (accepted), and bea follows alice.
    assert (await deliver(node, clock, alice, follow(alice, 1, BEA))).status == 202
    await run_inbound(node)
    await accept_follow_of(node, bea)
    resp = await node.post(
        "/api/quartier/v1/follows", json={"target": alice.id}, headers=bearer(bea)
    )
    assert resp.status == 201, await resp.text()
    await deliver_all(node)
    remote.delivered.clear()

    blocked = await block(node, bea, alice.id)
    assert (blocked["account"], blocked["federated"]) == (alice.id, True)
    assert await follows(node) == []
    await deliver_all(node)
    sent = [activity for _, activity in remote.delivered]
    assert [a["type"] for a in sent] == ["Undo", "Reject", "Block"]
    undo, reject, block_sent = sent
    assert (undo["object"]["type"], undo["object"]["actor"]) == ("Follow", BEA)
    assert (reject["object"]["id"], reject["actor"]) == (f"{remote.base}/activities/1", BEA)
    assert block_sent["actor"] == BEA
    assert block_sent["object"] == alice.id
    assert block_sent["id"].startswith(f"{BEA}/blocks/")
    assert block_sent["@context"] == "https://www.w3.org/ns/activitystreams"
    # Every delivery went to alice's server's shared inbox.
    assert {path for path, _ in remote.delivered} == {"/inbox"}

    # alice's new Follow is refused at once, without asking bea.
    assert (await deliver(node, clock, alice, follow(alice, 2, BEA))).status == 202
    message = await run_inbound(node)
    assert message.state is InboundState.DONE, message.last_error
    assert await follows(node) == []
    remote.delivered.clear()
    await deliver_all(node)
    [(_, refusal)] = remote.delivered
    assert refusal["type"] == "Reject"
    assert refusal["object"]["id"] == f"{remote.base}/activities/2"

    # Lifting it (named by its URL, encoded) sends the Undo of that very Block.
    remote.delivered.clear()
    resp = await node.delete(f"{BLOCKS}/{quote(alice.id, safe='')}", headers=bearer(bea))
    assert resp.status == 204, await resp.text()
    await deliver_all(node)
    [(_, lifted)] = remote.delivered
    assert (lifted["type"], lifted["actor"]) == ("Undo", BEA)
    assert lifted["object"] == {k: block_sent[k] for k in ("id", "type", "actor", "object")}


def direct_note(actor: RemoteActor, n: int, to: str, in_reply_to: str | None = None) -> dict:
    note = {
        "id": f"{actor.base}/notes/{n}",
        "type": "Note",
        "attributedTo": actor.id,
        "to": [to],
        "content": "<p>Is it still there?</p>",
        **({"inReplyTo": in_reply_to} if in_reply_to else {}),
    }
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.id}/activities/create/{n}",
        "type": "Create",
        "actor": actor.id,
        "to": [to],
        "object": note,
    }


async def test_messages_and_responses_from_a_blocked_server_actor_are_dropped(
    node, clock, people, remote
):
    alice = remote.add("alice")
    drill = await publish_listing(node, people["bea"], audience="public")
    await block(node, people["bea"], alice.id)
    with activated(node.app[DATABASE]):
        listing_uri = (await Listing.get(id=drill)).ap_id
    # A direct message, and a reply to bea's listing: nothing kept, no error.
    for n, reply_to in ((1, None), (2, listing_uri)):
        resp = await deliver(node, clock, alice, direct_note(alice, n, BEA, reply_to))
        assert resp.status == 202
        message = await run_inbound(node)
        assert message.state is InboundState.IGNORED
        assert "every member it is addressed to blocks its author" in (message.last_error or "")
        if reply_to is not None:
            assert "the listing's author blocks its sender" in (message.last_error or "")
    with activated(node.app[DATABASE]):
        doc = node.app[LISTINGS].document(await Listing.get(id=drill), [])
    proposal = ProposalRef.of_listing(read_listing(doc))
    offer = offer_agreement(f"{alice.base}/offers/1", alice.id, proposal, message_html="Hi")
    assert (await deliver(node, clock, alice, offer)).status == 202
    message = await run_inbound(node)
    assert message.state is InboundState.IGNORED
    assert "the listing's author blocks its sender" in (message.last_error or "")
    with activated(node.app[DATABASE]):
        assert await Message.all().count() == 0
        assert await Response.all().count() == 0
    notes = await (
        await node.get("/api/quartier/v1/notifications", headers=bearer(people["bea"]))
    ).json()
    assert notes == []


async def test_a_mastodon_block_of_a_member_ends_follows_until_its_undo(
    node, clock, people, remote
):
    alice = remote.add("alice")
    bea = people["bea"]
    assert (await deliver(node, clock, alice, follow(alice, 1, BEA))).status == 202
    await run_inbound(node)
    await accept_follow_of(node, bea)
    resp = await node.post(
        "/api/quartier/v1/follows", json={"target": alice.id}, headers=bearer(bea)
    )
    assert resp.status == 201
    assert len(await follows(node)) == 2

    # Mastodon's shapes, from its serializers: the object a bare URI, the Undo embedding it.
    shaped = localised("mastodon/block.json", remote.base)
    shaped = _as(shaped, alice.id, BEA)
    assert shaped["object"] == BEA
    assert (await deliver(node, clock, alice, shaped)).status == 202
    message = await run_inbound(node)
    assert message.state is InboundState.DONE, message.last_error
    assert await follows(node) == []
    with activated(node.app[DATABASE]):
        [row] = await RemoteBlock.all()
    assert (row.actor, row.activity_id) == (alice.id, shaped["id"])
    # Blocked by alice, bea can no longer follow or write to her.
    resp = await node.post(
        "/api/quartier/v1/follows", json={"target": alice.id}, headers=bearer(bea)
    )
    assert "has blocked you" in (await error_of(resp, 403, "forbidden"))["message"]
    await error_of(await write(node, bea, alice.id), 403, "forbidden")

    undo = _as(localised("mastodon/undo_block.json", remote.base), alice.id, BEA)
    assert undo["object"]["id"] == shaped["id"]
    assert (await deliver(node, clock, alice, undo)).status == 202
    message = await run_inbound(node)
    assert message.state is InboundState.DONE, message.last_error
    with activated(node.app[DATABASE]):
        assert await RemoteBlock.all().count() == 0
    resp = await node.post(
        "/api/quartier/v1/follows", json={"target": alice.id}, headers=bearer(bea)
    )
    assert resp.status == 201, await resp.text()


def _as(activity: dict[str, Any], actor: str, member: str) -> dict[str, Any]:
    """The fixture sent by ``actor`` (its alice) about ``member`` (its bob)."""
    text = json.dumps(activity)
    text = text.replace(activity["actor"], actor).replace(f"{NODE}/users/bob", member)
    return json.loads(text)


async def test_other_legal_forms_of_block_and_undo_are_taken(node, clock, people, remote):
    alice, mallory = remote.add("alice"), remote.add("mallory")
    # The object embedded (an actor object), then the Undo naming the Block by id alone.
    embedded = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.id}/blocks/1",
        "type": "Block",
        "actor": alice.id,
        "object": {"id": BEA, "type": "Person"},
    }
    assert (await deliver(node, clock, alice, embedded)).status == 202
    assert (await run_inbound(node)).state is InboundState.DONE
    # The same block again under a new id stays one block, known by the new id.
    again = {**embedded, "id": f"{alice.id}/blocks/2"}
    assert (await deliver(node, clock, alice, again)).status == 202
    assert (await run_inbound(node)).state is InboundState.DONE
    with activated(node.app[DATABASE]):
        [row] = await RemoteBlock.all()
    assert row.activity_id == f"{alice.id}/blocks/2"
    # Someone else cannot lift alice's block; a Block of nobody here is ignored.
    forged = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{mallory.id}/undo/1",
        "type": "Undo",
        "actor": mallory.id,
        "object": f"{alice.id}/blocks/2",
    }
    assert (await deliver(node, clock, mallory, forged)).status == 202
    assert (await run_inbound(node)).state is InboundState.IGNORED
    nobody = {**embedded, "id": f"{alice.id}/blocks/3", "object": f"{NODE}/users/nobody"}
    assert (await deliver(node, clock, alice, nobody)).status == 202
    message = await run_inbound(node)
    assert message.state is InboundState.IGNORED
    assert "not of one of our members" in (message.last_error or "")
    by_id = {**forged, "id": f"{alice.id}/undo/1", "actor": alice.id}
    assert (await deliver(node, clock, alice, by_id)).status == 202
    assert (await run_inbound(node)).state is InboundState.DONE
    with activated(node.app[DATABASE]):
        assert await RemoteBlock.all().count() == 0


async def test_bad_block_requests_get_clear_errors(node, people, remote):
    bea = people["bea"]
    node.session.cookie_jar.clear()  # the logins left a session cookie in the test client
    for resp in (
        await node.get(BLOCKS),
        await node.post(BLOCKS, json={"account": "cyd"}),
        await node.delete(f"{BLOCKS}/1"),
    ):
        await error_of(resp, 401, "unauthorized")
    resp = await node.post(
        BLOCKS, data=b"{not json", headers=bearer(bea) | {"Content-Type": "application/json"}
    )
    await error_of(resp, 400, "invalid_json")
    for body in ({}, {"account": ""}, {"account": 3}, {"account": "cyd", "extra": 1}, ["cyd"]):
        resp = await node.post(BLOCKS, json=body, headers=bearer(bea))
        assert resp.status in (400, 422), (body, await resp.text())
        assert "error" in await resp.json()
    await error_of(
        await node.post(BLOCKS, json={"account": "x" * 3000}, headers=bearer(bea)),
        422,
        "validation_failed",
    )
    body = await error_of(
        await node.post(BLOCKS, json={"account": "bea"}, headers=bearer(bea)),
        422,
        "validation_failed",
    )
    assert body["message"] == "you cannot block yourself"
    await error_of(
        await node.post(BLOCKS, json={"account": "nobody"}, headers=bearer(bea)), 404, "not_found"
    )
    await error_of(
        await node.post(BLOCKS, json={"account": f"{NODE}/listings/1"}, headers=bearer(bea)),
        404,
        "not_found",
    )
    gone = f"{remote.base}/users/ghost"  # the remote server knows no such account
    await error_of(
        await node.post(BLOCKS, json={"account": gone}, headers=bearer(bea)), 404, "not_found"
    )
    await error_of(
        await node.post(BLOCKS, json={"account": "bad handle@"}, headers=bearer(bea)),
        400,
        "bad_request",
    )
    # Another member's block cannot be seen or lifted.
    theirs = await block(node, people["cyd"], "ada")
    await error_of(
        await node.delete(f"{BLOCKS}/{theirs['id']}", headers=bearer(bea)), 404, "not_found"
    )
    await error_of(await node.delete(f"{BLOCKS}/ada", headers=bearer(bea)), 404, "not_found")
    await error_of(
        await node.delete(f"{BLOCKS}/99999999999", headers=bearer(bea)), 404, "not_found"
    )
    assert len(await (await node.get(BLOCKS, headers=bearer(people["cyd"]))).json()) == 1


async def test_blocks_and_mutes_are_limited_per_member_and_hour(node, people, clock):
    for n in range(60):
        path = BLOCKS if n % 2 else "/api/quartier/v1/me/mutes"
        resp = await node.post(path, json={"account": "cyd"}, headers=bearer(people["bea"]))
        assert resp.status in (200, 201), await resp.text()
    resp = await node.post(BLOCKS, json={"account": "ada"}, headers=bearer(people["bea"]))
    await error_of(resp, 429, "too_many_requests")
    # Another member is not held back by bea's count.
    await block(node, people["cyd"], "ada")


async def test_a_block_of_an_account_on_a_blocked_server_is_kept_here_only(node, people, remote):
    alice = remote.add("alice")
    host = remote.base.removeprefix("http://")
    resp = await node.post(
        "/api/quartier/v1/admin/domain_blocks", json={"domain": host}, headers=bearer(people["ada"])
    )
    assert resp.status == 201, await resp.text()
    blocked = await block(node, people["bea"], alice.id)
    assert (blocked["account"], blocked["federated"]) == (alice.id, False)
    assert remote.fetches == 0  # nothing asked of that server
    await deliver_all(node)
    assert remote.delivered == []
    resp = await node.delete(f"{BLOCKS}/{blocked['id']}", headers=bearer(people["bea"]))
    assert resp.status == 204
    await deliver_all(node)
    assert remote.delivered == []
