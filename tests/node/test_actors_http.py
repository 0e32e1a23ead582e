"""Actor documents and collections over HTTP, as remote servers fetch them.

Remote servers verify the node's signatures with the keys published here, so the published keys
must be the public halves of the keys stored in the database; and what is published must never
include a private key or a member's real name.
"""

from __future__ import annotations

import pytest
from bovine.crypto.http_signature import HttpSignature
from bovine.crypto.multibase import multibase_decode
from bovine.crypto.types import CryptographicIdentifier, CryptographicSecret

from activitypub.keys import load_private_key
from activitypub.media_types import ACTIVITY_JSON
from node.actors.models import InstanceActor
from node.db import activated
from node.http.keys import DATABASE
from node.members.models import Member, Role
from tests.api import PASSWORD, bearer, bootstrap_invite, error_of, login, register

BASE = "http://127.0.0.1:8080"
BOB = f"{BASE}/users/bob"
AS_ACCEPT = {"Accept": ACTIVITY_JSON}
COLLECTIONS = ["outbox", "followers", "following"]


async def _add_member(node, username="bob", **profile):
    """Register a resident over HTTP with an invite made as 'quartier invite create' does."""
    await register(node, await bootstrap_invite(node, Role.RESIDENT), username, **profile)


async def _with_bob(node, **profile):
    """Register bob and log him in; returns his bearer token."""
    await _add_member(node, "bob", **profile)
    return await login(node, "bob")


async def _fetch(node, path):
    """GET an ActivityPub document as a remote server would; asserts it is activity+json."""
    resp = await node.get(path, headers=AS_ACCEPT)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == ACTIVITY_JSON
    return await resp.json()


def _signed_by_rsa(pem: str, key_id: str) -> tuple[str, str]:
    """A draft-cavage signing string and its rsa-sha256 signature made with ``pem``."""
    message = HttpSignature().with_field("(request-target)", "post /inbox")
    message = message.with_field("host", "remote.example").build_message()
    return message, CryptographicSecret.from_pem(key_id, pem).sign(message)


# Person


async def test_person_document_has_every_field_remote_servers_need(node):
    await _add_member(node, display_name="Bob (3B)")
    doc = await _fetch(node, "/users/bob")
    assert "https://www.w3.org/ns/activitystreams" in doc["@context"]
    assert doc["id"] == BOB
    assert doc["type"] == "Person"
    assert doc["preferredUsername"] == "bob"
    assert doc["name"] == "Bob (3B)"
    assert doc["url"] == BOB
    assert doc["inbox"] == f"{BOB}/inbox"
    assert doc["outbox"] == f"{BOB}/outbox"
    assert doc["followers"] == f"{BOB}/followers"
    assert doc["following"] == f"{BOB}/following"
    assert doc["endpoints"] == {"sharedInbox": f"{BASE}/inbox"}
    assert doc["manuallyApprovesFollowers"] is True
    assert doc["published"].endswith("Z")


async def test_person_publishes_an_rsa_key_and_a_multikey(node):
    await _add_member(node)
    doc = await _fetch(node, "/users/bob")
    key = doc["publicKey"]
    assert key["id"] == f"{BOB}#main-key"
    assert key["owner"] == BOB
    assert key["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    (multikey,) = doc["assertionMethod"]
    assert multikey["id"] == f"{BOB}#ed25519-key"
    assert multikey["type"] == "Multikey"
    assert multikey["controller"] == BOB
    assert multikey["publicKeyMultibase"].startswith("z6Mk")


async def test_each_member_has_their_own_keys(node):
    await _add_member(node, "ada")
    await _add_member(node, "bob")
    ada = await _fetch(node, "/users/ada")
    bob = await _fetch(node, "/users/bob")
    assert ada["publicKey"]["publicKeyPem"] != bob["publicKey"]["publicKeyPem"]
    ada_multikey, bob_multikey = ada["assertionMethod"][0], bob["assertionMethod"][0]
    assert ada_multikey["publicKeyMultibase"] != bob_multikey["publicKeyMultibase"]


async def test_bio_is_published_escaped(node):
    token = await _with_bob(node)
    bio = "<script>alert(1)</script>\nFlat 3B\n\nI lend drills & ladders"
    resp = await node.patch("/api/quartier/v1/me", json={"bio": bio}, headers=bearer(token))
    assert resp.status == 200
    doc = await _fetch(node, "/users/bob")
    assert "<script" not in doc["summary"]
    assert doc["summary"] == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;<br>Flat 3B</p><p>I lend drills &amp; ladders</p>"
    )


