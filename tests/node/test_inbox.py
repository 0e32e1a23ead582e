"""Inbox deliveries from a remote server, end to end over real HTTP.

The remote server is a real aiohttp application on 127.0.0.1 publishing actor documents with
keys the test holds (other fediverse software is the outside world we cannot run here). The
node runs with ``federation.local_testing`` so it may fetch from loopback over http.
"""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from activitypub.keys import ed25519_to_multibase
from activitypub.proofs import create_proof
from activitypub.signatures import sign_request
from federation.dispatch import InboundActivity
from federation.models import Delivery, DeliveryState, InboundMessage, InboundState, Partnership
from federation.models import RemoteActor as RemoteActorRow
from node.conversations.models import Message
from node.db import activated
from node.http.keys import DATABASE, DELIVERY_WORKER, DISPATCHER, INBOUND_WORKER, INBOX_LOAD
from tests.api import bearer, bootstrap_invite, error_of, login, register

pytestmark = pytest.mark.local_testing

NODE = "http://127.0.0.1:8080"  # the test node's base_url (make_settings)
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@dataclass
class RemoteActor:
    """An actor on the fake remote server, with keys the test can sign with."""

    name: str
    base: str = ""
    rsa_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    ed_key: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)
    shared_inbox: bool = True  # GoToSocial, for one, publishes personal inboxes only

    @property
    def id(self) -> str:
        return f"{self.base}/users/{self.name}"

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"

    def document(self) -> dict[str, Any]:
        pem = self.rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": self.name,
            "inbox": f"{self.id}/inbox",
            **({"endpoints": {"sharedInbox": f"{self.base}/inbox"}} if self.shared_inbox else {}),
            "publicKey": {"id": self.key_id, "owner": self.id, "publicKeyPem": pem.decode()},
            "assertionMethod": [
                {
                    "id": f"{self.id}#ed25519-key",
                    "type": "Multikey",
                    "controller": self.id,
                    "publicKeyMultibase": ed25519_to_multibase(self.ed_key.public_key()),
                }
            ],
        }


class Remote:
    """The fake remote server and its actors."""

    def __init__(self) -> None:
        self.actors: dict[str, RemoteActor] = {}
        self.base = ""
        self.fetches = 0
        self.fetch_headers: list[dict[str, str]] = []
        self.inbox_status = 202  # what its inboxes answer to deliveries
        self.delivered: list[tuple[str, dict[str, Any]]] = []

    def add(self, name: str, *, shared_inbox: bool = True) -> RemoteActor:
        actor = RemoteActor(name, self.base, shared_inbox=shared_inbox)
        self.actors[name] = actor
        return actor

    async def receive(self, request: web.Request) -> web.Response:
        self.delivered.append((request.path, await request.json()))
        return web.Response(status=self.inbox_status)

    async def serve_actor(self, request: web.Request) -> web.Response:
        self.fetches += 1
        self.fetch_headers.append(dict(request.headers))
        actor = self.actors.get(request.match_info["name"])
        if actor is None:
            raise web.HTTPNotFound()
        return web.json_response(actor.document(), content_type="application/activity+json")


async def start_remote(aiohttp_server) -> Remote:
    """A fake remote server on 127.0.0.1 (its own port, so its own host for blocks)."""
    remote = Remote()
    app = web.Application()
    app.router.add_get("/users/{name}", remote.serve_actor)
    app.router.add_post("/users/{name}/inbox", remote.receive)
    app.router.add_post("/inbox", remote.receive)
    server = await aiohttp_server(app)
    remote.base = f"http://127.0.0.1:{server.port}"
    return remote


def follow(actor: RemoteActor, n: int = 1, target: str = f"{NODE}/users/bob") -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.base}/activities/{n}",
        "type": "Follow",
        "actor": actor.id,
        "object": target,
    }


