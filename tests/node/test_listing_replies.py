"""A direct message answering one of our listings, as a Mastodon or GoToSocial user sends it:
a message in the conversation with the author and a response the author may accept, within
the listing's audience."""

from __future__ import annotations

from typing import Any

import pytest

from node.db import activated
from node.http.keys import DATABASE
from node.listings.models import Listing
from tests.api import admin_token, bearer, member_token
from tests.node.test_inbox import NODE, deliver, worker_round

pytestmark = pytest.mark.local_testing

BEA = f"{NODE}/users/bea"
AP = {"Accept": "application/activity+json"}
DRILL = {
    "kind": "lend",
    "title": "Cordless drill",
    "category": "tools",
    "details": {"duration_days": 7},
}


@pytest.fixture
async def bea(node) -> str:
    ada = await admin_token(node, "ada")
    return await member_token(node, ada, "bea")


async def listing_of(node, token: str, audience: str) -> dict[str, Any]:
    resp = await node.post(
        "/api/quartier/v1/listings", json={**DRILL, "audience": audience}, headers=bearer(token)
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


def reply(actor, n: int, listing_url: str, to: list[str], text: str = "Is it free Saturday?"):
    note = {
        "id": f"{actor.base}/notes/{n}",
        "type": "Note",
        "attributedTo": actor.id,
        "to": to,
        "inReplyTo": listing_url,
        # Mastodon gives every reply in the listing's thread the same context.
        "context": f"{actor.base}/contexts/listing-thread",
        # Mastodon's mention markup
        "content": (
            f'<p><span class="h-card" translate="no"><a href="{BEA}" class="u-url mention">'
            f"@<span>bea</span></a></span> {text}</p>"
        ),
        "tag": [{"type": "Mention", "href": BEA, "name": "@bea@127.0.0.1:8080"}],
    }
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.base}/activities/{n}",
        "type": "Create",
        "actor": actor.id,
        "to": to,
        "object": note,
    }


async def responses(node, token: str, listing_id: int) -> list[dict[str, Any]]:
    resp = await node.get(
        f"/api/quartier/v1/listings/{listing_id}/responses", headers=bearer(token)
    )
    assert resp.status == 200
    return await resp.json()


async def test_a_direct_reply_to_a_public_listing_is_a_response_and_a_message(
    node, clock, remote, bea
):
    alice = remote.add("alice")
    listing = await listing_of(node, bea, "public")
    activity = reply(alice, 1, listing["url"], [BEA])
    assert (await deliver(node, clock, alice, activity)).status == 202
    await worker_round(node)
    [response] = await responses(node, bea, listing["id"])
    assert response["responder"] == alice.id
    assert response["state"] == "pending"
    assert response["message"] == "Is it free Saturday?"  # the leading mention is not the text
    [conversation] = await (
        await node.get("/api/quartier/v1/conversations", headers=bearer(bea))
    ).json()
    assert response["conversation_id"] == conversation["id"]
    notes = await (await node.get("/api/quartier/v1/notifications", headers=bearer(bea))).json()
    assert [(n["type"], n["actor"]) for n in notes] == [("listing.response", alice.id)]

    # Delivered again (a retry), it stays one response; a second note is a message only.
    assert (await deliver(node, clock, alice, activity)).status == 202
    again = reply(alice, 2, listing["url"], [BEA], "Or Sunday?")
    assert (await deliver(node, clock, alice, again)).status == 202
    await worker_round(node)
    assert len(await responses(node, bea, listing["id"])) == 1

    # Accepting continues that conversation.
    resp = await node.post(
        f"/api/quartier/v1/listings/responses/{response['id']}/accept", headers=bearer(bea)
    )
    assert (await resp.json())["conversation_id"] == conversation["id"]
    messages = await (
        await node.get(f"/api/quartier/v1/conversations/{conversation['id']}", headers=bearer(bea))
    ).json()
    assert [m["author"] for m in messages] == [alice.id, alice.id, BEA]


@pytest.mark.parametrize("audience", ["node", "partners"])
async def test_a_stranger_cannot_answer_a_listing_not_meant_for_them(
    node, clock, remote, bea, audience
):
    alice = remote.add("alice")
    listing = await listing_of(node, bea, audience)
    assert (await deliver(node, clock, alice, reply(alice, 1, listing["url"], [BEA]))).status == 202
    await worker_round(node)
    assert await responses(node, bea, listing["id"]) == []


async def test_a_reply_not_addressed_to_the_author_or_to_a_closed_listing_is_no_response(
    node, clock, remote, bea
):
    alice, mallory = remote.add("alice"), remote.add("mallory")
    listing = await listing_of(node, bea, "public")
    # Addressed to someone else only.
    elsewhere = reply(alice, 1, listing["url"], [f"{alice.base}/users/someone"])
    assert (await deliver(node, clock, alice, elsewhere)).status == 202
    # Sent by mallory in alice's name.
    forged = reply(alice, 2, listing["url"], [BEA])
    forged["actor"] = mallory.id
    assert (await deliver(node, clock, mallory, forged)).status == 202
    await worker_round(node)
    assert await responses(node, bea, listing["id"]) == []
    with activated(node.app[DATABASE]):
        await Listing.filter(id=listing["id"]).update(status="done")
    assert (await deliver(node, clock, alice, reply(alice, 3, listing["url"], [BEA]))).status == 202
    await worker_round(node)
    assert await responses(node, bea, listing["id"]) == []


async def test_a_listing_for_verified_neighbours_hears_no_answer_from_an_unverified_stranger(
    node, clock, remote, bea
):
    """alice's server publishes no residency credential: her reply stays a message, not a
    response the author would have to turn down; bea's listing says why to whoever reads it."""
    alice = remote.add("alice")
    resp = await node.post(
        "/api/quartier/v1/listings",
        json={**DRILL, "audience": "public", "verified_responders": True},
        headers=bearer(bea),
    )
    listing = await resp.json()
    activity = reply(alice, 1, listing["url"], [BEA])
    assert (await deliver(node, clock, alice, activity)).status == 202
    await worker_round(node)
    assert await responses(node, bea, listing["id"]) == []
    [conversation] = await (
        await node.get("/api/quartier/v1/conversations", headers=bearer(bea))
    ).json()
    assert conversation["id"]  # her words still reach bea
    published = await node.get(listing["url"].removeprefix(NODE), headers=AP)
    assert (await published.json())["respondersVerified"] is True
