"""Which conversation a received note joins, whatever order the notes arrive in.

Servers name a thread by ``context`` (ActivityStreams), by ``conversation`` (Mastodon's OStatus
tag), or not at all (GoToSocial: only ``inReplyTo``). Notes queued during an outage arrive in
any order; each must still land in one conversation, read in the order it was written.
"""

from __future__ import annotations

import random

import pytest

from federation.models import InboundMessage, InboundState
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bearer, bootstrap_invite, login, member_token, register
from tests.node.test_inbox import NODE, deliver, note_activity, start_remote, worker_round

pytestmark = pytest.mark.local_testing

BOB = f"{NODE}/users/bob"


def note(actor, n: int, *, minute: int, reply_to: int | None = None, **extra) -> dict:
    activity = note_activity(actor, "Create", n, f"<p>message {n}</p>", [BOB])
    activity["object"]["published"] = f"2026-11-26T11:{minute:02d}:00Z"
    if reply_to is not None:
        activity["object"]["inReplyTo"] = f"{actor.base}/notes/{reply_to}"
    activity["object"] |= extra
    return activity


async def bobs_conversations(node) -> list[tuple[int, list[str]]]:
    token = await login(node, "bob")
    convs = await (await node.get("/api/quartier/v1/conversations", headers=bearer(token))).json()
    found = []
    for conv in sorted(convs, key=lambda c: c["id"]):
        resp = await node.get(f"/api/quartier/v1/conversations/{conv['id']}", headers=bearer(token))
        found.append((conv["id"], [m["text"] for m in await resp.json()]))
    return found


async def receive_in_order(node, clock, actor, activities: list[dict]) -> None:
    """Deliver each activity and let the worker process it before the next arrives."""
    for activity in activities:
        assert (await deliver(node, clock, actor, activity)).status == 202
        await worker_round(node)


async def test_replies_with_a_context_arriving_in_any_order_make_one_conversation(
    node, clock, remote
):
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    context = f"{alice.base}/contexts/7"
    thread = [note(alice, 1, minute=0, context=context)]
    thread += [note(alice, n, minute=n, reply_to=n - 1, context=context) for n in range(2, 21)]
    random.Random(7).shuffle(thread)
    await receive_in_order(node, clock, alice, thread)
    [(_, texts)] = await bobs_conversations(node)
    assert texts == [f"message {n}" for n in range(1, 21)]  # as written, not as arrived


async def test_mastodons_conversation_tag_threads_like_a_context(node, clock, remote):
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    # Minted on the sender's domain (Mastodon's LOCAL_DOMAIN), as a real one is.
    tag = "tag:127.0.0.1,2026-11-26:objectId=42:objectType=Conversation"
    thread = [note(alice, n, minute=n, conversation=tag) for n in (3, 1, 2)]
    await receive_in_order(node, clock, alice, thread)
    [(_, texts)] = await bobs_conversations(node)
    assert texts == ["message 1", "message 2", "message 3"]


async def test_a_reply_that_arrives_before_its_parent_joins_it_when_it_comes(node, clock, remote):
    """GoToSocial names no thread: only inReplyTo links the notes."""
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    first, second, third = (
        note(alice, 1, minute=0),
        note(alice, 2, minute=1, reply_to=1),
        note(alice, 3, minute=2, reply_to=2),
    )
    await receive_in_order(node, clock, alice, [third, second])
    assert [texts for _, texts in await bobs_conversations(node)] == [["message 2", "message 3"]]
    await receive_in_order(node, clock, alice, [first])
    [(_, texts)] = await bobs_conversations(node)
    assert texts == ["message 1", "message 2", "message 3"]


async def test_an_early_reply_from_someone_outside_the_thread_does_not_join_it(node, clock, remote):
    alice, mallory = remote.add("alice"), remote.add("mallory")
    await register(node, await bootstrap_invite(node), "bob")
    intruder = note(mallory, 2, minute=1)
    intruder["object"]["inReplyTo"] = f"{alice.base}/notes/1"
    await receive_in_order(node, clock, mallory, [intruder])
    await receive_in_order(node, clock, alice, [note(alice, 1, minute=0)])
    threads = [texts for _, texts in await bobs_conversations(node)]
    assert sorted(threads) == [["message 1"], ["message 2"]]