async def deliver(
    node,
    clock,
    signer: RemoteActor | None,
    activity: Any,
    *,
    path: str = "/inbox",
    body: bytes | None = None,
    age: timedelta = timedelta(0),
    key: rsa.RSAPrivateKey | None = None,
):
    """POST an activity to the node, signed by ``signer`` (unless None) at clock time - age."""
    raw = body if body is not None else json.dumps(activity).encode()
    headers = {"Content-Type": "application/activity+json"}
    if signer is not None:
        headers |= sign_request(
            "POST", f"{NODE}{path}", raw, signer.key_id, key or signer.rsa_key, clock.now - age
        )
    # BytesIO: aiohttp warns about (and the suite turns into errors) large raw-bytes bodies.
    return await node.post(path, data=io.BytesIO(raw), headers=headers)


async def stored(node) -> list[InboundMessage]:
    with activated(node.app[DATABASE]):
        return await InboundMessage.all().order_by("id")


async def test_a_signed_follow_is_stored_then_answered_202(node, clock, remote):
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    resp = await deliver(node, clock, alice, follow(alice), path="/users/bob/inbox")
    assert resp.status == 202, await resp.text()
    [message] = await stored(node)
    assert (message.actor, message.activity_type) == (alice.id, "Follow")
    assert message.recipient == f"{NODE}/users/bob"
    assert message.body["object"] == f"{NODE}/users/bob"


async def test_a_replayed_activity_is_accepted_once(node, clock, remote):
    alice = remote.add("alice")
    for _ in range(3):
        resp = await deliver(node, clock, alice, follow(alice))
        assert resp.status == 202
    assert len(await stored(node)) == 1


async def test_the_actor_document_is_cached_between_deliveries(node, clock, remote):
    alice = remote.add("alice")
    for n in range(3):
        assert (await deliver(node, clock, alice, follow(alice, n))).status == 202
    assert remote.fetches == 1


async def test_a_rotated_key_is_refetched_once(node, clock, remote):
    alice = remote.add("alice")
    assert (await deliver(node, clock, alice, follow(alice, 1))).status == 202
    alice.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    clock.advance(minutes=2)  # refreshes are at most one a minute per actor
    resp = await deliver(node, clock, alice, follow(alice, 2))
    assert resp.status == 202, await resp.text()
    assert remote.fetches == 2


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unsigned", 401),
        ("other key", 401),
        ("body altered", 401),
        ("two hours old", 401),
        ("two hours ahead", 401),
        ("signed by another actor", 401),
        ("id on another host", 403),
    ],
)
async def test_deliveries_that_cannot_be_trusted_are_refused_and_not_stored(
    node, clock, remote, case, status
):
    alice, mallory = remote.add("alice"), remote.add("mallory")
    activity = follow(alice)
    raw = json.dumps(activity).encode()
    if case == "unsigned":
        resp = await deliver(node, clock, None, activity)
    elif case == "other key":
        resp = await deliver(node, clock, alice, activity, key=mallory.rsa_key)
    elif case == "body altered":
        headers = {"Content-Type": "application/activity+json"}
        headers |= sign_request(
            "POST", f"{NODE}/inbox", raw, alice.key_id, alice.rsa_key, clock.now
        )
        resp = await node.post("/inbox", data=raw.replace(b"Follow", b"Block "), headers=headers)
    elif case == "two hours old":
        resp = await deliver(node, clock, alice, activity, age=timedelta(hours=2, minutes=6))
    elif case == "two hours ahead":
        resp = await deliver(node, clock, alice, activity, age=-timedelta(hours=2))
    elif case == "signed by another actor":
        resp = await deliver(node, clock, mallory, activity)
    else:
        activity["id"] = "https://elsewhere.example/activities/1"
        resp = await deliver(node, clock, alice, activity)
    expected = {401: "unauthorized", 403: "forbidden"}[status]
    await error_of(resp, status, expected)
    assert await stored(node) == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "array"),
        (json.dumps({"id": None, "type": "Follow", "actor": "x"}).encode(), "id null"),
        (json.dumps({"type": "Follow"}).encode(), "no id"),
        (
            json.dumps(
                {"id": "https://a.example/1", "type": 7, "actor": "https://a.example/u"}
            ).encode(),
            "type not a string",
        ),
        (
            json.dumps({"id": "https://a.example/1", "type": "Follow", "actor": ["x"]}).encode(),
            "actor a list",
        ),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "nested 40 deep"),
    ],
)
async def test_malformed_deliveries_get_400(node, clock, remote, body, why):
    alice = remote.add("alice")
    resp = await deliver(node, clock, alice, None, body=body)
    await error_of(resp, 400, "bad_request")
    assert await stored(node) == []


