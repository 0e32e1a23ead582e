"""Circles on one node: the API (create, join, post, moderate, bad input) and what other
servers' actors see (Follow answered, posts announced in the FEP-1b12 shape). Across nodes:
tests/integration/test_circles.py."""

from __future__ import annotations

from typing import Any

import pytest

from moderation.models import AuditEntry
from node.circles.models import CirclePost
from node.db import activated
from node.follows.models import Follow, FollowState
from node.http.keys import DATABASE
from tests.api import PASSWORD, bearer, error_of
from tests.node.conftest import deliver_all
from tests.node.test_data_rights import archive_of, part
from tests.node.test_inbox import NODE, deliver, follow, worker_round

pytestmark = pytest.mark.local_testing

AP = {"Accept": "application/activity+json"}
CIRCLES = "/api/quartier/v1/circles"
STREET = {"slug": "rue_verte", "name": "Rue Verte", "kind": "street", "summary": "Our street"}
GROUP = f"{NODE}/groups/rue_verte"


async def make_circle(node, token: str, **extra: Any) -> dict[str, Any]:
    resp = await node.post(CIRCLES, json={**STREET, **extra}, headers=bearer(token))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def post(node, token: str, text: str, slug: str = "rue_verte") -> Any:
    return await node.post(f"{CIRCLES}/{slug}/posts", json={"text": text}, headers=bearer(token))


async def test_a_circle_is_a_group_members_join_and_post_to(node, people):
    ada, bea, cyd = people["ada"], people["bea"], people["cyd"]
    circle = await make_circle(node, ada)
    assert circle["actor"] == GROUP
    assert circle["membership"]["role"] == "moderator"
    assert (circle["kind"], circle["join_policy"], circle["members"]) == ("street", "open", 1)

    doc = await (await node.get("/groups/rue_verte", headers=AP)).json(content_type=None)
    assert (doc["type"], doc["id"], doc["name"]) == ("Group", GROUP, "Rue Verte")
    assert doc["manuallyApprovesFollowers"] is False
    resp = await node.get(
        "/.well-known/webfinger", params={"resource": "acct:rue_verte@127.0.0.1:8080"}
    )
    jrd = await resp.json(content_type=None)
    assert [link["href"] for link in jrd["links"] if link.get("rel") == "self"] == [GROUP]

    joined = await (await node.post(f"{CIRCLES}/rue_verte/join", headers=bearer(bea))).json()
    assert (joined["role"], joined["state"]) == ("member", "accepted")
    resp = await post(node, bea, "Street party <b>Saturday</b>")
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert created["content"] == "<p>Street party &lt;b&gt;Saturday&lt;/b&gt;</p>"

    # Not a member: neither reads nor posts.
    await error_of(
        await node.get(f"{CIRCLES}/rue_verte/posts", headers=bearer(cyd)), 403, "forbidden"
    )
    await error_of(await post(node, cyd, "hello"), 403, "forbidden")
    [seen] = await (await node.get(f"{CIRCLES}/rue_verte/posts", headers=bearer(bea))).json()
    assert seen["id"] == created["id"]
    older = f"{CIRCLES}/rue_verte/posts?before={created['id']}"
    assert await (await node.get(older, headers=bearer(bea))).json() == []
    bad = await node.get(f"{CIRCLES}/rue_verte/posts?before=x1", headers=bearer(bea))
    await error_of(bad, 422, "validation_failed")
    followers = await (await node.get("/groups/rue_verte/followers", headers=AP)).json(
        content_type=None
    )
    assert followers["totalItems"] == 2
    listed = await (await node.get(CIRCLES, headers=bearer(cyd))).json()
    assert [(c["slug"], c["members"], c["membership"]) for c in listed] == [("rue_verte", 2, None)]

    # Its moderators change it; members do not.
    change = {"name": "Rue Verte & Rue Haute", "join_policy": "request"}
    resp = await node.patch(f"{CIRCLES}/rue_verte", json=change, headers=bearer(bea))
    await error_of(resp, 403, "forbidden")
    resp = await node.patch(f"{CIRCLES}/rue_verte", json={"kind": "castle"}, headers=bearer(ada))
    await error_of(resp, 422, "validation_failed")
    changed = await (
        await node.patch(f"{CIRCLES}/rue_verte", json=change, headers=bearer(ada))
    ).json()
    assert (changed["name"], changed["join_policy"]) == (change["name"], "request")
    doc = await (await node.get("/groups/rue_verte", headers=AP)).json(content_type=None)
    assert (doc["name"], doc["manuallyApprovesFollowers"]) == (change["name"], True)