async def test_real_name_is_not_published(node):
    await _add_member(node, real_name="Roberta Zyxwvutsson", display_name="Bob (3B)")
    resp = await node.get("/users/bob", headers=AS_ACCEPT)
    text = await resp.text()
    assert "Zyxwvutsson" not in text
    assert (await resp.json())["name"] == "Bob (3B)"


async def test_real_name_change_is_not_published_but_display_name_change_is(node):
    token = await _with_bob(node, display_name="Bob")
    changes = {"real_name": "Roberta Zyxwvutsson", "display_name": "Bob from 3B"}
    resp = await node.patch("/api/quartier/v1/me", json=changes, headers=bearer(token))
    assert resp.status == 200
    resp = await node.get("/users/bob", headers=AS_ACCEPT)
    assert "Zyxwvutsson" not in await resp.text()
    assert (await resp.json())["name"] == "Bob from 3B"


# Keys: what remote servers verify against what the node signs with


async def _stored_member(node, username) -> Member:
    with activated(node.app[DATABASE]):
        return await Member.get(username=username)


async def _stored_instance_actor(node) -> InstanceActor:
    with activated(node.app[DATABASE]):
        actor = await InstanceActor.first()
    assert actor is not None
    return actor


async def test_published_rsa_key_verifies_signatures_made_with_the_stored_key(node):
    await _add_member(node)
    doc = await _fetch(node, "/users/bob")
    member = await _stored_member(node, "bob")
    message, signature = _signed_by_rsa(member.rsa_private_pem, doc["publicKey"]["id"])
    identity = CryptographicIdentifier.from_pem(
        doc["publicKey"]["publicKeyPem"], doc["publicKey"]["owner"]
    )
    assert identity.verify(message, signature) == BOB
    assert identity.verify(message + "x", signature) is None


async def test_published_rsa_key_rejects_another_members_signature(node):
    await _add_member(node, "ada")
    await _add_member(node, "bob")
    doc = await _fetch(node, "/users/bob")
    ada = await _stored_member(node, "ada")
    message, signature = _signed_by_rsa(ada.rsa_private_pem, doc["publicKey"]["id"])
    identity = CryptographicIdentifier.from_pem(doc["publicKey"]["publicKeyPem"], BOB)
    assert identity.verify(message, signature) is None


async def test_published_multikey_verifies_signatures_made_with_the_stored_key(node):
    await _add_member(node)
    doc = await _fetch(node, "/users/bob")
    member = await _stored_member(node, "bob")
    (multikey,) = doc["assertionMethod"]
    secret = CryptographicSecret(multikey["id"], load_private_key(member.ed25519_private_pem))
    signature = multibase_decode(secret.sign("an integrity proof"))
    identity = CryptographicIdentifier.from_multikey(multikey)
    assert identity.verify("an integrity proof", signature) == BOB
    assert identity.verify("another document", signature) is None


async def test_application_actor_keys_verify_signatures_made_with_the_stored_key(node):
    doc = await _fetch(node, "/actor")
    actor = await _stored_instance_actor(node)
    message, signature = _signed_by_rsa(actor.rsa_private_pem, doc["publicKey"]["id"])
    rsa_identity = CryptographicIdentifier.from_pem(doc["publicKey"]["publicKeyPem"], doc["id"])
    assert rsa_identity.verify(message, signature) == f"{BASE}/actor"
    (multikey,) = doc["assertionMethod"]
    secret = CryptographicSecret(multikey["id"], load_private_key(actor.ed25519_private_pem))
    ed_identity = CryptographicIdentifier.from_multikey(multikey)
    assert ed_identity.verify("proof", multibase_decode(secret.sign("proof"))) == doc["id"]


async def test_keys_are_stable_across_fetches(node):
    await _add_member(node)
    first = await _fetch(node, "/users/bob")
    second = await _fetch(node, "/users/bob")
    assert first["publicKey"] == second["publicKey"]
    assert first["assertionMethod"] == second["assertionMethod"]


