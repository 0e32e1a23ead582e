"""Direct messages between members of two real nodes, and on one node."""

from __future__ import annotations

import json

from federation.models import Delivery
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer, error_of
from tests.integration.conftest import Peer, member, settle

PATH = "/api/quartier/v1/conversations"


async def conversations(peer: Peer, token: str) -> list[dict]:
    resp = await peer.client.get(PATH, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def messages(peer: Peer, token: str, cid: int) -> list[dict]:
    resp = await peer.client.get(f"{PATH}/{cid}", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_direct_messages_both_ways_between_two_nodes(peers):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    body = {"to": [b.handle("bob")], "text": "Hello Bob, can I borrow your <ladder>?"}
    resp = await a.client.post(PATH, json=body, headers=bearer(ada))
    assert resp.status == 201, await resp.text()
    a_cid = (await resp.json())["id"]
    await settle(a, b)

    [conv] = await conversations(b, bob)
    assert sorted(conv["participants"]) == sorted([a.actor("ada"), b.actor("bob")])
    assert conv["unread"] == 1
    [first] = await messages(b, bob, conv["id"])
    assert (first["author"], first["text"]) == (a.actor("ada"), body["text"])

    resp = await b.client.post(
        f"{PATH}/{conv['id']}/messages",
        json={"text": "Sure,\ncome by tonight."},
        headers=bearer(bob),
    )
    assert resp.status == 201
    await settle(a, b)
    texts = [m["text"] for m in await messages(a, ada, a_cid)]
    assert texts == [body["text"], "Sure,\ncome by tonight."]
    [mine] = await conversations(a, ada)
    assert mine["unread"] == 1
    assert (await a.client.post(f"{PATH}/{a_cid}/read", headers=bearer(ada))).status == 204
    assert (await conversations(a, ada))[0]["unread"] == 0
    # one conversation on each side, not one per message
    assert len(await conversations(b, bob)) == 1


async def test_neighbours_on_one_node_message_without_federation(peers):
    (a,) = [await peers("a")]
    ada, bea = await member(a, "ada"), await member(a, "bea")
    resp = await a.client.post(
        PATH, json={"to": [a.handle("bea")], "text": "Hi"}, headers=bearer(ada)
    )
    assert resp.status == 201
    [conv] = await conversations(a, bea)
    assert conv["last_message"]["text"] == "Hi"
    with activated(a.client.app[DATABASE]):
        assert await Delivery.all().count() == 0


async def test_outsiders_cannot_read_or_write_a_conversation_and_bad_input_is_refused(peers):
    (a,) = [await peers("a")]
    ada, cyd = await member(a, "ada"), await member(a, "cyd")
    await member(a, "bea")
    resp = await a.client.post(
        PATH, json={"to": [a.handle("bea")], "text": "Hi"}, headers=bearer(ada)
    )
    cid = (await resp.json())["id"]
    await error_of(await a.client.get(f"{PATH}/{cid}", headers=bearer(cyd)), 404, "not_found")
    resp = await a.client.post(
        f"{PATH}/{cid}/messages", json={"text": "me too"}, headers=bearer(cyd)
    )
    await error_of(resp, 404, "not_found")
    for body, status, code in [
        ({"to": [], "text": "x"}, 422, "validation_failed"),
        ({"to": [a.handle("bea")], "text": ""}, 422, "validation_failed"),
        ({"to": [a.handle("bea")], "text": "x" * 5001}, 422, "validation_failed"),
        ({"to": [a.handle("ada")], "text": "note to self"}, 400, "bad_request"),
        ({"to": [a.handle("nobody")], "text": "x"}, 404, "not_found"),
        ({"to": "bea", "text": "x"}, 422, "validation_failed"),
    ]:
        resp = await a.client.post(PATH, json=body, headers=bearer(ada))
        await error_of(resp, status, code)


async def outgoing(peer: Peer, kind: str) -> list[dict]:
    """The activities of type ``kind`` the node queued for delivery, one per activity."""
    with activated(peer.client.app[DATABASE]):
        rows = await Delivery.all().order_by("id")
    found: dict[str, dict] = {}
    for row in rows:
        body = json.loads(row.body)
        if body["type"] == kind:
            found.setdefault(body["id"], body)
    return list(found.values())


async def test_an_edit_and_a_deletion_reach_the_other_node(peers, clock):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    resp = await a.client.post(
        PATH, json={"to": [b.handle("bob")], "text": "Ladder tonight?"}, headers=bearer(ada)
    )
    a_cid = (await resp.json())["id"]
    await settle(a, b)
    [b_conv] = await conversations(b, bob)
    [mine] = await messages(a, ada, a_cid)

    clock.advance(minutes=5)
    resp = await a.client.patch(
        f"{PATH}/{a_cid}/messages/{mine['id']}",
        json={"text": "  Ladder tomorrow <b>instead</b>?  "},
        headers=bearer(ada),
    )
    assert resp.status == 200, await resp.text()
    edited = await resp.json()
    # trimmed like a new message; the edit time is shown, the message keeps its place
    assert edited["text"] == "Ladder tomorrow <b>instead</b>?"
    assert (edited["id"], edited["created_at"]) == (mine["id"], mine["created_at"])
    assert edited["edited_at"] == "2026-11-26T12:05:00Z"
    assert (await messages(a, ada, a_cid)) == [edited]
    await settle(a, b)
    [seen] = await messages(b, bob, b_conv["id"])
    assert seen["text"] == "Ladder tomorrow <b>instead</b>?"  # the HTML round trip keeps text
    assert seen["edited_at"] is not None
    assert not seen["deleted"]

    resp = await a.client.delete(f"{PATH}/{a_cid}/messages/{mine['id']}", headers=bearer(ada))
    assert resp.status == 204, await resp.text()
    await settle(a, b)
    # a tombstone on both nodes: in its place, without its text
    for peer, token, cid, mid in ((a, ada, a_cid, mine["id"]), (b, bob, b_conv["id"], seen["id"])):
        [gone] = await messages(peer, token, cid)
        assert (gone["id"], gone["text"], gone["deleted"]) == (mid, "", True)
    assert (await conversations(b, bob))[0]["last_message"] is None


async def test_update_and_delete_are_addressed_like_the_create_they_follow(peers):
    a, b, c = await peers("a"), await peers("b"), await peers("c")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await member(b, "bea")
    cyd = await member(c, "cyd")
    await member(a, "dan")
    to = [b.handle("bob"), b.handle("bea"), c.handle("cyd"), a.handle("dan")]
    resp = await a.client.post(
        PATH, json={"to": to, "text": "Who has a drill?"}, headers=bearer(ada)
    )
    cid = (await resp.json())["id"]
    await settle(a, b, c)
    [b_conv] = await conversations(b, bob)
    resp = await b.client.post(
        f"{PATH}/{b_conv['id']}/messages", json={"text": "Not me"}, headers=bearer(bob)
    )
    await settle(a, b, c)
    resp = await a.client.post(
        f"{PATH}/{cid}/messages", json={"text": "Anyone else?"}, headers=bearer(ada)
    )
    reply = await resp.json()
    await a.client.patch(
        f"{PATH}/{cid}/messages/{reply['id']}", json={"text": "Anyone?"}, headers=bearer(ada)
    )
    await a.client.delete(f"{PATH}/{cid}/messages/{reply['id']}", headers=bearer(ada))

    [_, create] = await outgoing(a, "Create")
    [update] = await outgoing(a, "Update")
    [delete] = await outgoing(a, "Delete")
    note = create["object"]
    with activated(a.client.app[DATABASE]):
        inboxes = {
            kind: sorted(d.inbox for d in await Delivery.filter(activity_id=activity["id"]))
            for kind, activity in (("create", create), ("update", update), ("delete", delete))
        }
    # once per server, to its shared inbox; the local participant needs no delivery
    assert inboxes["update"] == inboxes["delete"] == inboxes["create"]
    assert inboxes["create"] == sorted([f"{b.base}/inbox", f"{c.base}/inbox"])
    for activity in (update, delete):
        assert (activity["actor"], activity["to"], activity["cc"]) == (
            a.actor("ada"),
            create["to"],
            [],
        )
    assert sorted(create["to"]) == sorted(
        [b.actor("bob"), b.actor("bea"), c.actor("cyd"), a.actor("dan")]
    )
    assert update["id"].startswith(f"{note['id']}#updates/")
    edited = update["object"]
    # the edit names every recipient, like the note it replaces (GoToSocial needs the Mention)
    assert edited["content"].endswith(" Anyone?</p>")
    assert sorted(tag["href"] for tag in edited["tag"]) == sorted(create["to"])
    assert edited["tag"] == note["tag"]
    assert edited["updated"] == "2026-11-26T12:00:00Z"
    # the rest of the note is the note as created, the reply it answered included
    assert {k: v for k, v in edited.items() if k not in ("content", "updated")} == {
        k: v for k, v in note.items() if k != "content"
    }
    assert note["inReplyTo"].startswith(b.actor("bob") + "/messages/")
    assert delete == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note['id']}#delete",
        "type": "Delete",
        "actor": a.actor("ada"),
        "to": create["to"],
        "cc": [],
        "object": {"id": note["id"], "type": "Tombstone"},
    }
    await settle(a, b, c)
    texts = [m["text"] for m in await messages(b, bob, b_conv["id"])]
    assert texts == ["Who has a drill?", "Not me", ""]
    [c_conv] = await conversations(c, cyd)
    assert [m["deleted"] for m in await messages(c, cyd, c_conv["id"])] == [False, False, True]


