"""A circle across nodes: D1 and D2 partners, a plain ActivityPub actor on a third server.

The plain actor follows a public circle of D1 and receives its posts as FEP-1b12 announces
(the group announces the member's Create, unaltered, with ``audience``); a member of D2 joins
the circle (it lets partners' members join), reads D1's posts on D2 and posts to it from D2;
a moderator on D1 removes that post and it disappears on D2 too.
"""

from __future__ import annotations

import io
import json
from typing import Any

from activitypub.signatures import sign_request
from node.circles.models import CirclePost
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer
from tests.conftest import FakeClock
from tests.integration.conftest import Peer, get, member, settle
from tests.integration.test_listings import partner
from tests.node.test_inbox import RemoteActor, follow, start_remote

CIRCLES = "/api/quartier/v1/circles"
STREET = {
    "slug": "rue_verte",
    "name": "Rue Verte",
    "kind": "street",
    "join_policy": "open",
    "partners_may_join": True,
    "public": True,
}


async def deliver(peer: Peer, clock: FakeClock, actor: RemoteActor, activity: Any, path: str):
    """POST ``activity`` to ``peer``'s ``path``, signed by the plain actor."""
    raw = json.dumps(activity).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_request(
        "POST", f"{peer.base}{path}", raw, actor.key_id, actor.rsa_key, clock.now
    )
    return await peer.client.post(path, data=io.BytesIO(raw), headers=headers)