async def test_no_published_document_contains_a_private_key(node):
    token = await _with_bob(node)
    secret_fragments = []
    for actor in (await _stored_member(node, "bob"), await _stored_instance_actor(node)):
        secret_fragments.append(actor.rsa_private_pem.splitlines()[2])
        secret_fragments.append(actor.ed25519_private_pem.splitlines()[1])
    public_paths = [
        "/users/bob",
        "/actor",
        *(f"/users/bob/{name}" for name in COLLECTIONS),
        *(f"/users/bob/{name}?page=1" for name in COLLECTIONS),
        *(f"/actor/{name}" for name in COLLECTIONS),
        "/users/bob/featured",
        "/actor/featured",
        "/.well-known/webfinger?resource=acct:bob@127.0.0.1:8080",
    ]
    responses = [await node.get(path, headers=AS_ACCEPT) for path in public_paths]
    responses.append(await node.get("/api/quartier/v1/me", headers=bearer(token)))
    responses.append(await node.get("/api/quartier/v1/members/bob", headers=bearer(token)))
    responses.append(
        await node.post("/api/quartier/v1/sessions", json={"username": "bob", "password": PASSWORD})
    )
    for resp in responses:
        assert resp.status in (200, 201), resp.url
        text = await resp.text()
        assert "PRIVATE KEY" not in text, resp.url
        for fragment in secret_fragments:
            assert fragment not in text, resp.url


# The Application actor


async def test_application_actor_describes_the_node(make_node, make_settings):
    community = {"name": "Les Tilleuls", "description": "Flats 1 to 120\n\nBe kind"}
    node = await make_node(make_settings(community=community))
    doc = await _fetch(node, "/actor")
    assert doc["id"] == f"{BASE}/actor"
    assert doc["type"] == "Application"
    assert doc["preferredUsername"] == "127.0.0.1"
    assert doc["name"] == "Les Tilleuls"
    assert doc["summary"] == "<p>Flats 1 to 120</p><p>Be kind</p>"
    assert doc["url"] == f"{BASE}/"
    assert doc["inbox"] == f"{BASE}/actor/inbox"
    assert doc["outbox"] == f"{BASE}/actor/outbox"
    assert doc["endpoints"] == {"sharedInbox": f"{BASE}/inbox"}
    assert doc["publicKey"]["id"] == f"{BASE}/actor#main-key"
    assert doc["publicKey"]["owner"] == f"{BASE}/actor"
    assert doc["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    (multikey,) = doc["assertionMethod"]
    assert multikey["type"] == "Multikey"
    assert multikey["controller"] == f"{BASE}/actor"


# Content negotiation

NEGOTIATED_PATHS = ["/users/bob", "/actor", "/users/bob/outbox", "/actor/followers"]


@pytest.mark.parametrize(
    "accept",
    [
        pytest.param(ACTIVITY_JSON, id="activity-json"),
        pytest.param(
            'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
            id="ld-json-as-profile",
        ),
        pytest.param("application/json", id="json"),
        pytest.param("*/*", id="anything"),
        pytest.param(None, id="no-accept"),
    ],
)
async def test_activity_document_for_every_accept_a_server_sends(node, accept):
    await _add_member(node)
    # aiohttp's client sends "Accept: */*" unless told not to: "no-accept" sends no header.
    if accept is None:
        options = {"skip_auto_headers": ["Accept"]}
    else:
        options = {"headers": {"Accept": accept}}
    for path in NEGOTIATED_PATHS:
        resp = await node.get(path, **options)
        assert resp.status == 200, path
        assert resp.content_type == ACTIVITY_JSON, path
        assert resp.charset == "utf-8", path
        assert "Accept" in resp.headers.get("Vary", ""), path
        assert (await resp.json())["id"] == f"{BASE}{path}"


@pytest.mark.parametrize(
    "accept",
    [
        "text/html",
        "text/html, application/xhtml+xml",
        'application/ld+json; profile="https://example.org/other"',
        "application/activity+json;q=0",
    ],
)
async def test_documents_refused_in_types_we_do_not_serve(node, accept):
    await _add_member(node)
    for path in NEGOTIATED_PATHS:
        resp = await node.get(path, headers={"Accept": accept})
        body = await error_of(resp, 406, "not_acceptable")
        assert "application/activity+json" in body["message"]


# Unknown actors and invalid paths


async def test_unknown_or_invalid_actor_paths_are_404(node):
    await _add_member(node)
    paths = [
        "/users/nobody",
        "/users/Bob",  # usernames are lower-case: no second URL for bob
        "/users/BOB",
        "/users/" + "b" * 31,  # longer than any username
        "/users/bob.smith",
        "/users/bob%20",
        "/users/",
        "/users/nobody/outbox",
        "/users/nobody/followers",
        "/users/nobody/featured",
        "/users/Bob/outbox",
        "/users/bob/likes",
        "/actor/likes",
    ]
    for path in paths:
        resp = await node.get(path, headers=AS_ACCEPT)
        assert resp.status == 404, path
        await error_of(resp, 404, "not_found")


# Collections


@pytest.mark.parametrize("owner", ["/users/bob", "/actor"])
async def test_collection_heads_are_empty_ordered_collections(node, owner):
    await _add_member(node)
    for name in COLLECTIONS:
        doc = await _fetch(node, f"{owner}/{name}")
        collection_id = f"{BASE}{owner}/{name}"
        assert doc["id"] == collection_id
        assert doc["type"] == "OrderedCollection"
        assert doc["totalItems"] == 0
        assert doc["first"] == f"{collection_id}?page=1"


@pytest.mark.parametrize("owner", ["/users/bob", "/actor"])
async def test_first_pages_are_empty_ordered_collection_pages(node, owner):
    await _add_member(node)
    for name in COLLECTIONS:
        head = await _fetch(node, f"{owner}/{name}")
        page = await _fetch(node, head["first"].removeprefix(BASE))
        assert page["id"] == head["first"]
        assert page["type"] == "OrderedCollectionPage"
        assert page["partOf"] == head["id"]
        assert page["orderedItems"] == []
        assert "next" not in page


async def test_actor_collections_are_the_ones_it_links(node):
    await _add_member(node)
    actor = await _fetch(node, "/users/bob")
    for name in COLLECTIONS:
        path = actor[name].removeprefix(BASE)
        assert (await _fetch(node, path))["id"] == actor[name]


@pytest.mark.parametrize("owner", ["/users/bob", "/actor"])
async def test_every_actor_links_a_featured_collection_served_empty(node, owner):
    """GoToSocial fetches ``featured`` with every actor and logs an error when it is missing;
    it and Mastodon read the items of the collection itself, without pages."""
    await _add_member(node)
    actor = await _fetch(node, owner)
    assert actor["featured"] == f"{BASE}{owner}/featured"
    terms = {
        k: v for entry in actor["@context"] if isinstance(entry, dict) for k, v in entry.items()
    }
    assert terms["featured"] == {"@id": "toot:featured", "@type": "@id"}
    assert terms["toot"] == "http://joinmastodon.org/ns#"
    featured = await _fetch(node, actor["featured"].removeprefix(BASE))
    assert featured == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": actor["featured"],
        "type": "OrderedCollection",
        "totalItems": 0,
        "orderedItems": [],
    }


