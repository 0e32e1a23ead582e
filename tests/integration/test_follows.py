"""Follows between members of two real nodes, and on one node."""

from __future__ import annotations

import json

from federation.models import Delivery, InboundMessage, InboundState, RemoteActor
from federation.outbound import publish
from node.db import activated
from node.follows.models import Follow, FollowAlias, FollowState
from node.http.keys import DATABASE
from tests.api import bearer, error_of
from tests.integration.conftest import Peer, get, member, settle


async def test_a_member_of_a_follows_a_member_of_b_who_approves_then_a_unfollows(peers):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")

    resp = await a.client.post(
        "/api/quartier/v1/follows", json={"target": b.handle("bob")}, headers=bearer(ada)
    )
    assert resp.status == 201, await resp.text()
    follow = await resp.json()
    assert (follow["followee"], follow["state"]) == (b.actor("bob"), "pending")

    await settle(a, b)
    [request] = await get(b, bob, "/api/quartier/v1/follow_requests")
    assert request["follower"] == a.actor("ada")

    resp = await b.client.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/accept", headers=bearer(bob)
    )
    assert resp.status == 200
    await settle(a, b)
    [mine] = await get(a, ada, "/api/quartier/v1/follows")
    assert mine["state"] == "accepted"
    [follower] = await get(b, bob, "/api/quartier/v1/followers")
    assert follower["follower"] == a.actor("ada")

    resp = await a.client.delete(f"/api/quartier/v1/follows/{mine['id']}", headers=bearer(ada))
    assert resp.status == 204
    await settle(a, b)
    assert await get(b, bob, "/api/quartier/v1/followers") == []
    assert await get(a, ada, "/api/quartier/v1/follows") == []


async def test_a_refused_request_disappears_on_both_nodes(peers):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await a.client.post(
        "/api/quartier/v1/follows", json={"target": b.actor("bob")}, headers=bearer(ada)
    )
    await settle(a, b)
    [request] = await get(b, bob, "/api/quartier/v1/follow_requests")
    resp = await b.client.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/reject", headers=bearer(bob)
    )
    assert resp.status == 204
    await settle(a, b)
    assert await get(a, ada, "/api/quartier/v1/follows") == []
    assert await get(b, bob, "/api/quartier/v1/follow_requests") == []


async def test_neighbours_on_one_node_follow_each_other_without_federation(peers):
    (a,) = [await peers("a")]
    ada, bea = await member(a, "ada"), await member(a, "bea")
    resp = await a.client.post(
        "/api/quartier/v1/follows", json={"target": a.handle("bea")}, headers=bearer(ada)
    )
    assert resp.status == 201
    [request] = await get(a, bea, "/api/quartier/v1/follow_requests")
    await a.client.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/accept", headers=bearer(bea)
    )
    [mine] = await get(a, ada, "/api/quartier/v1/follows")
    assert mine["state"] == "accepted"
    await settle(a)  # nothing was queued for delivery


async def test_follow_requests_with_bad_targets_get_clear_errors(peers):
    (a,) = [await peers("a")]
    ada, bea = await member(a, "ada"), await member(a, "bea")
    cases = [
        ({"target": "not a handle"}, 400, "bad_request"),
        ({"target": a.handle("ada")}, 400, "bad_request"),  # yourself
        ({"target": a.handle("nobody")}, 404, "not_found"),
        ({"target": "someone@127.0.0.1:9"}, 404, "not_found"),  # nothing listens there
        ({"target": ""}, 422, "validation_failed"),
        ({"target": "bea@x", "extra": 1}, 422, "validation_failed"),
    ]
    for body, status, code in cases:
        resp = await a.client.post("/api/quartier/v1/follows", json=body, headers=bearer(ada))
        await error_of(resp, status, code)
    a.client.session.cookie_jar.clear()  # logins left a session cookie in the test client
    resp = await a.client.post("/api/quartier/v1/follows", json={"target": a.handle("bea")})
    await error_of(resp, 401, "unauthorized")
    # bea cannot accept a request made to someone else, nor an unknown one
    await a.client.post(
        "/api/quartier/v1/follows", json={"target": a.handle("bea")}, headers=bearer(ada)
    )
    [request] = await get(a, bea, "/api/quartier/v1/follow_requests")
    resp = await a.client.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/accept", headers=bearer(ada)
    )
    await error_of(resp, 404, "not_found")
    resp = await a.client.post(
        "/api/quartier/v1/follow_requests/999999/reject", headers=bearer(bea)
    )
    await error_of(resp, 404, "not_found")