async def test_a_circle_federates_to_a_plain_follower_and_a_partners_member(
    peers, clock, aiohttp_server
):
    d1, d2 = await peers("d1"), await peers("d2")
    remote = await start_remote(aiohttp_server)
    await partner(d1, d2)
    ada, bob = await member(d1, "ada"), await member(d2, "bob")
    resp = await d1.client.post(CIRCLES, json=STREET, headers=bearer(ada))
    assert resp.status == 201, await resp.text()
    group = (await resp.json())["actor"]
    assert group == f"{d1.base}/groups/rue_verte"

    # A plain fediverse account follows the circle: accepted, read-only.
    alice = remote.add("alice")
    activity = follow(alice, target=group)
    resp = await deliver(d1, clock, alice, activity, "/groups/rue_verte/inbox")
    assert resp.status == 202
    await settle(d1, d2)
    [(_, accept)] = remote.delivered
    assert (accept["type"], accept["actor"], accept["object"]["id"]) == (
        "Accept",
        group,
        activity["id"],
    )

    # bob, on the partner node D2, joins by the circle's handle (a Follow of its group).
    resp = await d2.client.post(
        "/api/quartier/v1/me/circles",
        json={"circle": f"rue_verte@{d1.domain}"},
        headers=bearer(bob),
    )
    assert resp.status == 201, await resp.text()
    await settle(d1, d2)
    [joined] = await get(d2, bob, "/api/quartier/v1/me/circles")
    assert (joined["followee"], joined["state"]) == (group, "accepted")
    members = await get(d1, ada, f"{CIRCLES}/rue_verte/members")
    roles = {m["actor"]: m["role"] for m in members}
    assert roles == {
        d1.actor("ada"): "moderator",
        d2.actor("bob"): "member",
        alice.id: "follower",
    }

    # ada posts on D1: the follower gets the FEP-1b12 Announce, D2 shows it to bob.
    resp = await d1.client.post(
        f"{CIRCLES}/rue_verte/posts", json={"text": "Street party on Saturday"}, headers=bearer(ada)
    )
    assert resp.status == 201, await resp.text()
    ada_post = await resp.json()
    await settle(d1, d2)
    [(path, announce)] = remote.delivered[1:]
    assert path == "/inbox"
    assert (announce["type"], announce["actor"], announce["audience"]) == ("Announce", group, group)
    assert announce["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert announce["cc"] == [f"{group}/followers"]
    create = announce["object"]
    assert (create["type"], create["actor"], create["audience"]) == (
        "Create",
        d1.actor("ada"),
        group,
    )
    note = create["object"]
    assert (note["type"], note["id"], note["audience"]) == ("Note", ada_post["url"], group)
    assert note["content"] == "<p>Street party on Saturday</p>"
    assert create["to"] == [group, "https://www.w3.org/ns/activitystreams#Public"]
    seen = await get(d2, bob, f"/api/quartier/v1/me/circles/posts?circle={group}")
    assert [(p["url"], p["text"]) for p in seen] == [(ada_post["url"], "Street party on Saturday")]

    # bob posts from D2: the circle takes it (he is a member) and ada reads it on D1.
    resp = await d2.client.post(
        "/api/quartier/v1/me/circles/posts",
        json={"circle": group, "text": "Can I bring a barbecue?"},
        headers=bearer(bob),
    )
    assert resp.status == 201, await resp.text()
    bob_post = await resp.json()
    await settle(d1, d2)
    on_d1 = await get(d1, ada, f"{CIRCLES}/rue_verte/posts")
    assert [p["url"] for p in on_d1] == [bob_post["url"], ada_post["url"]]
    # Not public: the read-only follower does not get it.
    assert len(remote.delivered) == 2

    # ada, the circle's moderator, removes bob's post: gone on D1 and on D2.
    [bobs] = [p for p in on_d1 if p["url"] == bob_post["url"]]
    resp = await d1.client.delete(f"{CIRCLES}/rue_verte/posts/{bobs['id']}", headers=bearer(ada))
    assert resp.status == 204, await resp.text()
    await settle(d1, d2)
    assert [p["url"] for p in await get(d1, ada, f"{CIRCLES}/rue_verte/posts")] == [ada_post["url"]]
    seen = await get(d2, bob, f"/api/quartier/v1/me/circles/posts?circle={group}")
    assert [p["url"] for p in seen] == [ada_post["url"]]
    with activated(d2.client.app[DATABASE]):
        removed = await CirclePost.get(ap_id=bob_post["url"])
    assert removed.deleted_at is not None

    # ada deletes the circle: its actor is gone (410) and D2 and the follower are told.
    resp = await d1.client.delete(f"{CIRCLES}/rue_verte", headers=bearer(ada))
    assert resp.status == 204, await resp.text()
    await settle(d1, d2)
    resp = await d1.client.get("/groups/rue_verte", headers={"Accept": "application/activity+json"})
    assert resp.status == 410
    assert await get(d2, bob, "/api/quartier/v1/me/circles") == []
    with activated(d2.client.app[DATABASE]):
        assert not await CirclePost.filter(circle=group, deleted_at__isnull=True).exists()
    gone = remote.delivered[-1][1]
    assert (gone["type"], gone["actor"], gone["object"]) == ("Delete", group, group)
    assert await get(d1, ada, CIRCLES) == []
    resp = await d1.client.post(CIRCLES, json=STREET, headers=bearer(ada))
    assert resp.status == 409  # a deleted circle's name is not given again


async def test_a_request_circle_waits_for_its_moderator_who_may_remove_a_remote_member(peers):
    """A partner's member asks to join a request circle: pending until a moderator on D1
    approves (Accept); removed later, the group's Reject ends the follow on D2."""
    d1, d2 = await peers("d1"), await peers("d2")
    await partner(d1, d2)
    ada, bob = await member(d1, "ada"), await member(d2, "bob")
    building = {**STREET, "slug": "immeuble_4", "kind": "building", "join_policy": "request"}
    resp = await d1.client.post(CIRCLES, json=building, headers=bearer(ada))
    group = (await resp.json())["actor"]
    doc = await (
        await d1.client.get("/groups/immeuble_4", headers={"Accept": "application/activity+json"})
    ).json(content_type=None)
    assert doc["manuallyApprovesFollowers"] is True
    await d2.client.post("/api/quartier/v1/me/circles", json={"circle": group}, headers=bearer(bob))
    await settle(d1, d2)
    [joined] = await get(d2, bob, "/api/quartier/v1/me/circles")
    assert joined["state"] == "pending"
    [request] = await get(d1, ada, f"{CIRCLES}/immeuble_4/requests")
    assert request["actor"] == d2.actor("bob")
    resp = await d1.client.post(
        f"{CIRCLES}/immeuble_4/requests/{request['id']}/approve", headers=bearer(ada)
    )
    assert resp.status == 204
    await settle(d1, d2)
    [joined] = await get(d2, bob, "/api/quartier/v1/me/circles")
    assert joined["state"] == "accepted"

    resp = await d1.client.delete(
        f"{CIRCLES}/immeuble_4/members/{request['id']}",
        json={"reason": "moved out"},
        headers=bearer(ada),
    )
    assert resp.status == 204, await resp.text()
    await settle(d1, d2)
    assert await get(d2, bob, "/api/quartier/v1/me/circles") == []
    resp = await d2.client.get(
        f"/api/quartier/v1/me/circles/posts?circle={group}", headers=bearer(bob)
    )
    assert resp.status == 403


async def test_a_circles_listing_reaches_its_members_on_a_partner_node_and_no_one_else(peers):
    d1, d2 = await peers("d1"), await peers("d2")
    await partner(d1, d2)
    ada, bob, eve = await member(d1, "ada"), await member(d2, "bob"), await member(d2, "eve")
    resp = await d1.client.post(CIRCLES, json=STREET, headers=bearer(ada))
    assert resp.status == 201, await resp.text()
    group = (await resp.json())["actor"]
    resp = await d2.client.post(
        "/api/quartier/v1/me/circles",
        json={"circle": f"rue_verte@{d1.domain}"},
        headers=bearer(bob),
    )
    assert resp.status == 201, await resp.text()
    await settle(d1, d2)

    ladder = {
        "kind": "give",
        "title": "Ladder for the street's hedges",
        "category": "tools",
        "audience": "node",
        "circle": "rue_verte",
    }
    resp = await d1.client.post("/api/quartier/v1/listings", json=ladder, headers=bearer(ada))
    assert resp.status == 201, await resp.text()
    listing = await resp.json()
    await settle(d1, d2)

    found = (await get(d2, bob, "/api/quartier/v1/listings?q=ladder"))["listings"]
    assert [(x["title"], x["circle"]) for x in found] == [(ladder["title"], group)]
    assert (await get(d2, eve, "/api/quartier/v1/listings?q=ladder"))["listings"] == []
    resp = await d2.client.get(f"/api/quartier/v1/listings/{found[0]['id']}", headers=bearer(eve))
    assert resp.status == 404
    assert (await get(d2, bob, f"/api/quartier/v1/listings/{found[0]['id']}"))["title"] == ladder[
        "title"
    ]

    # Changed, then withdrawn by its author: D2 follows.
    resp = await d1.client.patch(
        f"/api/quartier/v1/listings/{listing['id']}",
        json={"title": "Long ladder"},
        headers=bearer(ada),
    )
    assert resp.status == 200, await resp.text()
    await settle(d1, d2)
    [copy] = (await get(d2, bob, "/api/quartier/v1/listings?q=ladder"))["listings"]
    assert copy["title"] == "Long ladder"
    resp = await d1.client.delete(f"/api/quartier/v1/listings/{listing['id']}", headers=bearer(ada))
    assert resp.status in (200, 204), await resp.text()
    await settle(d1, d2)
    assert (await get(d2, bob, "/api/quartier/v1/listings?q=ladder"))["listings"] == []