async def test_bad_input_is_refused_with_reasons(node, people):
    ada, bea = people["ada"], people["bea"]
    # Residents do not create circles (managers and admins do).
    resp = await node.post(CIRCLES, json=STREET, headers=bearer(bea))
    await error_of(resp, 403, "forbidden")
    for bad in (
        {**STREET, "slug": "Rue Verte!"},
        {**STREET, "kind": "castle"},
        {**STREET, "name": "x" * 101},
        {**STREET, "join_policy": "whoever"},
        {**STREET, "extra": 1},
    ):
        resp = await node.post(CIRCLES, json=bad, headers=bearer(ada))
        await error_of(resp, 422, "validation_failed")
    resp = await node.post(
        CIRCLES, data=b"{nope", headers={**bearer(ada), "Content-Type": "application/json"}
    )
    await error_of(resp, 400, "invalid_json")
    resp = await node.post(
        CIRCLES, data=b"slug=x", headers={**bearer(ada), "Content-Type": "text/plain"}
    )
    await error_of(resp, 415, "unsupported_media_type")
    await make_circle(node, ada)
    await error_of(await node.post(CIRCLES, json=STREET, headers=bearer(ada)), 409, "conflict")
    resp = await node.post(CIRCLES, json={**STREET, "slug": "bea"}, headers=bearer(ada))
    await error_of(resp, 409, "conflict")  # a member's handle
    await error_of(await post(node, ada, "x" * 5001), 422, "validation_failed")
    await error_of(await post(node, ada, ""), 422, "validation_failed")
    await error_of(await node.get(f"{CIRCLES}/nowhere", headers=bearer(ada)), 404, "not_found")
    resp = await node.get("/api/quartier/v1/me/circles/posts?circle=x", headers=bearer(ada))
    await error_of(resp, 422, "validation_failed")
    # Circles and members share the handle space: nobody registers as a circle.
    invite = await (
        await node.post("/api/quartier/v1/admin/invites", json={}, headers=bearer(ada))
    ).json()
    account = {
        "invite": invite["code"],
        "username": "rue_verte",
        "real_name": "Someone",
        "password": "a long enough passphrase",
    }
    error = await error_of(
        await node.post("/api/quartier/v1/accounts", json=account), 422, "validation_failed"
    )
    assert "reserved" in str(error["details"])


async def test_a_managed_circle_is_joined_only_by_invitation(node, people, clock, remote):
    ada, bea = people["ada"], people["bea"]
    await make_circle(node, ada, join_policy="managed", public=False)
    resp = await node.post(f"{CIRCLES}/rue_verte/join", headers=bearer(bea))
    await error_of(resp, 403, "forbidden")
    # From another server, uninvited: Reject.
    alice = remote.add("alice")
    activity = follow(alice, target=GROUP)
    assert (await deliver(node, clock, alice, activity)).status == 202
    await worker_round(node)
    await deliver_all(node)
    [(_, reject)] = remote.delivered
    assert (reject["type"], reject["actor"], reject["object"]["id"]) == (
        "Reject",
        GROUP,
        activity["id"],
    )
    # A manager (here the admin) adds bea, and invites alice: her next Follow is accepted.
    resp = await node.post(
        f"{CIRCLES}/rue_verte/members", json={"actor": "bea"}, headers=bearer(ada)
    )
    assert (await resp.json())["state"] == "accepted"
    resp = await node.post(
        f"{CIRCLES}/rue_verte/members", json={"actor": alice.id}, headers=bearer(ada)
    )
    assert (await resp.json())["state"] == "invited"
    assert (await deliver(node, clock, alice, follow(alice, 2, target=GROUP))).status == 202
    await worker_round(node)
    await deliver_all(node)
    assert remote.delivered[-1][1]["type"] == "Accept"
    # bea, a resident, may not add members.
    resp = await node.post(
        f"{CIRCLES}/rue_verte/members", json={"actor": "cyd"}, headers=bearer(bea)
    )
    await error_of(resp, 403, "forbidden")