async def test_the_followers_collection_counts_accepted_followers_only(peers):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await a.client.post(
        "/api/quartier/v1/follows", json={"target": b.handle("bob")}, headers=bearer(ada)
    )
    await settle(a, b)
    ap = {"Accept": "application/activity+json"}
    followers = await (await b.client.get("/users/bob/followers", headers=ap)).json()
    assert followers["totalItems"] == 0  # still a request
    [request] = await get(b, bob, "/api/quartier/v1/follow_requests")
    await b.client.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/accept", headers=bearer(bob)
    )
    await settle(a, b)
    followers = await (await b.client.get("/users/bob/followers", headers=ap)).json()
    following = await (await a.client.get("/users/ada/following", headers=ap)).json()
    assert (followers["totalItems"], following["totalItems"]) == (1, 1)


async def test_a_deleted_account_loses_its_follows_and_its_cached_actor(peers, clock):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await a.client.post(
        "/api/quartier/v1/follows", json={"target": b.handle("bob")}, headers=bearer(ada)
    )
    await settle(a, b)
    [request] = await get(b, bob, "/api/quartier/v1/follow_requests")
    await b.client.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/accept", headers=bearer(bob)
    )
    await settle(a, b)

    # ada's node announces that ada's account is deleted (as Mastodon does): Delete{object: actor}
    with activated(a.client.app[DATABASE]):
        delete = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{a.actor('ada')}#delete",
            "type": "Delete",
            "actor": a.actor("ada"),
            "object": a.actor("ada"),
        }
        await publish(delete, [f"{b.base}/inbox"], a.actor("ada"), clock.now)
    await settle(a, b)
    assert await get(b, bob, "/api/quartier/v1/followers") == []
    with activated(b.client.app[DATABASE]):
        assert not await RemoteActor.exists(uri=a.actor("ada"))


async def send(peer: Peer, activity: dict, to: Peer, clock) -> None:
    """Queue ``activity`` from ``peer`` to ``to``'s shared inbox, signed by its actor."""
    with activated(peer.client.app[DATABASE]):
        await publish(activity, [f"{to.base}/inbox"], activity["actor"], clock.now)


async def follow_again(a: Peer, b: Peer, username: str, followee: str, clock) -> dict:
    """A's side loses track of the follow and asks again under a new id, as Mastodon does:
    its follow is a fresh request with the new Follow, which it sends to B."""
    follower = a.actor(username)
    again = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{follower}/follows/again",
        "type": "Follow",
        "actor": follower,
        "object": followee,
    }
    with activated(a.client.app[DATABASE]):
        await Follow.filter(follower=follower, followee=followee).update(
            activity_id=again["id"], activity=again, state=FollowState.PENDING, accepted_at=None
        )
    await send(a, again, b, clock)
    return again


async def accepts_sent(peer: Peer) -> list[str]:
    """The ids of the Follows the node's Accepts answered, in order."""
    with activated(peer.client.app[DATABASE]):
        bodies = [json.loads(d.body) for d in await Delivery.all().order_by("id")]
    return [body["object"]["id"] for body in bodies if body["type"] == "Accept"]


async def accepted_follow(a: Peer, b: Peer, ada: str, bob: str) -> dict:
    """ada (on a) follows bob (on b), who approves; ada's follow as a shows it."""
    await a.client.post(
        "/api/quartier/v1/follows", json={"target": b.handle("bob")}, headers=bearer(ada)
    )
    await settle(a, b)
    [request] = await get(b, bob, "/api/quartier/v1/follow_requests")
    await b.client.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/accept", headers=bearer(bob)
    )
    await settle(a, b)
    [mine] = await get(a, ada, "/api/quartier/v1/follows")
    assert mine["state"] == "accepted"
    return mine


