"""Actor documents: what remote servers read about a member or about the node.

The document carries the keys other servers verify our signatures with (``publicKey`` for
draft-cavage HTTP signatures, a FEP-521a ``Multikey`` for integrity proofs) and the member's
bio, which is plain text and must reach remote timelines escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activitypub.actors import ActorDescription, actor_document, plain_text_to_html
from activitypub.uris import UriScheme

URIS = UriScheme("https://quartier.example")
ACTOR_ID = URIS.actor("bob")


def _description(**overrides):
    values = {
        "actor_id": ACTOR_ID,
        "actor_type": "Person",
        "preferred_username": "bob",
        "name": "Bob",
        "summary": "I lend drills",
        "inbox": URIS.collection(ACTOR_ID, "inbox"),
        "outbox": URIS.collection(ACTOR_ID, "outbox"),
        "followers": URIS.collection(ACTOR_ID, "followers"),
        "following": URIS.collection(ACTOR_ID, "following"),
        "shared_inbox": URIS.shared_inbox,
        "url": ACTOR_ID,
        "published": datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        "rsa_public_pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "ed25519_multibase": "z6MkexampleExampleExample",
    }
    values.update(overrides)
    return ActorDescription(**values)


def test_document_has_the_activitystreams_and_security_contexts():
    context = actor_document(_description())["@context"]
    assert context[0] == "https://www.w3.org/ns/activitystreams"
    assert "https://w3id.org/security/v1" in context
    assert "https://w3id.org/security/multikey/v1" in context


def test_document_carries_identity_and_endpoints():
    doc = actor_document(_description())
    assert doc["id"] == ACTOR_ID
    assert doc["type"] == "Person"
    assert doc["preferredUsername"] == "bob"
    assert doc["name"] == "Bob"
    assert doc["url"] == ACTOR_ID
    assert doc["inbox"] == "https://quartier.example/users/bob/inbox"
    assert doc["outbox"] == "https://quartier.example/users/bob/outbox"
    assert doc["followers"] == "https://quartier.example/users/bob/followers"
    assert doc["following"] == "https://quartier.example/users/bob/following"
    assert doc["endpoints"] == {"sharedInbox": "https://quartier.example/inbox"}


def test_public_key_is_owned_by_the_actor_and_carries_the_pem():
    pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    key = actor_document(_description(rsa_public_pem=pem))["publicKey"]
    assert key == {
        "id": "https://quartier.example/users/bob#main-key",
        "owner": ACTOR_ID,
        "publicKeyPem": pem,
    }


def test_assertion_method_is_a_multikey_controlled_by_the_actor():
    doc = actor_document(_description(ed25519_multibase="z6MkSomething"))
    assert doc["assertionMethod"] == [
        {
            "id": "https://quartier.example/users/bob#ed25519-key",
            "type": "Multikey",
            "controller": doc["id"],
            "publicKeyMultibase": "z6MkSomething",
        }
    ]


def test_key_ids_are_distinct_fragments_of_the_actor():
    doc = actor_document(_description())
    rsa_id = doc["publicKey"]["id"]
    ed_id = doc["assertionMethod"][0]["id"]
    assert rsa_id != ed_id
    for key_id in (rsa_id, ed_id):
        assert key_id.startswith(ACTOR_ID + "#")


def test_published_is_utc_with_z_suffix():
    doc = actor_document(_description(published=datetime(2026, 3, 1, 9, 30, 5, tzinfo=UTC)))
    assert doc["published"] == "2026-03-01T09:30:05Z"


def test_followers_are_approved_manually_by_default():
    assert actor_document(_description())["manuallyApprovesFollowers"] is True
    doc = actor_document(_description(manually_approves_followers=False))
    assert doc["manuallyApprovesFollowers"] is False


def test_application_actor_keeps_its_type():
    doc = actor_document(_description(actor_type="Application", preferred_username="q.example"))
    assert doc["type"] == "Application"
    assert doc["preferredUsername"] == "q.example"


def test_summary_is_rendered_as_escaped_html():
    doc = actor_document(_description(summary="<b>hi</b>"))
    assert doc["summary"] == "<p>&lt;b&gt;hi&lt;/b&gt;</p>"


# plain_text_to_html


def test_script_tags_are_escaped_not_kept():
    rendered = plain_text_to_html('<script>alert("x")</script>')
    assert "<script" not in rendered
    assert rendered == "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>"


def test_attribute_injection_is_escaped():
    rendered = plain_text_to_html('<img src=x onerror="alert(1)">')
    assert "<img" not in rendered


def test_ampersands_are_escaped():
    assert plain_text_to_html("Tom & Jerry") == "<p>Tom &amp; Jerry</p>"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("one line", "<p>one line</p>"),
        ("first\nsecond", "<p>first<br>second</p>"),
        ("para one\n\npara two", "<p>para one</p><p>para two</p>"),
        ("para one\r\n\r\npara two\r\nline", "<p>para one</p><p>para two<br>line</p>"),
        ("a\n\n\n\nb", "<p>a</p><p>b</p>"),
        ("  padded  \n\n", "<p>padded</p>"),
    ],
)
def test_paragraphs_and_line_breaks_are_kept(text, html):
    assert plain_text_to_html(text) == html


@pytest.mark.parametrize("text", ["", "\n\n", "   ", "\r\n\r\n"])
def test_empty_text_renders_nothing(text):
    assert plain_text_to_html(text) == ""


def test_every_actor_links_its_featured_collection_with_mastodons_term():
    doc = actor_document(_description())
    assert doc["featured"] == "https://quartier.example/users/bob/featured"
    terms = {k: v for e in doc["@context"] if isinstance(e, dict) for k, v in e.items()}
    # Without the term a JSON-LD processor (Mastodon) would drop the property.
    assert terms["featured"] == {"@id": "toot:featured", "@type": "@id"}
    assert terms["toot"] == "http://joinmastodon.org/ns#"


def test_context_defines_the_assertion_method_term():
    # Neither security/v1 nor multikey/v1 defines it: a JSON-LD processor would drop the key.
    context = actor_document(_description())["@context"]
    terms = [
        e["assertionMethod"] for e in context if isinstance(e, dict) and "assertionMethod" in e
    ]
    assert len(terms) == 1
    (term,) = terms
    assert isinstance(term, dict)
    assert term["@id"] == "https://w3id.org/security#assertionMethod"
    assert term["@type"] == "@id"
