"""Follows between members of two real nodes, and on one node."""

from __future__ import annotations

from federation.models import RemoteActor
from federation.outbound import publish
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer, bootstrap_invite, error_of, login, register
from tests.integration.conftest import Peer, settle


async def member(peer: Peer, username: str) -> str:
    await register(peer.client, await bootstrap_invite(peer.client), username)
    return await login(peer.client, username)


async def get(peer: Peer, token: str, path: str) -> list[dict]:
    resp = await peer.client.get(path, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_a_member_of_a_follows_a_member_of_b_who_approves_then_a_unfollows(peers):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")

    resp = await a.client.post(
        "/api/v1/follows", json={"target": b.handle("bob")}, headers=bearer(ada)
    )
    assert resp.status == 201, await resp.text()
    follow = await resp.json()
    assert (follow["followee"], follow["state"]) == (b.actor("bob"), "pending")

    await settle(a, b)
    [request] = await get(b, bob, "/api/v1/follow_requests")
    assert request["follower"] == a.actor("ada")

    resp = await b.client.post(
        f"/api/v1/follow_requests/{request['id']}/accept", headers=bearer(bob)
    )
    assert resp.status == 200
    await settle(a, b)
    [mine] = await get(a, ada, "/api/v1/follows")
    assert mine["state"] == "accepted"
    [follower] = await get(b, bob, "/api/v1/followers")
    assert follower["follower"] == a.actor("ada")

    resp = await a.client.delete(f"/api/v1/follows/{mine['id']}", headers=bearer(ada))
    assert resp.status == 204
    await settle(a, b)
    assert await get(b, bob, "/api/v1/followers") == []
    assert await get(a, ada, "/api/v1/follows") == []


async def test_a_refused_request_disappears_on_both_nodes(peers):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await a.client.post("/api/v1/follows", json={"target": b.actor("bob")}, headers=bearer(ada))
    await settle(a, b)
    [request] = await get(b, bob, "/api/v1/follow_requests")
    resp = await b.client.post(
        f"/api/v1/follow_requests/{request['id']}/reject", headers=bearer(bob)
    )
    assert resp.status == 204
    await settle(a, b)
    assert await get(a, ada, "/api/v1/follows") == []
    assert await get(b, bob, "/api/v1/follow_requests") == []


async def test_neighbours_on_one_node_follow_each_other_without_federation(peers):
    (a,) = [await peers("a")]
    ada, bea = await member(a, "ada"), await member(a, "bea")
    resp = await a.client.post(
        "/api/v1/follows", json={"target": a.handle("bea")}, headers=bearer(ada)
    )
    assert resp.status == 201
    [request] = await get(a, bea, "/api/v1/follow_requests")
    await a.client.post(f"/api/v1/follow_requests/{request['id']}/accept", headers=bearer(bea))
    [mine] = await get(a, ada, "/api/v1/follows")
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
        resp = await a.client.post("/api/v1/follows", json=body, headers=bearer(ada))
        await error_of(resp, status, code)
    a.client.session.cookie_jar.clear()  # logins left a session cookie in the test client
    resp = await a.client.post("/api/v1/follows", json={"target": a.handle("bea")})
    await error_of(resp, 401, "unauthorized")
    # bea cannot accept a request made to someone else, nor an unknown one
    await a.client.post("/api/v1/follows", json={"target": a.handle("bea")}, headers=bearer(ada))
    [request] = await get(a, bea, "/api/v1/follow_requests")
    resp = await a.client.post(
        f"/api/v1/follow_requests/{request['id']}/accept", headers=bearer(ada)
    )
    await error_of(resp, 404, "not_found")
    resp = await a.client.post("/api/v1/follow_requests/999999/reject", headers=bearer(bea))
    await error_of(resp, 404, "not_found")


async def test_the_followers_collection_counts_accepted_followers_only(peers):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await a.client.post("/api/v1/follows", json={"target": b.handle("bob")}, headers=bearer(ada))
    await settle(a, b)
    ap = {"Accept": "application/activity+json"}
    followers = await (await b.client.get("/users/bob/followers", headers=ap)).json()
    assert followers["totalItems"] == 0  # still a request
    [request] = await get(b, bob, "/api/v1/follow_requests")
    await b.client.post(f"/api/v1/follow_requests/{request['id']}/accept", headers=bearer(bob))
    await settle(a, b)
    followers = await (await b.client.get("/users/bob/followers", headers=ap)).json()
    following = await (await a.client.get("/users/ada/following", headers=ap)).json()
    assert (followers["totalItems"], following["totalItems"]) == (1, 1)


async def test_a_deleted_account_loses_its_follows_and_its_cached_actor(peers, clock):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await a.client.post("/api/v1/follows", json={"target": b.handle("bob")}, headers=bearer(ada))
    await settle(a, b)
    [request] = await get(b, bob, "/api/v1/follow_requests")
    await b.client.post(f"/api/v1/follow_requests/{request['id']}/accept", headers=bearer(bob))
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
    assert await get(b, bob, "/api/v1/followers") == []
    with activated(b.client.app[DATABASE]):
        assert not await RemoteActor.exists(uri=a.actor("ada"))