async def test_unknown_recipient_wrong_type_and_oversized_body(node, clock, remote):
    alice = remote.add("alice")
    resp = await deliver(node, clock, alice, follow(alice), path="/users/nobody/inbox")
    await error_of(resp, 404, "not_found")
    resp = await node.post("/inbox", data=b"{}", headers={"Content-Type": "text/plain"})
    await error_of(resp, 415, "unsupported_media_type")
    big = json.dumps({**follow(alice), "content": "x" * 10_000_000}).encode()
    resp = await deliver(node, clock, alice, None, body=big)
    await error_of(resp, 413, "payload_too_large")
    assert await stored(node) == []


async def test_a_key_on_a_private_address_is_not_fetched_without_local_testing(
    make_settings, make_node, clock, remote
):
    node = await make_node(make_settings())
    alice = remote.add("alice")
    resp = await deliver(node, clock, alice, follow(alice))
    await error_of(resp, 401, "unauthorized")
    assert remote.fetches == 0


async def test_a_relayed_activity_with_the_actors_proof_is_accepted(node, clock, remote):
    alice, relay = remote.add("alice"), remote.add("relay")
    signed = create_proof(follow(alice), alice.ed_key, f"{alice.id}#ed25519-key", clock.now)
    resp = await deliver(node, clock, relay, signed)
    assert resp.status == 202, await resp.text()
    [message] = await stored(node)
    assert message.actor == alice.id


async def test_a_relayed_activity_with_a_forged_proof_is_refused(node, clock, remote):
    alice, relay = remote.add("alice"), remote.add("relay")
    signed = create_proof(follow(alice), relay.ed_key, f"{alice.id}#ed25519-key", clock.now)
    resp = await deliver(node, clock, relay, signed)
    await error_of(resp, 401, "unauthorized")


async def test_the_worker_hands_a_stored_delivery_to_the_registered_handler(node, clock, remote):
    received: list[InboundActivity] = []

    async def on_like(activity: InboundActivity) -> None:
        received.append(activity)

    node.app[DISPATCHER].register("Like", on_like)
    alice = remote.add("alice")
    like = {**follow(alice), "type": "Like", "object": f"{NODE}/notes/1"}
    assert (await deliver(node, clock, alice, like)).status == 202
    with activated(node.app[DATABASE]):
        assert await node.app[INBOUND_WORKER].run_once() == 1
    assert [(a.actor, a.activity_type) for a in received] == [(alice.id, "Like")]
    [message] = await stored(node)
    assert message.state == InboundState.DONE


async def test_an_update_of_the_actor_refreshes_our_copy_of_its_document(node, clock, remote):
    alice = remote.add("alice")
    assert (await deliver(node, clock, alice, follow(alice, 1))).status == 202
    assert remote.fetches == 1
    update = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.id}#updates/1",
        "type": "Update",
        "actor": alice.id,
        "object": alice.document(),
    }
    clock.advance(minutes=2)  # re-fetches of one actor are at most one a minute
    assert (await deliver(node, clock, alice, update)).status == 202
    with activated(node.app[DATABASE]):
        await node.app[INBOUND_WORKER].run_once()
    assert remote.fetches == 2  # fetched again, the embedded copy is not trusted
    # an Update of someone else is ignored
    hijack = {
        **update,
        "id": f"{alice.id}#updates/2",
        "object": {"id": "https://x.example/u", "type": "Person"},
    }
    assert (await deliver(node, clock, alice, hijack)).status == 202
    with activated(node.app[DATABASE]):
        await node.app[INBOUND_WORKER].run_once()
    assert remote.fetches == 2
    row = (await stored(node))[-1]
    assert row.state == InboundState.IGNORED
    assert "an Update of another actor (an actor may update only itself)" in (
        row.last_error.split("; ")
    )