async def test_a_late_parent_is_adopted_once_and_its_key_keeps_working(node, clock, remote):
    """After the merge, later notes naming the child's thread key land in the same place."""
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    early = note(alice, 2, minute=1, reply_to=1, context=f"{alice.base}/contexts/late")
    await receive_in_order(node, clock, alice, [early, note(alice, 1, minute=0)])
    later = note(alice, 3, minute=2, context=f"{alice.base}/contexts/late")
    await receive_in_order(node, clock, alice, [later])
    [(_, texts)] = await bobs_conversations(node)
    assert texts == ["message 1", "message 2", "message 3"]


async def test_a_note_published_in_the_future_is_placed_at_its_arrival(node, clock, remote):
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    context = f"{alice.base}/contexts/future"
    future = note(alice, 1, minute=0, context=context)
    future["object"]["published"] = "2999-01-01T00:00:00Z"
    await receive_in_order(node, clock, alice, [future, note(alice, 2, minute=5, context=context)])
    token = await login(node, "bob")
    [conv] = await (await node.get("/api/quartier/v1/conversations", headers=bearer(token))).json()
    resp = await node.get(f"/api/quartier/v1/conversations/{conv['id']}", headers=bearer(token))
    first, second = await resp.json()
    assert first["created_at"] == "2026-11-26T11:05:00Z"  # message 2, written before arrival
    assert second["created_at"] == clock.now.isoformat().replace("+00:00", "Z")


async def test_the_same_note_in_two_activities_is_stored_once_and_the_second_says_why(
    node, clock, remote
):
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    once = note(alice, 1, minute=0)
    again = note(alice, 1, minute=0)
    again["id"] += "/again"
    await receive_in_order(node, clock, alice, [once, again])
    [(_, texts)] = await bobs_conversations(node)
    assert texts == ["message 1"]
    with activated(node.app[DATABASE]):
        second = await InboundMessage.get(activity_id=again["id"])
    assert second.state == InboundState.IGNORED
    # the conversations' reason, among the other handlers' (listings look at notes too)
    assert "this note was received already" in second.last_error.split("; ")


async def test_another_servers_thread_key_cannot_be_taken_to_split_or_hijack_its_threads(
    node, clock, remote, aiohttp_server
):
    """Mallory (another server) names alice's server's thread first, and addresses alice too:
    alice's notes must still make one conversation of alice and bob, without mallory."""
    alice = remote.add("alice")
    elsewhere = await start_remote(aiohttp_server)
    mallory = elsewhere.add("mallory")
    await register(node, await bootstrap_invite(node), "bob")
    # (An http key: on loopback both servers share the host name a tag: URI would carry.)
    key = f"{alice.base}/contexts/43"
    grab = note(mallory, 1, minute=0, context=key)
    grab["object"]["to"] = grab["to"] = [BOB, alice.id]
    await receive_in_order(node, clock, mallory, [grab])
    thread = [note(alice, 1, minute=1, context=key)]
    thread += [note(alice, n, minute=n, reply_to=n - 1, context=key) for n in (2, 3)]
    await receive_in_order(node, clock, alice, thread)
    token = await login(node, "bob")
    convs = await (await node.get("/api/quartier/v1/conversations", headers=bearer(token))).json()
    by_author = {c["last_message"]["author"]: c for c in convs}
    assert sorted(by_author) == sorted([alice.id, mallory.id])
    assert sorted(by_author[alice.id]["participants"]) == sorted([alice.id, BOB])
    resp = await node.get(
        f"/api/quartier/v1/conversations/{by_author[alice.id]['id']}", headers=bearer(token)
    )
    assert [m["text"] for m in await resp.json()] == ["message 1", "message 2", "message 3"]


async def test_an_early_answer_addressed_to_fewer_people_stays_apart_from_the_thread(
    node, clock, remote, make_settings
):
    """A reply waiting for its parent joins the parent's conversation only with the same
    people: merged into a larger group, bob's private answer would be shown to carol."""
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    token = await login(node, "bob")
    carol = await member_token(node, token, "carol")
    carol_actor = f"{NODE}/users/carol"
    private = note(alice, 2, minute=1, reply_to=1)  # to bob alone, before its parent
    group = note(alice, 1, minute=0)
    group["object"]["to"] = group["to"] = [BOB, carol_actor]
    await receive_in_order(node, clock, alice, [private, group])
    convs = await (await node.get("/api/quartier/v1/conversations", headers=bearer(carol))).json()
    [only] = convs
    resp = await node.get(f"/api/quartier/v1/conversations/{only['id']}", headers=bearer(carol))
    assert [m["text"] for m in await resp.json()] == ["message 1"]