async def test_requests_wait_for_a_moderator(node, people):
    ada, bea = people["ada"], people["bea"]
    await make_circle(node, ada, join_policy="request")
    joined = await (await node.post(f"{CIRCLES}/rue_verte/join", headers=bearer(bea))).json()
    assert joined["state"] == "pending"
    await error_of(await post(node, bea, "hi"), 403, "forbidden")
    resp = await node.get(f"{CIRCLES}/rue_verte/requests", headers=bearer(bea))
    await error_of(resp, 403, "forbidden")
    [request] = await (await node.get(f"{CIRCLES}/rue_verte/requests", headers=bearer(ada))).json()
    resp = await node.post(
        f"{CIRCLES}/rue_verte/requests/{request['id']}/approve", headers=bearer(ada)
    )
    assert resp.status == 204
    assert (await post(node, bea, "hi")).status == 201


async def test_only_moderators_remove_others_posts_and_members_audited(node, people):
    ada, bea, cyd = people["ada"], people["bea"], people["cyd"]
    await make_circle(node, ada)
    for token in (bea, cyd):
        await node.post(f"{CIRCLES}/rue_verte/join", headers=bearer(token))
    cyds = await (await post(node, cyd, "Selling my bike")).json()
    resp = await node.delete(f"{CIRCLES}/rue_verte/posts/{cyds['id']}", headers=bearer(bea))
    await error_of(resp, 403, "forbidden")
    resp = await node.delete(
        f"{CIRCLES}/rue_verte/posts/{cyds['id']}", json={"reason": "off topic"}, headers=bearer(ada)
    )
    assert resp.status == 204, await resp.text()
    assert await (await node.get(f"{CIRCLES}/rue_verte/posts", headers=bearer(bea))).json() == []
    members = await (await node.get(f"{CIRCLES}/rue_verte/members", headers=bearer(ada))).json()
    [cyd_row] = [m for m in members if m["actor"].endswith("/cyd")]
    resp = await node.delete(f"{CIRCLES}/rue_verte/members/{cyd_row['id']}", headers=bearer(bea))
    await error_of(resp, 403, "forbidden")
    resp = await node.delete(f"{CIRCLES}/rue_verte/members/{cyd_row['id']}", headers=bearer(ada))
    assert resp.status == 204
    await error_of(await post(node, cyd, "still here?"), 403, "forbidden")
    with activated(node.app[DATABASE]):
        actions = await AuditEntry.all().order_by("id").values_list("action", "target")
    assert ("circle.remove_post", cyds["url"]) in actions
    assert ("circle.remove_member", f"{NODE}/users/cyd") in actions