async def test_featured_is_negotiated_like_the_other_collections(node):
    await _add_member(node)
    for path in ("/users/bob/featured", "/actor/featured"):
        resp = await node.get(path, headers={"Accept": "text/html"})
        await error_of(resp, 406, "not_acceptable")
        # Public like the other collections: no signature asked.
        assert (await node.get(path, headers={"Accept": "application/ld+json"})).status == 200


@pytest.mark.parametrize("page", ["0", "-1", "abc", "", "1.5", "1e3"])
async def test_malformed_page_is_422(node, page):
    await _add_member(node)
    for path in ["/users/bob/outbox", "/users/bob/following", "/actor/followers"]:
        resp = await node.get(path, params={"page": page}, headers=AS_ACCEPT)
        body = await error_of(resp, 422, "validation_failed")
        assert body["details"][0]["field"] == "page"


# Inboxes


async def test_every_inbox_refuses_an_unsigned_delivery(node):
    """The advertised inboxes exist and demand a signature (tests/node/test_inbox.py has more)."""
    await _add_member(node)
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://remote.example/activities/1",
        "type": "Follow",
        "actor": "https://remote.example/users/alice",
        "object": BOB,
    }
    headers = {"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON}
    for path in ["/inbox", "/users/bob/inbox", "/actor/inbox"]:
        resp = await node.post(path, json=activity, headers=headers)
        await error_of(resp, 401, "unauthorized")