async def test_a_follow_sent_again_is_accepted_again_and_an_undo_of_the_new_id_ends_it(
    peers, clock
):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await accepted_follow(a, b, ada, bob)
    [before] = await get(b, bob, "/api/quartier/v1/followers")
    [first_id] = await accepts_sent(b)

    again = await follow_again(a, b, "ada", b.actor("bob"), clock)
    await settle(a, b)
    # B answered the new Follow, so A's side is accepted again; B still has one follower
    assert await accepts_sent(b) == [first_id, again["id"]]
    [mine] = await get(a, ada, "/api/quartier/v1/follows")
    assert mine["state"] == "accepted"
    assert await get(b, bob, "/api/quartier/v1/followers") == [before]
    assert await get(b, bob, "/api/quartier/v1/follow_requests") == []

    # unfollowing on A sends Undo of the Follow A knows: the new one
    resp = await a.client.delete(f"/api/quartier/v1/follows/{mine['id']}", headers=bearer(ada))
    assert resp.status == 204
    await settle(a, b)
    assert await get(b, bob, "/api/quartier/v1/followers") == []
    with activated(b.client.app[DATABASE]):
        assert await FollowAlias.all().count() == 0  # the earlier id went with the follow


async def test_after_a_follow_sent_again_an_undo_of_the_first_id_still_ends_it(peers, clock):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await member(a, "cyd")
    await accepted_follow(a, b, ada, bob)
    [first_id] = await accepts_sent(b)
    await follow_again(a, b, "ada", b.actor("bob"), clock)
    await settle(a, b)

    def undo(actor: str, name: str) -> dict:
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{actor}/undo/{name}",
            "type": "Undo",
            "actor": actor,
            "object": first_id,
        }

    # only the follower may undo it, by whichever of its ids
    await send(a, undo(a.actor("cyd"), "not-yours"), b, clock)
    await settle(a, b)
    assert len(await get(b, bob, "/api/quartier/v1/followers")) == 1
    await send(a, undo(a.actor("ada"), "first"), b, clock)
    await settle(a, b)
    assert await get(b, bob, "/api/quartier/v1/followers") == []


async def test_a_pending_request_sent_again_stays_one_request_answered_as_the_new_follow(
    peers, clock
):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await a.client.post(
        "/api/quartier/v1/follows", json={"target": b.handle("bob")}, headers=bearer(ada)
    )
    await settle(a, b)
    [request] = await get(b, bob, "/api/quartier/v1/follow_requests")

    again = await follow_again(a, b, "ada", b.actor("bob"), clock)
    await settle(a, b)
    assert await get(b, bob, "/api/quartier/v1/follow_requests") == [request]
    assert await accepts_sent(b) == []  # nothing to answer until bob decides
    with activated(b.client.app[DATABASE]):
        row = await Follow.get(id=request["id"])
        assert row.activity_id == again["id"]

    await b.client.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/accept", headers=bearer(bob)
    )
    await settle(a, b)
    assert await accepts_sent(b) == [again["id"]]
    [mine] = await get(a, ada, "/api/quartier/v1/follows")
    assert mine["state"] == "accepted"  # A matched the Accept to the Follow it now knows


async def test_processing_a_follow_sent_again_twice_answers_it_once(peers, clock):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await accepted_follow(a, b, ada, bob)
    again = await follow_again(a, b, "ada", b.actor("bob"), clock)
    await settle(a, b)
    # B's worker handled it but died before marking it done: it is handled again
    with activated(b.client.app[DATABASE]):
        await InboundMessage.filter(activity_id=again["id"]).update(state=InboundState.PENDING)
    await settle(a, b)
    with activated(b.client.app[DATABASE]):
        assert await InboundMessage.get(activity_id=again["id"]).values_list(
            "state", flat=True
        ) == (InboundState.DONE)
        assert await FollowAlias.all().count() == 1
    assert len(await accepts_sent(b)) == 2
