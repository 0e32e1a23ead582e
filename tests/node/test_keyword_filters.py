"""The community's keyword filters over real HTTP: who manages them, what ``hide`` and
``hold`` do to listings and messages written here or sent by another server, the held queue
moderators release or reject, and the audit entries each step leaves."""

from __future__ import annotations

import pytest

from activitypub.listings import offer_agreement
from federation.models import Delivery
from moderation.models import AuditEntry
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer, error_of
from tests.node.test_inbox import NODE, deliver, note_activity, worker_round
from tests.node.test_listings_inbound import created, make_partner, proposal_of

pytestmark = pytest.mark.local_testing

FILTERS = "/api/quartier/v1/moderation/filters"
HELD = "/api/quartier/v1/moderation/held"
LISTINGS = "/api/quartier/v1/listings"
DRILL = {"kind": "give", "title": "Cordless drill", "category": "tools"}


async def add_filter(node, token: str, phrase: str, action: str) -> dict:
    resp = await node.post(
        FILTERS, json={"phrase": phrase, "action": action}, headers=bearer(token)
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def publish(node, token: str, **changes) -> dict:
    resp = await node.post(LISTINGS, json={**DRILL, **changes}, headers=bearer(token))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def titles(node, token: str) -> list[str]:
    found = await (await node.get(LISTINGS, headers=bearer(token))).json()
    return [listing["title"] for listing in found["listings"]]


async def audit_actions(node) -> list[str]:
    with activated(node.app[DATABASE]):
        return [e.action for e in await AuditEntry.all().order_by("id")]


async def deliveries(node) -> int:
    with activated(node.app[DATABASE]):
        return await Delivery.all().count()


async def test_moderators_manage_filters_and_every_change_is_audited(node, mods):
    made = await add_filter(node, mods["dan"], "  Crypto   Investment ", "hold")
    assert (made["phrase"], made["action"], made["created_by"]) == (
        "Crypto Investment",
        "hold",
        "dan",
    )
    await add_filter(node, mods["ada"], "casino", "hide")  # admins too
    listed = await (await node.get(FILTERS, headers=bearer(mods["dan"]))).json()
    assert [(f["phrase"], f["action"]) for f in listed] == [
        ("Crypto Investment", "hold"),
        ("casino", "hide"),
    ]
    resp = await node.delete(f"{FILTERS}/{made['id']}", headers=bearer(mods["dan"]))
    assert resp.status == 204
    await error_of(
        await node.delete(f"{FILTERS}/{made['id']}", headers=bearer(mods["dan"])),
        404,
        "not_found",
    )
    assert await audit_actions(node) == ["filter.added", "filter.added", "filter.removed"]


async def test_residents_cannot_see_or_change_filters(node, mods):
    made = await add_filter(node, mods["dan"], "casino", "hide")
    for resp in (
        await node.get(FILTERS, headers=bearer(mods["bea"])),
        await node.post(
            FILTERS, json={"phrase": "x", "action": "hide"}, headers=bearer(mods["bea"])
        ),
        await node.delete(f"{FILTERS}/{made['id']}", headers=bearer(mods["bea"])),
        await node.get(HELD, headers=bearer(mods["bea"])),
        await node.post(f"{HELD}/1/release", json={}, headers=bearer(mods["bea"])),
    ):
        await error_of(resp, 403, "forbidden")


@pytest.mark.parametrize(
    "body",
    [
        {"phrase": "", "action": "hide"},
        {"phrase": "   ", "action": "hide"},
        {"phrase": "x" * 201, "action": "hide"},
        {"phrase": "spam", "action": "delete"},
        {"phrase": "spam"},
        {"phrase": 3, "action": "hide"},
        {"phrase": "spam", "action": "hide", "extra": 1},
        ["spam"],
    ],
)
async def test_malformed_filters_are_refused_with_422(node, mods, body):
    resp = await node.post(FILTERS, json=body, headers=bearer(mods["dan"]))
    assert resp.status in (400, 422), await resp.text()
    assert "error" in await resp.json()


async def test_a_phrase_is_filtered_once_whatever_its_case(node, mods):
    await add_filter(node, mods["dan"], "Casino", "hide")
    resp = await node.post(
        FILTERS, json={"phrase": "casino", "action": "hold"}, headers=bearer(mods["dan"])
    )
    body = await error_of(resp, 422, "validation_failed")
    assert "already" in body["details"][0]["message"]


async def test_a_hidden_listing_is_seen_by_its_author_only_and_marked(node, mods):
    await add_filter(node, mods["dan"], "casino", "hide")
    hidden = await publish(node, mods["bea"], title="Online CASINO bonus")
    await publish(node, mods["bea"], title="Casinos of the world, a book")  # not the word
    assert hidden["filtered"] == "hidden"
    assert await titles(node, mods["cyd"]) == ["Casinos of the world, a book"]
    await error_of(
        await node.get(f"{LISTINGS}/{hidden['id']}", headers=bearer(mods["cyd"])), 404, "not_found"
    )
    mine = await (await node.get(f"{LISTINGS}/mine", headers=bearer(mods["bea"]))).json()
    assert [(m["title"], m["filtered"]) for m in mine] == [
        ("Casinos of the world, a book", None),
        ("Online CASINO bonus", "hidden"),
    ]
    # Not waiting for anyone: listed as hidden, not in the held queue.
    assert await (await node.get(HELD, headers=bearer(mods["dan"]))).json() == []
    [row] = await (await node.get(f"{HELD}?state=hidden", headers=bearer(mods["dan"]))).json()
    assert (row["kind"], row["reason"], row["local"]) == ("listing", "filter: casino", True)


async def test_a_held_public_listing_waits_then_is_published_when_released(node, mods):
    await add_filter(node, mods["dan"], "crypto investment", "hold")
    held = await publish(
        node, mods["bea"], title="Help", description="A great crypto\ninvestment", audience="public"
    )
    assert held["filtered"] == "held"
    path = held["url"].removeprefix(NODE)
    accept = {"Accept": "application/activity+json"}
    assert (await node.get(path, headers=accept)).status == 404  # not published anywhere
    assert await titles(node, mods["cyd"]) == []
    [row] = await (await node.get(HELD, headers=bearer(mods["dan"]))).json()
    assert (row["target"], row["reason"], row["author"]) == (
        held["url"],
        "filter: crypto investment",
        f"{NODE}/users/bea",
    )
    resp = await node.post(
        f"{HELD}/{row['id']}/release", json={"reason": "a real offer"}, headers=bearer(mods["dan"])
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["state"] == "released"
    assert await titles(node, mods["cyd"]) == ["Help"]
    assert (await node.get(path, headers=accept)).status == 200
    # Decided once.
    await error_of(
        await node.post(f"{HELD}/{row['id']}/reject", json={}, headers=bearer(mods["ada"])),
        404,
        "not_found",
    )
    assert (await audit_actions(node))[-2:] == ["content.held", "content.released"]


async def test_a_rejected_listing_is_withdrawn(node, mods):
    await add_filter(node, mods["dan"], "casino", "hold")
    held = await publish(node, mods["bea"], title="casino night")
    [row] = await (await node.get(HELD, headers=bearer(mods["dan"]))).json()
    resp = await node.post(f"{HELD}/{row['id']}/reject", json={}, headers=bearer(mods["dan"]))
    assert resp.status == 200, await resp.text()
    mine = await (await node.get(f"{LISTINGS}/{held['id']}", headers=bearer(mods["bea"]))).json()
    assert (mine["status"], mine["filtered"]) == ("withdrawn", "rejected")
    assert (await audit_actions(node))[-1] == "content.rejected"


async def test_an_edit_that_matches_a_filter_is_held_too(node, mods):
    await add_filter(node, mods["dan"], "casino", "hold")
    listing = await publish(node, mods["bea"], title="Drill")
    resp = await node.patch(
        f"{LISTINGS}/{listing['id']}",
        json={"description": "or CASINO chips"},
        headers=bearer(mods["bea"]),
    )
    assert (await resp.json())["filtered"] == "held"
    assert await titles(node, mods["cyd"]) == []


async def test_held_and_malformed_decisions(node, mods):
    for path in (f"{HELD}/999/release", f"{HELD}/999/reject"):
        await error_of(
            await node.post(path, json={}, headers=bearer(mods["dan"])), 404, "not_found"
        )
    await error_of(
        await node.get(f"{HELD}?state=lost", headers=bearer(mods["dan"])), 422, "validation_failed"
    )
    resp = await node.post(f"{HELD}/1/release", json={"reason": 5}, headers=bearer(mods["dan"]))
    assert resp.status in (400, 422)


async def test_a_held_message_to_another_server_is_sent_when_released(node, mods, remote):
    alice = remote.add("alice")
    await add_filter(node, mods["dan"], "wire me", "hold")
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": [alice.id], "text": "Please WIRE ME the money"},
        headers=bearer(mods["bea"]),
    )
    assert resp.status == 201, await resp.text()
    conversation = (await resp.json())["id"]
    assert await deliveries(node) == 0  # held: sent nowhere
    [mine] = await (
        await node.get(
            f"/api/quartier/v1/conversations/{conversation}", headers=bearer(mods["bea"])
        )
    ).json()
    assert mine["text"] == "Please WIRE ME the money"  # its author still sees it
    [row] = await (await node.get(HELD, headers=bearer(mods["dan"]))).json()
    assert row["kind"] == "message"
    resp = await node.post(f"{HELD}/{row['id']}/release", json={}, headers=bearer(mods["dan"]))
    assert resp.status == 200, await resp.text()
    assert await deliveries(node) == 1


async def test_a_hidden_message_between_members_is_not_shown_to_the_other(node, mods):
    await add_filter(node, mods["dan"], "casino", "hide")
    resp = await node.post(
        "/api/quartier/v1/conversations",
        json={"to": ["cyd"], "text": "hi"},
        headers=bearer(mods["bea"]),
    )
    conversation = (await resp.json())["id"]
    resp = await node.post(
        f"/api/quartier/v1/conversations/{conversation}/messages",
        json={"text": "come to the casino"},
        headers=bearer(mods["bea"]),
    )
    assert resp.status == 201, await resp.text()
    url = f"/api/quartier/v1/conversations/{conversation}"
    theirs = await (await node.get(url, headers=bearer(mods["cyd"]))).json()
    mine = await (await node.get(url, headers=bearer(mods["bea"]))).json()
    assert [m["text"] for m in theirs] == ["hi"]
    assert [m["text"] for m in mine] == ["hi", "come to the casino"]
    [summary] = await (
        await node.get("/api/quartier/v1/conversations", headers=bearer(mods["cyd"]))
    ).json()
    assert summary["last_message"]["text"] == "hi"


async def test_a_message_from_another_server_is_held_until_released(node, clock, mods, remote):
    alice = remote.add("alice")
    await add_filter(node, mods["dan"], "wire me", "hold")
    bea = f"{NODE}/users/bea"
    activity = note_activity(alice, "Create", 1, "<p>Wire <b>me</b> 500 euros</p>", [bea])
    assert (await deliver(node, clock, alice, activity)).status == 202
    await worker_round(node)
    [conv] = await (
        await node.get("/api/quartier/v1/conversations", headers=bearer(mods["bea"]))
    ).json()
    assert conv["last_message"] is None
    [row] = await (await node.get(HELD, headers=bearer(mods["dan"]))).json()
    assert (row["kind"], row["local"], row["author"]) == ("message", False, alice.id)
    await node.post(f"{HELD}/{row['id']}/release", json={}, headers=bearer(mods["dan"]))
    [message] = await (
        await node.get(f"/api/quartier/v1/conversations/{conv['id']}", headers=bearer(mods["bea"]))
    ).json()
    assert message["text"] == "Wire me 500 euros"


async def test_a_listing_from_another_server_is_hidden_by_a_filter(node, clock, mods, remote):
    alice = remote.add("alice")
    await make_partner(node, remote)
    await add_filter(node, mods["dan"], "garden chairs", "hide")
    assert (await deliver(node, clock, alice, created(alice, 1, public=False))).status == 202
    await worker_round(node)
    assert await titles(node, mods["bea"]) == []
    [row] = await (await node.get(f"{HELD}?state=hidden", headers=bearer(mods["dan"]))).json()
    assert (row["kind"], row["local"], row["target"]) == (
        "listing",
        False,
        f"{remote.base}/listings/1",
    )


async def notified(node, token: str) -> list[str]:
    found = await (await node.get("/api/quartier/v1/notifications", headers=bearer(token))).json()
    return [n["type"] for n in found]


async def test_a_held_response_reaches_the_author_only_when_released(node, mods):
    await add_filter(node, mods["dan"], "wire me", "hold")
    listing = await publish(node, mods["cyd"], title="Chairs")
    url = f"{LISTINGS}/{listing['id']}/responses"
    resp = await node.post(url, json={"message": "Wire me a deposit"}, headers=bearer(mods["bea"]))
    assert resp.status == 201, await resp.text()
    response = await resp.json()
    assert await (await node.get(url, headers=bearer(mods["cyd"]))).json() == []
    assert "listing.response" not in await notified(node, mods["cyd"])
    await error_of(
        await node.post(
            f"/api/quartier/v1/listings/responses/{response['id']}/accept",
            json={},
            headers=bearer(mods["cyd"]),
        ),
        404,
        "not_found",
    )
    mine = await (await node.get(url, headers=bearer(mods["bea"]))).json()
    assert [r["message"] for r in mine] == ["Wire me a deposit"]  # the responder sees it
    [row] = await (await node.get(HELD, headers=bearer(mods["dan"]))).json()
    assert row["kind"] == "response"
    resp = await node.post(f"{HELD}/{row['id']}/release", json={}, headers=bearer(mods["dan"]))
    assert resp.status == 200, await resp.text()
    assert [r["id"] for r in await (await node.get(url, headers=bearer(mods["cyd"]))).json()] == [
        response["id"]
    ]
    assert "listing.response" in await notified(node, mods["cyd"])


async def test_an_offer_from_another_server_is_held_by_a_filter(node, clock, mods, remote):
    alice = remote.add("alice")
    await make_partner(node, remote)
    await add_filter(node, mods["dan"], "wire me", "hold")
    listing = await publish(node, mods["cyd"], title="Sofa", audience="partners")
    proposal = await proposal_of(node, listing["url"])
    offer = offer_agreement(
        f"{alice.base}/offers/1", alice.id, proposal, message_html="<p>Wire me first</p>"
    )
    assert (await deliver(node, clock, alice, offer)).status == 202
    await worker_round(node)
    url = f"{LISTINGS}/{listing['id']}/responses"
    assert await (await node.get(url, headers=bearer(mods["cyd"]))).json() == []
    [row] = await (await node.get(HELD, headers=bearer(mods["dan"]))).json()
    assert (row["kind"], row["local"], row["author"]) == ("response", False, alice.id)
    resp = await node.post(f"{HELD}/{row['id']}/reject", json={}, headers=bearer(mods["dan"]))
    assert resp.status == 200, await resp.text()
    assert await (await node.get(url, headers=bearer(mods["cyd"]))).json() == []


async def test_a_hidden_listing_may_be_released_and_an_edit_received_is_screened(
    node, clock, mods, remote
):
    await add_filter(node, mods["dan"], "casino", "hide")
    hidden = await publish(node, mods["bea"], title="Casino royale DVD")
    [row] = await (await node.get(f"{HELD}?state=hidden", headers=bearer(mods["dan"]))).json()
    resp = await node.post(f"{HELD}/{row['id']}/release", json={}, headers=bearer(mods["dan"]))
    assert resp.status == 200, await resp.text()
    assert await titles(node, mods["cyd"]) == [hidden["title"]]
    # Another server's message, clean at first, then edited into what the filter hides.
    alice = remote.add("alice")
    bea = f"{NODE}/users/bea"
    for kind, text in (("Create", "Hello"), ("Update", "See you at the casino")):
        activity = note_activity(alice, kind, 1, text, [bea])
        assert (await deliver(node, clock, alice, activity)).status == 202
        await worker_round(node)
    [conv] = await (
        await node.get("/api/quartier/v1/conversations", headers=bearer(mods["bea"]))
    ).json()
    assert conv["last_message"] is None