async def test_a_follower_on_another_server_gets_announces_in_the_fep_1b12_shape(
    node, people, clock, remote
):
    ada, bea = people["ada"], people["bea"]
    await make_circle(node, ada)
    await node.post(f"{CIRCLES}/rue_verte/join", headers=bearer(bea))
    alice = remote.add("alice")
    activity = follow(alice, target=GROUP)
    assert (
        await deliver(node, clock, alice, activity, path="/groups/rue_verte/inbox")
    ).status == 202
    await worker_round(node)
    await deliver_all(node)
    [(_, accept)] = remote.delivered
    assert (accept["type"], accept["actor"]) == ("Accept", GROUP)

    created = await (await post(node, bea, "Bins go out on Tuesday")).json()
    await deliver_all(node)
    [(path, announce)] = remote.delivered[1:]
    assert path == "/inbox"  # her server's shared inbox
    assert (announce["type"], announce["actor"], announce["audience"]) == ("Announce", GROUP, GROUP)
    inner = announce["object"]
    assert (inner["type"], inner["actor"], inner["audience"]) == (
        "Create",
        f"{NODE}/users/bea",
        GROUP,
    )
    assert inner["object"]["id"] == created["url"]
    assert inner["object"]["audience"] == GROUP
    assert inner["object"]["attributedTo"] == f"{NODE}/users/bea"
    assert GROUP in inner["to"]
    assert f"{GROUP}/followers" in inner["cc"]

    # A follower is not a member: a Create she addresses to the circle is not announced.
    note = {
        "id": f"{alice.base}/notes/1",
        "type": "Note",
        "attributedTo": alice.id,
        "content": "Buy my stuff",
        "audience": GROUP,
        "to": [GROUP],
    }
    create = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.base}/notes/1/activity",
        "type": "Create",
        "actor": alice.id,
        "object": note,
        "to": [GROUP],
    }
    assert (await deliver(node, clock, alice, create)).status == 202
    await worker_round(node)
    await deliver_all(node)
    assert len(remote.delivered) == 2
    with activated(node.app[DATABASE]):
        assert not await CirclePost.exists(ap_id=note["id"])


def note_create(actor, n: int, text: str, to: list[str]) -> dict[str, Any]:
    note = {
        "id": f"{actor.base}/notes/{n}",
        "type": "Note",
        "attributedTo": actor.id,
        "content": text,
        "audience": GROUP,
        "to": to,
    }
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note['id']}/activity",
        "type": "Create",
        "actor": actor.id,
        "object": note,
        "to": to,
    }


async def test_a_remote_member_posts_deletes_and_leaves(node, people, clock, remote):
    """An invited member on another server: their post is stored (sanitised) and announced
    to the members' servers; their Delete removes it (announced too); their Undo ends it."""
    ada, bea = people["ada"], people["bea"]
    await make_circle(node, ada, join_policy="managed")
    await node.post(f"{CIRCLES}/rue_verte/members", json={"actor": "bea"}, headers=bearer(ada))
    alice = remote.add("alice")
    await node.post(f"{CIRCLES}/rue_verte/members", json={"actor": alice.id}, headers=bearer(ada))
    joined = follow(alice, target=GROUP)
    assert (await deliver(node, clock, alice, joined)).status == 202
    await worker_round(node)
    await deliver_all(node)
    assert remote.delivered[-1][1]["type"] == "Accept"

    create = note_create(alice, 1, "<p>Hi <script>alert(1)</script><b>all</b></p>", [GROUP])
    assert (await deliver(node, clock, alice, create)).status == 202
    await worker_round(node)
    await deliver_all(node)
    [seen] = await (await node.get(f"{CIRCLES}/rue_verte/posts", headers=bearer(bea))).json()
    assert seen["content"] == "<p>Hi <b>all</b></p>"
    assert seen["author"] == alice.id
    announce = remote.delivered[-1][1]
    assert announce["type"] == "Announce"
    assert announce["object"] == {k: v for k, v in create.items() if k != "@context"}

    delete = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.base}/notes/1/delete",
        "type": "Delete",
        "actor": alice.id,
        "object": create["object"]["id"],
    }
    assert (await deliver(node, clock, alice, delete)).status == 202
    await worker_round(node)
    await deliver_all(node)
    assert await (await node.get(f"{CIRCLES}/rue_verte/posts", headers=bearer(bea))).json() == []
    assert remote.delivered[-1][1]["object"]["type"] == "Delete"

    undo = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.base}/activities/undo-1",
        "type": "Undo",
        "actor": alice.id,
        "object": joined,
    }
    assert (await deliver(node, clock, alice, undo)).status == 202
    await worker_round(node)
    members = await (await node.get(f"{CIRCLES}/rue_verte/members", headers=bearer(ada))).json()
    assert alice.id not in [m["actor"] for m in members]
    # No longer a member: a new post is neither stored nor announced.
    sent = len(remote.delivered)
    assert (await deliver(node, clock, alice, note_create(alice, 2, "back", [GROUP]))).status == 202
    await worker_round(node)
    await deliver_all(node)
    assert len(remote.delivered) == sent
    assert await (await node.get(f"{CIRCLES}/rue_verte/posts", headers=bearer(bea))).json() == []