async def test_a_local_participant_sees_the_edit_and_deletion_at_once(peers):
    (a,) = [await peers("a")]
    ada, bea = await member(a, "ada"), await member(a, "bea")
    resp = await a.client.post(
        PATH, json={"to": [a.handle("bea")], "text": "Hi"}, headers=bearer(ada)
    )
    cid = (await resp.json())["id"]
    [first] = await messages(a, bea, cid)
    resp = await a.client.patch(
        f"{PATH}/{cid}/messages/{first['id']}", json={"text": "Hello"}, headers=bearer(ada)
    )
    assert resp.status == 200
    [seen] = await messages(a, bea, cid)
    assert (seen["text"], seen["edited_at"]) == ("Hello", "2026-11-26T12:00:00Z")
    resp = await a.client.delete(f"{PATH}/{cid}/messages/{first['id']}", headers=bearer(ada))
    assert resp.status == 204
    [seen] = await messages(a, bea, cid)
    assert (seen["text"], seen["deleted"]) == ("", True)
    with activated(a.client.app[DATABASE]):
        assert await Delivery.all().count() == 0


async def test_a_member_cannot_edit_or_delete_the_copy_of_a_remote_members_message(peers):
    a, b = await peers("a"), await peers("b")
    ada, bob = await member(a, "ada"), await member(b, "bob")
    await a.client.post(PATH, json={"to": [b.handle("bob")], "text": "Mine"}, headers=bearer(ada))
    await settle(a, b)
    [conv] = await conversations(b, bob)
    [copy] = await messages(b, bob, conv["id"])
    resp = await b.client.patch(
        f"{PATH}/{conv['id']}/messages/{copy['id']}", json={"text": "Yours"}, headers=bearer(bob)
    )
    await error_of(resp, 403, "forbidden")
    resp = await b.client.delete(f"{PATH}/{conv['id']}/messages/{copy['id']}", headers=bearer(bob))
    await error_of(resp, 403, "forbidden")
    [still] = await messages(b, bob, conv["id"])
    assert (still["text"], still["deleted"]) == ("Mine", False)
    with activated(b.client.app[DATABASE]):
        assert await Delivery.all().count() == 0  # and nothing was sent to ada's node