def note_activity(actor: RemoteActor, kind: str, n: int, content: str, to: list[str]) -> dict:
    note = {
        "id": f"{actor.base}/notes/{n}",
        "type": "Note",
        "attributedTo": actor.id,
        "to": to,
        "content": content,
    }
    if kind == "Delete":
        note = {"id": note["id"], "type": "Tombstone"}
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.id}/activities/{kind.lower()}/{n}",
        "type": kind,
        "actor": actor.id,
        "to": to,
        "object": note,
    }


async def test_direct_messages_from_another_server_are_stored_as_text_edited_and_deleted(
    node, clock, remote
):
    alice, mallory = remote.add("alice"), remote.add("mallory")
    await register(node, await bootstrap_invite(node), "bob")
    token = await login(node, "bob")
    bob = f"{NODE}/users/bob"
    hostile = '<p>Hi <script>alert("x")</script><b>Bob</b><br>see you</p>'
    steps = [
        (alice, note_activity(alice, "Create", 1, hostile, [bob])),
        (alice, note_activity(alice, "Create", 2, "<p>Public post</p>", [PUBLIC, bob])),
    ]
    for signer, activity in steps:
        assert (await deliver(node, clock, signer, activity)).status == 202
    with activated(node.app[DATABASE]):
        await node.app[INBOUND_WORKER].run_once()
    [conv] = await (await node.get("/api/quartier/v1/conversations", headers=bearer(token))).json()
    assert conv["last_message"]["text"] == "Hi Bob\nsee you"  # no markup, no script

    edits = [
        (
            mallory,
            note_activity(mallory, "Update", 1, "forged", [bob])
            | {"object": {**note_activity(alice, "Create", 1, "forged", [bob])["object"]}},
        ),
        (alice, note_activity(alice, "Update", 1, "<p>Hi Bob, edited</p>", [bob])),
    ]
    for signer, activity in edits:
        assert (await deliver(node, clock, signer, activity)).status in (202, 403)
    with activated(node.app[DATABASE]):
        await node.app[INBOUND_WORKER].run_once()
    [message] = await (
        await node.get(f"/api/quartier/v1/conversations/{conv['id']}", headers=bearer(token))
    ).json()
    assert (message["text"], message["edited_at"] is not None) == ("Hi Bob, edited", True)

    assert (
        await deliver(node, clock, alice, note_activity(alice, "Delete", 1, "", [bob]))
    ).status == 202
    with activated(node.app[DATABASE]):
        await node.app[INBOUND_WORKER].run_once()
    [message] = await (
        await node.get(f"/api/quartier/v1/conversations/{conv['id']}", headers=bearer(token))
    ).json()
    assert (message["deleted"], message["text"]) == (True, "")


async def test_the_nodes_own_fetches_are_signed_by_its_application_actor(node, clock, remote):
    alice = remote.add("alice")
    assert (await deliver(node, clock, alice, follow(alice))).status == 202
    [headers] = remote.fetch_headers
    assert f'keyId="{NODE}/actor#main-key"' in headers["Signature"]


async def test_a_private_message_is_served_only_to_signed_participants(node, clock, remote):
    alice, mallory = remote.add("alice"), remote.add("mallory")
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    body = {"to": [alice.id], "text": "Only for Alice"}
    resp = await node.post("/api/quartier/v1/conversations", json=body, headers=bearer(token))
    assert resp.status == 201, await resp.text()
    with activated(node.app[DATABASE]):
        [message] = await Message.all()
    path = message.ap_id.removeprefix(NODE)

    async def fetch(signer: RemoteActor | None):
        headers = {"Accept": "application/activity+json"}
        if signer is not None:
            headers |= sign_request(
                "GET", message.ap_id, None, signer.key_id, signer.rsa_key, clock.now
            )
        return await node.get(path, headers=headers)

    resp = await fetch(alice)
    assert resp.status == 200, await resp.text()
    note = await resp.json()
    assert (note["type"], note["to"], note["cc"]) == ("Note", [alice.id], [])
    assert note["content"].endswith("</span> Only for Alice</p>")
    handle = "@alice@" + alice.base.removeprefix("http://")
    assert note["tag"] == [{"type": "Mention", "href": alice.id, "name": handle}]
    await error_of(await fetch(None), 401, "unauthorized")
    await error_of(await fetch(mallory), 404, "not_found")


