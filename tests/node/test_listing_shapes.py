"""Listings in the shapes other software sends (tests/data/payloads/listings: the FEP-0837
text's examples, Mitra, Epicyon, Flohmarkt), delivered by a partner node's member to a real
node: each is stored as a listing its members can read, or ignored with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from federation.models import InboundMessage
from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER
from node.listings.models import Listing, Response
from tests.api import admin_token, bearer, member_token
from tests.node.test_inbox import deliver, worker_round
from tests.node.test_listings_inbound import make_partner

pytestmark = pytest.mark.local_testing

PAYLOADS = Path(__file__).parent.parent / "data" / "payloads" / "listings"
HOSTS = (
    "https://market.example",
    "https://epicyon.example",
    "https://floh.example",
    "https://mitra.example",
)
# fixture -> (kind, title) as a member of ours reads it; None: not a listing we can show
EXPECTED: dict[str, tuple[str, str] | None] = {
    "fep-0837/proposal_full.json": ("sell", "Offering used bike"),
    "fep-0837/proposal_2023.json": ("sell", "Offering used bike"),
    "fep-0837/proposal_minimal.json": None,  # no name and no content: nothing to show
    "mitra/proposal.json": ("service", "Pay for subscription"),
    "epicyon/proposal_shared_item.json": ("sell", "Garden trowel"),
    "epicyon/proposal_free_item.json": ("give", "Tomato seedlings"),
    "epicyon/proposal_wanted_item.json": ("request", "Ladder"),
    "flohmarkt/create_item.json": ("sell", "Kinderfahrrad 20 Zoll"),
    "flohmarkt/item_giveaway.json": ("give", "Umzugskartons"),
    "flohmarkt/item_negotiable.json": ("sell", "Werkbank"),
}


def load(name: str, base: str) -> dict[str, Any]:
    text = (PAYLOADS / name).read_text()
    for host in HOSTS:
        text = text.replace(host, base)
    return json.loads(text)


def as_create(doc: dict[str, Any]) -> dict[str, Any]:
    if doc.get("type") == "Create":
        return doc
    return {
        "@context": doc.get("@context", "https://www.w3.org/ns/activitystreams"),
        "id": f"{doc['id']}#create",
        "type": "Create",
        "actor": doc["attributedTo"],
        "object": {k: v for k, v in doc.items() if k != "@context"},
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_each_shape_is_stored_as_a_listing_or_ignored_with_its_reason(
    node, clock, remote, name
):
    ada = await admin_token(node, "ada")
    bea = await member_token(node, ada, "bea")
    await make_partner(node, remote)
    activity = as_create(load(name, remote.base))
    author = activity["object"]["attributedTo"]
    sender = remote.add(author.rsplit("/", 1)[-1])
    assert sender.id == author
    assert (await deliver(node, clock, sender, activity)).status == 202
    await worker_round(node)
    with activated(node.app[DATABASE]):
        stored = await Listing.filter(local=False)
        row = await InboundMessage.get(activity_id=activity["id"])
    expected = EXPECTED[name]
    if expected is None:
        assert stored == []
        assert row.state.value == "ignored"
        assert "the listing cannot be read" in row.last_error
        return
    [listing] = stored
    seen = await (
        await node.get(f"/api/quartier/v1/listings/{listing.id}", headers=bearer(bea))
    ).json()
    assert (seen["kind"], seen["title"]) == expected, row.last_error
    assert seen["author"] == author
    assert seen["local"] is False
    assert "<script" not in seen["description_html"]


async def partner_listing(node, clock, remote, sender, fixture: str) -> tuple[str, Listing]:
    """A member's token (bea's) and the copy of ``fixture``'s listing, sent by ``sender`` of
    a partner server."""
    ada = await admin_token(node, "ada")
    bea = await member_token(node, ada, "bea")
    await make_partner(node, remote)
    await deliver(node, clock, sender, as_create(load(fixture, remote.base)))
    await worker_round(node)
    with activated(node.app[DATABASE]):
        [listing] = await Listing.filter(local=False)
    return bea, listing


async def test_answering_a_listing_that_speaks_no_fep_0837_sends_a_direct_reply(
    node, clock, remote
):
    frieda = remote.add("frieda")
    bea, listing = await partner_listing(node, clock, remote, frieda, "flohmarkt/create_item.json")
    resp = await node.post(
        f"/api/quartier/v1/listings/{listing.id}/responses",
        json={"message": "Is it still available?"},
        headers=bearer(bea),
    )
    assert resp.status == 201, await resp.text()
    response = await resp.json()
    assert response["state"] == "pending"
    assert response["conversation_id"] is not None
    with activated(node.app[DATABASE]):
        await node.app[DELIVERY_WORKER].run_once()
    [(_, create)] = [(p, b) for p, b in remote.delivered if b["type"] == "Create"]
    note = create["object"]
    assert note["inReplyTo"] == listing.ap_id
    assert note["to"] == [frieda.id]
    assert [t["href"] for t in note["tag"] if t["type"] == "Mention"] == [frieda.id]
    assert "Is it still available?" in note["content"]


async def test_answering_a_fep_0837_listing_sends_an_offer_and_its_accept_comes_back(
    node, clock, remote
):
    erin = remote.add("erin")
    bea, listing = await partner_listing(
        node, clock, remote, erin, "epicyon/proposal_shared_item.json"
    )
    resp = await node.post(
        f"/api/quartier/v1/listings/{listing.id}/responses", json={}, headers=bearer(bea)
    )
    assert resp.status == 201, await resp.text()
    with activated(node.app[DATABASE]):
        await node.app[DELIVERY_WORKER].run_once()
    [offer] = [b for _, b in remote.delivered if b["type"] == "Offer"]
    assert offer["inReplyTo"] == listing.ap_id
    assert offer["object"]["type"] == "Agreement"
    accept = accept_of(erin, offer, f"{erin.id}/agreements/1")
    await deliver(node, clock, erin, accept)
    await worker_round(node)
    with activated(node.app[DATABASE]):
        row = await InboundMessage.get(activity_id=accept["id"])
    assert row.state.value == "done", row.last_error
    [mine] = await (
        await node.get("/api/quartier/v1/listings/agreements", headers=bearer(bea))
    ).json()
    assert (mine["state"], mine["agreement"]) == ("accepted", f"{erin.id}/agreements/1")
    remote.delivered.clear()

    # bea marks it done: erin's server gets the Update of the Agreement, done, with thanks
    await done_and_delivered(node, bea, mine["id"], "Thank you, Erin!")
    [update] = [b for _, b in remote.delivered if b["type"] == "Update"]
    assert update["actor"].endswith("/users/bea")
    assert update["to"] == [erin.id]
    assert update["object"] == {
        "id": f"{erin.id}/agreements/1",
        "type": "Agreement",
        "agreementStatus": "done",
        "thanks": "Thank you, Erin!",
    }


def completion(sender, agreement: str, n: int, status: str = "done") -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{sender.id}/updates/{n}",
        "type": "Update",
        "actor": sender.id,
        "object": {
            "id": agreement,
            "type": "Agreement",
            "agreementStatus": status,
            "thanks": "Cheers",
        },
    }


async def test_an_agreement_marked_done_elsewhere_is_done_here_only_from_a_party(
    node, clock, remote
):
    erin, mallory = remote.add("erin"), remote.add("mallory")
    bea, listing = await partner_listing(
        node, clock, remote, erin, "epicyon/proposal_shared_item.json"
    )
    resp = await node.post(
        f"/api/quartier/v1/listings/{listing.id}/responses", json={}, headers=bearer(bea)
    )
    assert resp.status == 201, await resp.text()
    with activated(node.app[DATABASE]):
        await node.app[DELIVERY_WORKER].run_once()
    [offer] = [b for _, b in remote.delivered if b["type"] == "Offer"]
    agreement = f"{erin.id}/agreements/1"
    # before any Accept: there is no agreement to be done
    await deliver(node, clock, erin, completion(erin, agreement, 1))
    await worker_round(node)
    assert "no agreement of the sender here has that id" in (
        await reasons_of(node, f"{erin.id}/updates/1")
    )
    accept = accept_of(erin, offer, agreement)
    await deliver(node, clock, erin, accept)
    await worker_round(node)
    # someone else of the same server; a status that is not done; then erin herself
    await deliver(node, clock, mallory, completion(mallory, agreement, 2))
    await deliver(node, clock, erin, completion(erin, agreement, 3, status="maybe"))
    await worker_round(node)
    assert "no agreement of the sender here has that id" in (
        await reasons_of(node, f"{mallory.id}/updates/2")
    )
    assert any(
        "not an agreement marked done" in reason
        for reason in await reasons_of(node, f"{erin.id}/updates/3")
    )
    [mine] = await (
        await node.get("/api/quartier/v1/listings/agreements", headers=bearer(bea))
    ).json()
    assert mine["state"] == "accepted"
    await deliver(node, clock, erin, completion(erin, agreement, 4))
    await worker_round(node)
    [mine] = await (
        await node.get("/api/quartier/v1/listings/agreements", headers=bearer(bea))
    ).json()
    assert (mine["state"], mine["thanks_from_author"]) == ("done", "Cheers")
    notes = await (await node.get("/api/quartier/v1/notifications", headers=bearer(bea))).json()
    assert notes[0]["type"] == "listing.agreement"
    assert notes[0]["actor"] == erin.id


async def test_a_direct_reply_agreement_is_marked_done_by_message_alone(node, clock, remote):
    frieda = remote.add("frieda")
    bea, listing = await partner_listing(node, clock, remote, frieda, "flohmarkt/create_item.json")
    resp = await node.post(
        f"/api/quartier/v1/listings/{listing.id}/responses", json={}, headers=bearer(bea)
    )
    response = await resp.json()
    with activated(node.app[DATABASE]):
        # Flohmarkt has no Accept: its user agrees in the conversation; the agreement here
        # stands for that (as the author's Accept would have recorded it)
        await Response.filter(id=response["id"]).update(
            state="accepted", agreement_id=f"{frieda.id}/deal"
        )
        await node.app[DELIVERY_WORKER].run_once()
    remote.delivered.clear()
    await done_and_delivered(node, bea, response["id"], "Danke!")
    assert [b["type"] for _, b in remote.delivered] == ["Create"]
    [(_, create)] = remote.delivered
    assert create["object"]["to"] == [frieda.id]
    assert "Danke!" in create["object"]["content"]


async def done_and_delivered(node, token: str, response_id: int, thanks: str) -> None:
    """Mark an agreement done with a thank-you, and send what that queues."""
    resp = await node.post(
        f"/api/quartier/v1/listings/responses/{response_id}/done",
        json={"thanks": thanks},
        headers=bearer(token),
    )
    assert resp.status == 200, await resp.text()
    with activated(node.app[DATABASE]):
        await node.app[DELIVERY_WORKER].run_once()


def accept_of(author, offer: dict[str, Any], agreement: str) -> dict[str, Any]:
    """``author``'s FEP-0837 Accept of ``offer``: the finalized Agreement is the offered one,
    with an id and its author."""
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{author.id}/accepts/1",
        "type": "Accept",
        "actor": author.id,
        "object": offer["id"],
        "result": {**offer["object"], "id": agreement, "attributedTo": author.id},
    }


async def reasons_of(node, activity_id: str) -> list[str]:
    with activated(node.app[DATABASE]):
        row = await InboundMessage.get(activity_id=activity_id)
    assert row.state.value == "ignored", row.last_error
    return row.last_error.split("; ")


async def test_the_same_news_of_an_agreement_done_notifies_once(node, clock, remote):
    erin = remote.add("erin")
    bea, agreement = await agreed(node, clock, remote, erin)
    await deliver(node, clock, erin, completion(erin, agreement, 1))
    await worker_round(node)
    await deliver(node, clock, erin, {**completion(erin, agreement, 1), "id": f"{erin.id}/u/2"})
    await worker_round(node)
    assert "the agreement is done already" in await reasons_of(node, f"{erin.id}/u/2")
    notes = await (await node.get("/api/quartier/v1/notifications", headers=bearer(bea))).json()
    assert [n["type"] for n in notes] == ["listing.agreement", "listing.agreement"]


async def agreed(node, clock, remote, erin) -> tuple[str, str]:
    """bea answers erin's FEP-0837 listing and erin accepts: bea's token, the agreement id."""
    bea, listing = await partner_listing(
        node, clock, remote, erin, "epicyon/proposal_shared_item.json"
    )
    resp = await node.post(
        f"/api/quartier/v1/listings/{listing.id}/responses", json={}, headers=bearer(bea)
    )
    assert resp.status == 201, await resp.text()
    with activated(node.app[DATABASE]):
        await node.app[DELIVERY_WORKER].run_once()
    [offer] = [b for _, b in remote.delivered if b["type"] == "Offer"]
    agreement = f"{erin.id}/agreements/1"
    accept = accept_of(erin, offer, agreement)
    await deliver(node, clock, erin, accept)
    await worker_round(node)
    return bea, agreement
