"""Direct messages between members of two real nodes, and on one node."""

from __future__ import annotations

from federation.models import Delivery
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer, bootstrap_invite, error_of, login, register
from tests.integration.conftest import Peer, settle

PATH = "/api/v1/conversations"


async def member(peer: Peer, username: str) -> str:
    await register(peer.client, await bootstrap_invite(peer.client), username)
    return await login(peer.client, username)


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