async def test_a_delivery_signed_for_another_server_cannot_be_replayed_here(node, clock, remote):
    alice = remote.add("alice")
    raw = json.dumps(follow(alice)).encode()
    # Signed (with its Host header) for other.example's inbox, then sent to us unchanged.
    headers = sign_request(
        "POST", "http://other.example/inbox", raw, alice.key_id, alice.rsa_key, clock.now
    )
    headers["Content-Type"] = "application/activity+json"
    resp = await node.post("/inbox", data=io.BytesIO(raw), headers=headers)
    await error_of(resp, 401, "unauthorized")
    assert await stored(node) == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"id": "http://[abc/x", "type": "Follow", "actor": "http://[abc/u"}', "bad URL"),
        (
            b'{"id": "https://a.example@b.example/1", "type": "Follow", '
            b'"actor": "https://a.example@b.example/u"}',
            "credentials in the URLs",
        ),
        (
            b'{"id": "https://a.example/1", "type": "Note\\u0000", "actor": "https://a.example/u"}',
            "NUL",
        ),
        (
            b'{"id": "https://a.example/1", "type": "Follow", '
            b'"actor": "https://a.example/u", "x": "\\ud800"}',
            "lone surrogate",
        ),
        (
            b'{"id": "https://a.example/1", "type": "Follow", '
            b'"actor": "https://a.example/u", "x": {"\\uDC00": 1}}',
            "lone surrogate, upper case, in a key",
        ),
        (
            b'{"id": "https://a.example/1", "type": "Follow", '
            b'"actor": "https://a.example/u", "x": [{"k\\u0000": 1}]}',
            "NUL in a key",
        ),
        (
            '{"id": "https://a.example/1", "type": "Follow", '
            '"actor": "https://a.example/u", "x": "\\u0000"}'.encode("utf-16"),
            "NUL in a UTF-16 body",
        ),
        (b'{"a":' + b"[" * 40 + b"1" + b"]" * 40 + b"}", "lists nested 40 deep"),
        (
            b'{"id": "https://a.example/1", "type": "Follow", '
            b'"actor": "https://a.example/u", "x": "\xed\xa0\x80"}',
            "a surrogate encoded as UTF-8 bytes (json.loads lets it through)",
        ),
        *(
            (
                b'{"id": "https://a.example/1", "type": "Follow", '
                b'"actor": "https://a.example/u", "x": ' + number + b"}",
                f"{number.decode()}: not JSON, though Python's parser takes it",
            )
            for number in (b"NaN", b"Infinity", b"-Infinity", b"1e400")
        ),
    ],
)
async def test_unstorable_or_unparseable_activities_get_400_not_500(node, clock, remote, body, why):
    alice = remote.add("alice")
    resp = await deliver(node, clock, alice, None, body=body)
    await error_of(resp, 400, "bad_request")


async def worker_round(node) -> None:
    with activated(node.app[DATABASE]):
        await node.app[INBOUND_WORKER].run_once()


async def test_knowing_a_conversations_context_is_not_enough_to_join_it(node, clock, remote):
    alice, mallory = remote.add("alice"), remote.add("mallory")
    await register(node, await bootstrap_invite(node), "bob")
    token = await login(node, "bob")
    bob = f"{NODE}/users/bob"
    first = note_activity(alice, "Create", 1, "<p>Private to Bob</p>", [bob])
    first["object"]["context"] = f"{alice.base}/contexts/secret"
    assert (await deliver(node, clock, alice, first)).status == 202
    intruder = note_activity(mallory, "Create", 2, "<p>Let me in</p>", [bob])
    intruder["id"] = f"{mallory.id}/activities/create/2"
    intruder["object"] |= {
        "id": f"{mallory.id}/notes/2",
        "attributedTo": mallory.id,
        "context": f"{alice.base}/contexts/secret",
    }
    assert (await deliver(node, clock, mallory, intruder)).status == 202
    await worker_round(node)
    convs = await (await node.get("/api/quartier/v1/conversations", headers=bearer(token))).json()
    assert len(convs) == 2  # mallory started a conversation of its own
    by_author = {c["last_message"]["author"]: c for c in convs}
    assert sorted(by_author[alice.id]["participants"]) == sorted([alice.id, bob])


