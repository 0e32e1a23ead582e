"""Listings across three real nodes: A and B partners, C not.

A partners-only lend with a photo published on A reaches B (whose members find it by search
and see the photo from B's own cache) and neither C nor an unsigned fetch; a member of B
answers it, A's author accepts, both see the agreement and the conversation it opened; each
marks it done with a thank-you the other reads; withdrawing it on A removes it from B. A
public listing reaches a plain ActivityPub actor that follows A's neighbourhood group, as a
Note anyone's software can show.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from activitypub.signatures import sign_request
from federation.models import Delivery
from node.db import activated
from node.http.keys import DATABASE
from node.listings.models import Listing
from node.media.models import Media
from tests.api import admin_token, bearer
from tests.integration.conftest import Peer, get, member, settle
from tests.node.media_support import jpeg, uploaded
from tests.node.test_inbox import RemoteActor

PARTNERSHIPS = "/api/quartier/v1/admin/partnerships"
AP = {"Accept": "application/activity+json"}
DRILL = {
    "kind": "lend",
    "title": "Cordless drill",
    "category": "tools",
    "description": "With two batteries.",
    "details": {"duration_days": 7},
}


async def partner(a: Peer, b: Peer) -> None:
    """A proposes, B accepts: an active partnership."""
    admin_a, admin_b = await admin_token(a.client, "manon"), await admin_token(b.client, "manon")
    resp = await a.client.post(PARTNERSHIPS, json={"node": b.domain}, headers=bearer(admin_a))
    assert resp.status == 201, await resp.text()
    await settle(a, b)
    [request] = await get(b, admin_b, PARTNERSHIPS)
    await b.client.post(f"{PARTNERSHIPS}/{request['id']}/accept", headers=bearer(admin_b))
    await settle(a, b)


async def copies(peer: Peer, url: str) -> list[Listing]:
    with activated(peer.client.app[DATABASE]):
        return await Listing.filter(ap_id=url, local=False)


async def cached_photos(peer: Peer) -> list[Media]:
    with activated(peer.client.app[DATABASE]):
        return await Media.filter(remote_url__isnull=False)


async def test_a_partners_listing_travels_to_partners_only_and_becomes_an_agreement(peers):
    a, b, c = await peers("a"), await peers("b"), await peers("c")
    await partner(a, b)
    ada, bob, cyd = await member(a, "ada"), await member(b, "bob"), await member(c, "cyd")

    photo = await uploaded(a.client, ada, jpeg((640, 480)), "The drill and its case")
    resp = await a.client.post(
        "/api/quartier/v1/listings",
        json={**DRILL, "audience": "partners", "photos": [photo["id"]]},
        headers=bearer(ada),
    )
    assert resp.status == 201, await resp.text()
    listing = await resp.json()
    await settle(a, b, c)

    # B holds a copy; its members find it and see it with the photo served by B itself.
    [copy] = await copies(b, listing["url"])
    [seen] = (await get(b, bob, "/api/quartier/v1/listings?q=drill&kind=lend"))["listings"]
    assert seen == await get(b, bob, f"/api/quartier/v1/listings/{copy.id}")
    assert (seen["title"], seen["kind"], seen["audience"]) == ("Cordless drill", "lend", "partners")
    assert seen["local"] is False
    assert seen["origin"] == a.domain
    assert seen["description"] == "With two batteries."
    assert seen["details"] == {"duration_days": 7}
    [shown] = seen["photos"]
    assert shown["url"].startswith(b.base)
    assert shown["description"] == "The drill and its case"
    image = await b.client.get(shown["url"].removeprefix(b.base), headers=bearer(bob))
    assert image.status == 200
    assert image.content_type == "image/jpeg"

    # C has nothing; an unsigned fetch of the listing or its photo on A gets nothing.
    assert await copies(c, listing["url"]) == []
    assert (await get(c, cyd, "/api/quartier/v1/listings?q=drill"))["listings"] == []
    a.client.session.cookie_jar.clear()  # as a stranger: not the browser session of ada's login
    assert (await a.client.get(listing["url"].removeprefix(a.base), headers=AP)).status == 404
    a_photo = listing["photos"][0]["url"].removeprefix(a.base)
    assert (await a.client.get(a_photo)).status == 404
    with activated(a.client.app[DATABASE]):
        hosts = set(await Delivery.all().values_list("host", flat=True))
    assert c.domain not in hosts

    # bob (on B) answers; ada (on A) sees the response and accepts it.
    resp = await b.client.post(
        f"/api/quartier/v1/listings/{copy.id}/responses",
        json={"message": "Could I borrow it on Saturday?"},
        headers=bearer(bob),
    )
    assert resp.status == 201, await resp.text()
    asked = await resp.json()
    assert asked["state"] == "pending"
    await settle(a, b, c)
    [response] = await get(a, ada, f"/api/quartier/v1/listings/{listing['id']}/responses")
    assert response["responder"] == b.actor("bob")
    assert response["message"] == "Could I borrow it on Saturday?"
    notes = await get(a, ada, "/api/quartier/v1/notifications")
    assert [n["type"] for n in notes] == ["listing.response"]
    resp = await a.client.post(
        f"/api/quartier/v1/listings/responses/{response['id']}/accept", headers=bearer(ada)
    )
    assert resp.status == 200, await resp.text()
    agreement = (await resp.json())["agreement"]
    await settle(a, b, c)

    # Both sides see the agreement and the conversation it opened.
    [mine] = await get(b, bob, "/api/quartier/v1/listings/agreements")
    assert (mine["id"], mine["state"], mine["agreement"]) == (asked["id"], "accepted", agreement)
    assert [n["type"] for n in await get(b, bob, "/api/quartier/v1/notifications")] == [
        "listing.agreement"
    ]
    [conversation] = await get(b, bob, "/api/quartier/v1/conversations")
    assert a.actor("ada") in conversation["participants"]
    [opening] = await get(b, bob, f"/api/quartier/v1/conversations/{conversation['id']}")
    assert "Cordless drill" in opening["text"]
    reserved = await get(a, ada, f"/api/quartier/v1/listings/{listing['id']}")
    assert reserved["status"] == "reserved"
    [copy] = await copies(b, listing["url"])
    assert copy.status.value == "reserved"  # the Update reached B

    # bob marks it done with a thank-you: A marks it done too, ada hears of it and reads his
    # words; the listing, all of it agreed on and done, is done, and B's copy says so.
    resp = await b.client.post(
        f"/api/quartier/v1/listings/responses/{asked['id']}/done",
        json={"thanks": "Merci, perceuse rendue !"},
        headers=bearer(bob),
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["state"] == "done"
    await settle(a, b, c)
    [response] = await get(a, ada, f"/api/quartier/v1/listings/{listing['id']}/responses")
    assert (response["state"], response["thanks_from_responder"]) == (
        "done",
        "Merci, perceuse rendue !",
    )
    latest, *_ = await get(a, ada, "/api/quartier/v1/notifications")
    assert latest["type"] == "listing.agreement"
    assert (await get(a, ada, f"/api/quartier/v1/listings/{listing['id']}"))["status"] == "done"
    [copy] = await copies(b, listing["url"])
    assert copy.status.value == "done"
    [conversation] = await get(a, ada, "/api/quartier/v1/conversations")
    said = await get(a, ada, f"/api/quartier/v1/conversations/{conversation['id']}")
    assert "Merci, perceuse rendue !" in said[-1]["text"]
    # ada's thanks reach bob the same way
    resp = await a.client.post(
        f"/api/quartier/v1/listings/responses/{response['id']}/done",
        json={"thanks": "Avec plaisir"},
        headers=bearer(ada),
    )
    assert resp.status == 200, await resp.text()
    await settle(a, b, c)
    [mine] = await get(b, bob, "/api/quartier/v1/listings/agreements")
    assert (mine["state"], mine["thanks_from_author"]) == ("done", "Avec plaisir")

    # Withdrawn on A, it is closed on B (kept only for bob's agreement record), cached photo
    # gone; a copy nobody agreed on goes entirely (tests/node/test_listings_inbound.py).
    resp = await a.client.delete(f"/api/quartier/v1/listings/{listing['id']}", headers=bearer(ada))
    assert resp.status == 200
    await settle(a, b, c)
    [copy] = await copies(b, listing["url"])
    assert copy.status.value == "withdrawn"
    assert await cached_photos(b) == []
    [mine] = await get(b, bob, "/api/quartier/v1/listings/agreements")
    assert mine["state"] == "done"
    assert (
        await b.client.get(shown["url"].removeprefix(b.base), headers=bearer(bob))
    ).status == 404
    assert (await get(b, bob, "/api/quartier/v1/listings?q=drill"))["listings"] == []
    # C's member saw nothing of it all along
    assert await get(c, cyd, "/api/quartier/v1/notifications") == []
    assert (await get(c, cyd, "/api/quartier/v1/listings"))["listings"] == []


async def test_a_public_listing_reaches_a_plain_follower_of_the_group_as_a_note(
    peers, aiohttp_server, clock
):
    a = await peers("a")
    ada = await member(a, "ada")
    received: list[dict[str, Any]] = []
    reader = RemoteActor("reader")

    async def actor(request: web.Request) -> web.Response:
        return web.json_response(reader.document(), content_type="application/activity+json")

    async def inbox(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=202)

    app = web.Application()
    app.router.add_get("/users/reader", actor)
    app.router.add_post("/users/reader/inbox", inbox)
    app.router.add_post("/inbox", inbox)
    server = await aiohttp_server(app)
    reader.base = f"http://127.0.0.1:{server.port}"

    group = f"{a.base}/groups/neighbourhood"
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{reader.base}/follows/1",
        "type": "Follow",
        "actor": reader.id,
        "object": group,
    }
    body = json.dumps(follow).encode()
    headers = sign_request(
        "POST", f"{a.base}/inbox", body, reader.key_id, reader.rsa_key, clock.now
    )
    headers["Content-Type"] = "application/activity+json"
    resp = await a.client.post("/inbox", data=body, headers=headers)
    assert resp.status == 202, await resp.text()
    await settle(a)
    assert [r["type"] for r in received] == ["Accept"]

    resp = await a.client.post(
        "/api/quartier/v1/listings",
        json={
            "kind": "sell",
            "title": "Child bike 16 inch",
            "category": "bicycles",
            "description": "Blue, with stabilisers.",
            "price": {"amount": "35", "currency": "EUR"},
            "audience": "public",
        },
        headers=bearer(ada),
    )
    assert resp.status == 201, await resp.text()
    listing = await resp.json()
    resp = await a.client.post(
        "/api/quartier/v1/listings",
        json={**DRILL, "audience": "partners"},
        headers=bearer(ada),
    )
    assert resp.status == 201
    await settle(a)

    # One Announce, of the public listing only, whose object is a Note that reads on its own.
    [announce] = [r for r in received if r["type"] == "Announce"]
    assert announce["actor"] == group
    note = announce["object"]
    assert note["type"] == "Note"
    assert note["id"] == listing["url"]
    assert note["attributedTo"] == a.actor("ada")
    assert "https://www.w3.org/ns/activitystreams#Public" in note["to"]
    assert note["name"] == "Child bike 16 inch"
    assert "Child bike 16 inch" in note["content"]
    assert "€35.00" in note["content"]
    assert "Blue, with stabilisers." in note["content"]
    assert any(tag["type"] == "Hashtag" for tag in note["tag"])
    # Anyone can fetch the public listing itself.
    resp = await a.client.get(listing["url"].removeprefix(a.base), headers=AP)
    assert resp.status == 200
    assert (await resp.json(content_type=None))["id"] == listing["url"]