async def test_a_listing_for_a_circle_is_seen_by_its_members_only(node, people):
    ada, bea, cyd = people["ada"], people["bea"], people["cyd"]
    await make_circle(node, ada)
    await node.post(f"{CIRCLES}/rue_verte/join", headers=bearer(bea))
    drill = {"kind": "give", "title": "Ladder", "category": "tools", "circle": "rue_verte"}
    resp = await node.post("/api/quartier/v1/listings", json=drill, headers=bearer(bea))
    assert resp.status == 201, await resp.text()
    listing = await resp.json()
    assert (listing["circle"], listing["audience"]) == (GROUP, "node")
    for token, seen in ((ada, True), (bea, True), (cyd, False)):
        found = await (
            await node.get("/api/quartier/v1/listings?q=ladder", headers=bearer(token))
        ).json()
        assert [x["id"] for x in found["listings"]] == ([listing["id"]] if seen else [])
    await error_of(
        await node.get(f"/api/quartier/v1/listings/{listing['id']}", headers=bearer(cyd)),
        404,
        "not_found",
    )
    # Only members address listings to a circle, which stay on this node.
    resp = await node.post("/api/quartier/v1/listings", json=drill, headers=bearer(cyd))
    await error_of(resp, 403, "forbidden")
    resp = await node.post(
        "/api/quartier/v1/listings", json={**drill, "audience": "public"}, headers=bearer(bea)
    )
    await error_of(resp, 422, "validation_failed")
    resp = await node.post(
        "/api/quartier/v1/listings", json={**drill, "circle": "nowhere"}, headers=bearer(bea)
    )
    await error_of(resp, 422, "validation_failed")


async def test_the_communitys_filters_apply_to_circle_posts(node, people, clock, remote):
    ada, bea = people["ada"], people["bea"]
    resp = await node.post(
        "/api/quartier/v1/moderation/filters",
        json={"phrase": "casino", "action": "hold"},
        headers=bearer(ada),
    )
    assert resp.status == 201, await resp.text()
    await make_circle(node, ada, join_policy="managed")
    await node.post(f"{CIRCLES}/rue_verte/members", json={"actor": "bea"}, headers=bearer(ada))
    await error_of(await post(node, bea, "Best casino in town"), 422, "validation_failed")
    links = " ".join(f"https://spam.example/{n}" for n in range(30))
    await error_of(await post(node, bea, links), 422, "validation_failed")
    # From a remote member: not stored, not announced.
    alice = remote.add("alice")
    await node.post(f"{CIRCLES}/rue_verte/members", json={"actor": alice.id}, headers=bearer(ada))
    assert (await deliver(node, clock, alice, follow(alice, target=GROUP))).status == 202
    await worker_round(node)
    await deliver_all(node)
    sent = len(remote.delivered)
    create = note_create(alice, 1, "<p>Visit my casino</p>", [GROUP])
    assert (await deliver(node, clock, alice, create)).status == 202
    await worker_round(node)
    await deliver_all(node)
    assert len(remote.delivered) == sent
    assert await (await node.get(f"{CIRCLES}/rue_verte/posts", headers=bearer(bea))).json() == []