async def test_followers_only_and_public_posts_are_not_direct_messages(node, clock, remote):
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    token = await login(node, "bob")
    bob = f"{NODE}/users/bob"
    followers_only = note_activity(
        alice, "Create", 1, "<p>to my followers, cc Bob</p>", [f"{alice.id}/followers", bob]
    )
    public = note_activity(alice, "Create", 2, "<p>Hello world</p>", [PUBLIC, bob])
    for activity in (followers_only, public):
        assert (await deliver(node, clock, alice, activity)).status == 202
    await worker_round(node)
    assert (
        await (await node.get("/api/quartier/v1/conversations", headers=bearer(token))).json() == []
    )


async def test_a_person_cannot_become_a_partner_node(node, clock, remote):
    alice = remote.add("alice")  # a Person
    request = {**follow(alice, 9, target=f"{NODE}/actor")}
    assert (await deliver(node, clock, alice, request, path="/actor/inbox")).status == 202
    await worker_round(node)
    with activated(node.app[DATABASE]):
        assert await Partnership.all().count() == 0


async def test_an_inbox_answering_410_forgets_its_account_and_its_follows(node, clock, remote):
    alice = remote.add("alice", shared_inbox=False)
    await register(node, await bootstrap_invite(node), "bob")
    token = await login(node, "bob")
    assert (await deliver(node, clock, alice, follow(alice), path="/users/bob/inbox")).status == 202
    with activated(node.app[DATABASE]):
        await node.app[INBOUND_WORKER].run_once()
    resp = await node.get("/api/quartier/v1/follow_requests", headers=bearer(token))
    [request] = await resp.json()
    remote.inbox_status = 410  # alice's account was deleted meanwhile
    resp = await node.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/accept", headers=bearer(token)
    )
    assert resp.status == 200, await resp.text()
    with activated(node.app[DATABASE]):
        assert await node.app[DELIVERY_WORKER].run_once() == 1
        [accept_row] = await Delivery.all()
        assert (accept_row.state, accept_row.last_status) == (DeliveryState.DEAD, 410)
        assert not await RemoteActorRow.exists(uri=alice.id)
    assert [path for path, _ in remote.delivered] == ["/users/alice/inbox"]
    resp = await node.get("/api/quartier/v1/followers", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    assert await resp.json() == []


async def test_a_shared_inbox_answering_410_forgets_nobody(node, clock, remote):
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    token = await login(node, "bob")
    assert (await deliver(node, clock, alice, follow(alice), path="/users/bob/inbox")).status == 202
    with activated(node.app[DATABASE]):
        await node.app[INBOUND_WORKER].run_once()
    [request] = await (
        await node.get("/api/quartier/v1/follow_requests", headers=bearer(token))
    ).json()
    remote.inbox_status = 410
    await node.post(
        f"/api/quartier/v1/follow_requests/{request['id']}/accept", headers=bearer(token)
    )
    with activated(node.app[DATABASE]):
        await node.app[DELIVERY_WORKER].run_once()
        assert await RemoteActorRow.exists(uri=alice.id)
    assert [path for path, _ in remote.delivered] == ["/inbox"]
    followers = await (await node.get("/api/quartier/v1/followers", headers=bearer(token))).json()
    assert [f["follower"] for f in followers] == [alice.id]


async def test_a_fetched_message_is_the_note_as_delivered_with_its_edit(node, clock, remote):
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "ada")
    token = await login(node, "ada")
    body = {"to": [alice.id], "text": "Ladder on Friday?"}
    resp = await node.post("/api/quartier/v1/conversations", json=body, headers=bearer(token))
    assert resp.status == 201, await resp.text()
    conversation = await resp.json()
    resp = await node.post(
        f"/api/quartier/v1/conversations/{conversation['id']}/messages",
        json={"text": "Or Saturday?"},
        headers=bearer(token),
    )
    assert resp.status == 201, await resp.text()
    second = await resp.json()
    clock.advance(minutes=5)
    resp = await node.patch(
        f"/api/quartier/v1/conversations/{conversation['id']}/messages/{second['id']}",
        json={"text": "Or Sunday?"},
        headers=bearer(token),
    )
    assert resp.status == 200, await resp.text()
    with activated(node.app[DATABASE]):
        first, edited = await Message.all().order_by("id")
        await node.app[DELIVERY_WORKER].run_once()
    update = next(body for _, body in remote.delivered if body["type"] == "Update")
    headers = {"Accept": "application/activity+json"}
    headers |= sign_request("GET", edited.ap_id, None, alice.key_id, alice.rsa_key, clock.now)
    resp = await node.get(edited.ap_id.removeprefix(NODE), headers=headers)
    assert resp.status == 200, await resp.text()
    note = await resp.json()
    assert note["content"].endswith("</span> Or Sunday?</p>")
    assert note["inReplyTo"] == first.ap_id
    assert note["updated"] == update["object"]["updated"]
    # What a participant's server fetches is what we delivered.
    assert {k: v for k, v in note.items() if k != "@context"} == update["object"]


