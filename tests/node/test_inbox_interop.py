"""Deliveries shaped like those of Mastodon, GoToSocial, Pleroma, Akkoma, Misskey and Sharkey.

The shapes are the stored payloads under ``tests/data/payloads`` (their sources are in the README
there). Each test puts the software's actor document, with a key the test holds, on a fake remote
server on 127.0.0.1, rewrites the activity's hosts to that server (``https://<software>.example``)
and to the node (``https://quartier.example``), makes the activity's actor the published actor,
signs the delivery with the actor's key as that software names it, and posts it to a node running
with ``federation.local_testing``. Like tests/node/test_inbox.py, but with other software's
documents instead of our own.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from activitypub.signatures import sign_request
from federation.models import InboundMessage
from node.db import activated
from node.http.keys import DATABASE
from tests.api import bootstrap_invite, error_of, register

pytestmark = pytest.mark.local_testing

NODE = "http://127.0.0.1:8080"  # the test node's base_url (make_settings)
PAYLOADS = Path(__file__).resolve().parents[1] / "data" / "payloads"
PLACEHOLDER = "PLACEHOLDER"
OUR_PLACEHOLDER_HOST = "https://quartier.example"

# Every stored activity of other software, except the Mastodon actor Delete (its own tests
# below). ``forms/`` holds the legal forms of a note, not any one software's: see
# tests/node/test_note_forms.py.
ACTIVITIES = sorted(
    str(path.relative_to(PAYLOADS))
    for path in PAYLOADS.glob("*/*.json")
    if path.name not in ("actor.json", "main_key_stub.json", "delete_actor.json")
    and path.parent.name != "forms"
)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class ShapedRemote:
    """A fake remote server answering GETs with stored documents, or with an error status."""

    def __init__(self) -> None:
        self.base = ""
        self.documents: dict[str, tuple[int, Any]] = {}
        self.fetches: list[str] = []

    def publish(self, url: str, doc: Any, status: int = 200) -> None:
        self.documents[urlsplit(url).path] = (status, doc)

    async def serve(self, request: web.Request) -> web.Response:
        self.fetches.append(request.path)
        status, doc = self.documents.get(request.path, (404, {"error": "Record not found"}))
        return web.json_response(doc, status=status, content_type="application/activity+json")


@pytest.fixture
async def remote(aiohttp_server) -> ShapedRemote:
    remote = ShapedRemote()
    app = web.Application()
    app.router.add_get("/{tail:.*}", remote.serve)
    server = await aiohttp_server(app)
    remote.base = f"http://127.0.0.1:{server.port}"
    return remote


def software_of(relative: str) -> str:
    return relative.split("/", 1)[0]


def localised(relative: str, base: str) -> Any:
    """The stored document with its software's host replaced by ``base`` and ours by the node's."""
    text = (PAYLOADS / relative).read_text(encoding="utf-8")
    text = text.replace(f"https://{software_of(relative)}.example", base)
    text = text.replace(OUR_PLACEHOLDER_HOST, NODE)
    return json.loads(text)


def with_key(doc: dict[str, Any], private_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """A copy of ``doc`` whose placeholder PEM is the public half of ``private_key``."""
    doc = copy.deepcopy(doc)
    pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    placeholder = doc["publicKey"]["publicKeyPem"]
    assert PLACEHOLDER in placeholder
    trailing = placeholder[len(placeholder.rstrip("\n")) :]  # Pleroma/Akkoma: two newlines
    doc["publicKey"]["publicKeyPem"] = pem.rstrip("\n") + trailing
    return doc


def publish_actor(remote: ShapedRemote, software: str, private_key: rsa.RSAPrivateKey) -> dict:
    """Put the software's actor document (and GoToSocial's key stub) on the fake server."""
    actor = with_key(localised(f"{software}/actor.json", remote.base), private_key)
    remote.publish(actor["id"], actor)
    if software == "gotosocial":
        # GoToSocial's key id is <actor>/main-key, where it serves a stub: id, preferredUsername,
        # publicKey, type. No inbox (docs/federation/http_signatures.md).
        stub = with_key(localised("gotosocial/main_key_stub.json", remote.base), private_key)
        remote.publish(stub["publicKey"]["id"], stub)
    return actor


def as_actor(activity: dict[str, Any], actor_id: str) -> dict[str, Any]:
    """The activity with its actor (everywhere it occurs) replaced by ``actor_id``."""
    return json.loads(json.dumps(activity).replace(activity["actor"], actor_id))


async def deliver(node, clock, activity: Any, key_id: str, private_key, path: str = "/inbox"):
    body = json.dumps(activity).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_request("POST", f"{NODE}{path}", body, key_id, private_key, clock.now)
    return await node.post(path, data=io.BytesIO(body), headers=headers)


async def stored(node) -> list[InboundMessage]:
    with activated(node.app[DATABASE]):
        return await InboundMessage.all().order_by("id")


def test_the_payloads_cover_each_software_and_activity_type() -> None:
    found = {(software_of(r), json.loads((PAYLOADS / r).read_text())["type"]) for r in ACTIVITIES}
    for software in ("mastodon", "gotosocial", "pleroma", "misskey"):
        assert {(software, "Follow"), (software, "Create"), (software, "Accept")} <= found
    assert {("mastodon", "Update"), ("gotosocial", "Update"), ("mastodon", "Delete")} <= found
    assert {("mastodon", "Undo"), ("pleroma", "Undo"), ("misskey", "Undo")} <= found
    assert {("akkoma", "Create"), ("akkoma", "Undo"), ("sharkey", "Follow")} <= found


@pytest.mark.parametrize("relative", ACTIVITIES)
async def test_a_signed_activity_of_each_shape_is_stored_once(node, clock, remote, key, relative):
    software = software_of(relative)
    actor = publish_actor(remote, software, key)
    activity = as_actor(localised(relative, remote.base), actor["id"])
    assert urlsplit(activity["id"]).netloc == urlsplit(remote.base).netloc

    resp = await deliver(node, clock, activity, actor["publicKey"]["id"], key)

    assert resp.status == 202, await resp.text()
    [message] = await stored(node)
    assert (message.actor, message.activity_type) == (actor["id"], activity["type"])
    assert message.activity_id == activity["id"]
    assert message.recipient is None  # the shared inbox
    assert message.body == activity


async def test_a_mastodon_follow_to_a_members_inbox_names_the_recipient(node, clock, remote, key):
    await register(node, await bootstrap_invite(node), "bob")
    actor = publish_actor(remote, "mastodon", key)
    activity = as_actor(localised("mastodon/follow.json", remote.base), actor["id"])
    assert activity["object"] == f"{NODE}/users/bob"

    resp = await deliver(
        node, clock, activity, actor["publicKey"]["id"], key, path="/users/bob/inbox"
    )

    assert resp.status == 202, await resp.text()
    [message] = await stored(node)
    assert message.recipient == f"{NODE}/users/bob"


async def test_a_replayed_misskey_undo_is_stored_once(node, clock, remote, key):
    actor = publish_actor(remote, "misskey", key)
    activity = as_actor(localised("misskey/undo_follow.json", remote.base), actor["id"])
    for _ in range(2):
        resp = await deliver(node, clock, activity, actor["publicKey"]["id"], key)
        assert resp.status == 202, await resp.text()
    assert len(await stored(node)) == 1


async def test_a_mastodon_actor_delete_whose_actor_is_gone_is_accepted_and_dropped(
    node, clock, remote, key
):
    # Mastodon deletes the account, then delivers Delete{object: actor} signed by that actor's
    # key; the actor document then answers 410 Gone, so the key cannot be fetched any more.
    # We never knew this actor (nothing cached), so there is nothing of theirs to delete: the
    # node answers 202 and stores nothing, rather than 401 which makes Mastodon retry for days.
    # Nothing is acted upon, so an unverifiable Delete gains an attacker nothing.
    actor = publish_actor(remote, "mastodon", key)
    remote.publish(actor["id"], {"error": "Gone"}, status=410)
    activity = as_actor(localised("mastodon/delete_actor.json", remote.base), actor["id"])
    assert activity["object"] == activity["actor"] == actor["id"]

    resp = await deliver(node, clock, activity, actor["publicKey"]["id"], key)

    assert resp.status == 202, await resp.text()
    assert await stored(node) == []
    assert urlsplit(actor["id"]).path in remote.fetches


async def test_a_mastodon_actor_delete_is_accepted_while_the_key_is_cached(
    node, clock, remote, key
):
    # The same Delete, but the node fetched the actor earlier (a Create), so the key is cached.
    actor = publish_actor(remote, "mastodon", key)
    create = as_actor(localised("mastodon/create_note.json", remote.base), actor["id"])
    assert (await deliver(node, clock, create, actor["publicKey"]["id"], key)).status == 202
    remote.publish(actor["id"], {"error": "Gone"}, status=410)
    delete = as_actor(localised("mastodon/delete_actor.json", remote.base), actor["id"])

    resp = await deliver(node, clock, delete, actor["publicKey"]["id"], key)

    assert resp.status == 202, await resp.text()
    assert [m.activity_type for m in await stored(node)] == ["Create", "Delete"]


@pytest.mark.parametrize(
    "actor_type",
    [{"@id": "Person"}, [{"@id": "as:Person"}]],
    ids=["object", "list-of-object"],
)
async def test_a_hostile_actor_type_is_a_401_not_a_500(node, clock, remote, key, actor_type):
    # A remote server can publish any JSON as its actor's type; the node must refuse the
    # delivery as unverifiable, not crash while parsing the document.
    actor = publish_actor(remote, "mastodon", key)
    remote.publish(actor["id"], {**actor, "type": actor_type})
    activity = as_actor(localised("mastodon/follow.json", remote.base), actor["id"])

    resp = await deliver(node, clock, activity, actor["publicKey"]["id"], key)

    await error_of(resp, 401, "unauthorized")
    assert await stored(node) == []


async def test_a_malformed_inbox_url_is_a_401_not_a_500(node, clock, remote, key):
    actor = publish_actor(remote, "mastodon", key)
    remote.publish(actor["id"], {**actor, "inbox": "http://[127.0.0.1/inbox"})
    activity = as_actor(localised("mastodon/follow.json", remote.base), actor["id"])

    resp = await deliver(node, clock, activity, actor["publicKey"]["id"], key)

    await error_of(resp, 401, "unauthorized")
    assert await stored(node) == []