async def test_a_members_circle_posts_are_in_their_export_and_go_with_their_account(node, people):
    ada, bea = people["ada"], people["bea"]
    await make_circle(node, ada)
    await node.post(f"{CIRCLES}/rue_verte/join", headers=bearer(bea))
    created = await (await post(node, bea, "Lost cat, grey")).json()
    archive = await archive_of(await node.get("/api/quartier/v1/me/export", headers=bearer(bea)))
    [exported] = part(archive, "circle_posts.json")
    assert (exported["ap_id"], exported["text"]) == (created["url"], "Lost cat, grey")
    [membership] = part(archive, "circles.json")
    assert membership["role"] == "member"
    resp = await node.post(
        "/api/quartier/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(bea)
    )
    assert resp.status == 200, await resp.text()
    assert await (await node.get(f"{CIRCLES}/rue_verte/posts", headers=bearer(ada))).json() == []
    members = await (await node.get(f"{CIRCLES}/rue_verte/members", headers=bearer(ada))).json()
    assert [m["actor"] for m in members] == [f"{NODE}/users/ada"]


async def test_a_moderator_appoints_another_among_this_nodes_members(node, people):
    ada, bea, cyd = people["ada"], people["bea"], people["cyd"]
    await make_circle(node, ada)
    for token in (bea, cyd):
        await node.post(f"{CIRCLES}/rue_verte/join", headers=bearer(token))
    members = await (await node.get(f"{CIRCLES}/rue_verte/members", headers=bearer(ada))).json()
    rows = {m["actor"].rsplit("/", 1)[1]: m["id"] for m in members}
    path = f"{CIRCLES}/rue_verte/members/{rows['bea']}"
    resp = await node.patch(path, json={"role": "moderator"}, headers=bearer(cyd))
    await error_of(resp, 403, "forbidden")
    resp = await node.patch(path, json={"role": "owner"}, headers=bearer(ada))
    await error_of(resp, 422, "validation_failed")
    resp = await node.patch(path, json={"role": "moderator"}, headers=bearer(ada))
    assert (await resp.json())["role"] == "moderator"
    cyds = await (await post(node, cyd, "Free piano")).json()
    resp = await node.delete(f"{CIRCLES}/rue_verte/posts/{cyds['id']}", headers=bearer(bea))
    assert resp.status == 204
    with activated(node.app[DATABASE]):
        actions = await AuditEntry.all().values_list("action", flat=True)
    assert {"circle.moderator", "circle.remove_post"} <= set(actions)


async def test_announces_of_a_joined_group_are_taken_only_for_posts_to_it(
    node, people, clock, remote
):
    """A remote group a member here joined: its announced posts to it are shown; what it
    relays that is not addressed to it, or is a listing, or comes from a group nobody here
    joined, is not."""
    bea = people["bea"]
    club = remote.add("club")
    with activated(node.app[DATABASE]):
        await Follow.create(
            follower=f"{NODE}/users/bea",
            followee=club.id,
            activity_id=f"{NODE}/users/bea/follows/1",
            activity={},
            state=FollowState.ACCEPTED,
            created_at=clock(),
        )

    def announced(n: int, note_extra: dict[str, Any], by=club) -> dict[str, Any]:
        note = {
            "id": f"{club.base}/posts/{n}",
            "type": "Note",
            "attributedTo": club.base + "/users/zoe",
            "content": f"post {n}",
            **note_extra,
        }
        create = {
            "id": f"{note['id']}/create",
            "type": "Create",
            "actor": note["attributedTo"],
            "object": note,
        }
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{by.id}/announces/{n}",
            "type": "Announce",
            "actor": by.id,
            "object": create,
        }

    other = remote.add("other")
    for activity, signer in (
        (announced(1, {"audience": club.id}), club),
        (announced(2, {"to": ["https://www.w3.org/ns/activitystreams#Public"]}), club),
        (announced(3, {"audience": club.id, "publishes": {}, "purpose": "offer"}), club),
        (announced(4, {"audience": other.id}, by=other), other),
    ):
        assert (await deliver(node, clock, signer, activity)).status == 202
        await worker_round(node)
    seen = await (
        await node.get(f"/api/quartier/v1/me/circles/posts?circle={club.id}", headers=bearer(bea))
    ).json()
    assert [p["text"] for p in seen] == ["post 1"]