async def test_a_delivery_the_database_cannot_store_gets_503_so_the_sender_retries(
    node, clock, remote
):
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    with activated(node.app[DATABASE]):
        # A database that fails the write (as a full disk or a lost server would).
        await node.app[DATABASE].db().execute_script("DROP TABLE inbound_message")
    resp = await deliver(node, clock, alice, follow(alice))
    error = await error_of(resp, 503, "unavailable")
    assert error["message"] == "the activity could not be stored now; deliver it again later"
    assert resp.headers["Retry-After"] == "60"


async def test_escaped_emoji_are_stored_as_what_they_encode(node, clock, remote):
    # A surrogate *pair* escape is a valid character (Python's json.dumps writes emoji so).
    alice = remote.add("alice")
    await register(node, await bootstrap_invite(node), "bob")
    activity = follow(alice) | {"summary": "ladder \U0001fa9c"}
    raw = json.dumps(activity, ensure_ascii=True).encode()
    assert b"\\ud83e\\ude9c" in raw
    resp = await deliver(node, clock, alice, None, body=raw)
    assert resp.status == 202, await resp.text()
    [row] = await stored(node)
    assert row.body["summary"] == "ladder \U0001fa9c"


async def test_deliveries_arriving_together_are_stored_and_processed_while_the_worker_runs(
    node, clock, remote
):
    received: list[str] = []
    all_processed = asyncio.Event()

    async def on_like(activity: InboundActivity) -> None:
        received.append(activity.activity_id)
        if len(received) == 20:
            all_processed.set()

    node.app[DISPATCHER].register("Like", on_like)
    alice = remote.add("alice")
    likes = [{**follow(alice, n), "type": "Like", "object": f"{NODE}/notes/{n}"} for n in range(20)]
    stop = asyncio.Event()
    with activated(node.app[DATABASE]):  # the worker as `serve` runs it, beside the inbox
        running = asyncio.create_task(node.app[INBOUND_WORKER].run(stop, poll_interval=3600))
    answers = await asyncio.gather(
        *(deliver(node, clock, alice, like) for like in likes),
        deliver(node, clock, None, follow(alice, 99)),  # unsigned: refused
    )
    assert [resp.status for resp in answers] == [202] * 20 + [401]
    # Every request is counted out, refused ones too, or the worker would stay slowed down.
    assert node.app[INBOX_LOAD].in_flight == 0
    await asyncio.wait_for(all_processed.wait(), timeout=60)  # a hang guard, not a timing
    stop.set()
    await asyncio.wait_for(running, timeout=30)
    assert sorted(received) == sorted(like["id"] for like in likes)
    assert {message.state for message in await stored(node)} == {InboundState.DONE}
