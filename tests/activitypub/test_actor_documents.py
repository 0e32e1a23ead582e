"""Reading remote actor documents (``parse_actor_document``) as other software publishes them.

The stored documents under ``tests/data/payloads/<software>/actor.json`` are real shapes (see
the README there) with their keys replaced by a placeholder; each test puts a key it holds in
place of the placeholder. Then hostile variations of one of them: whatever a remote server
sends, the parser answers an :class:`ActorDocumentError` or keeps only what the actor vouches
for, never another exception.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa, x25519

from activitypub.actor_documents import MAX_KEYS, parse_actor_document
from activitypub.errors import ActorDocumentError
from activitypub.keys import ed25519_to_multibase

PAYLOADS = Path(__file__).resolve().parents[1] / "data" / "payloads"
PLACEHOLDER = "PLACEHOLDER"


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _pem(key.public_key())


def _pem(public_key: Any) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load(relative: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / relative).read_text(encoding="utf-8"))


def with_key(doc: dict[str, Any], pem: str) -> dict[str, Any]:
    """A copy of ``doc`` whose placeholder PEMs are ``pem``, keeping each one's trailing newlines
    (Pleroma and Akkoma end theirs with two)."""
    doc = copy.deepcopy(doc)
    entries = doc.get("publicKey")
    for entry in entries if isinstance(entries, list) else [entries]:
        placeholder = entry["publicKeyPem"]
        assert PLACEHOLDER in placeholder, "stored documents carry no real key"
        trailing = placeholder[len(placeholder.rstrip("\n")) :]
        entry["publicKeyPem"] = pem.rstrip("\n") + trailing
    return doc


# What each stored actor document must parse to: type, inbox, shared inbox, preferred username
# and the ids of the keys it vouches for.
EXPECTED = {
    "mastodon/actor.json": (
        "https://mastodon.example/users/alice",
        "Person",
        "https://mastodon.example/users/alice/inbox",
        "https://mastodon.example/inbox",
        "alice",
        {"https://mastodon.example/users/alice#main-key"},
    ),
    "gotosocial/actor.json": (
        "https://gotosocial.example/users/the_mighty_zork",
        "Person",
        "https://gotosocial.example/users/the_mighty_zork/inbox",
        None,  # GoToSocial publishes no endpoints.sharedInbox
        "the_mighty_zork",
        # GoToSocial's key id is a path, not a fragment (docs/federation/http_signatures.md).
        {"https://gotosocial.example/users/the_mighty_zork/main-key"},
    ),
    "pleroma/actor.json": (
        "https://pleroma.example/users/karolat",
        "Person",
        "https://pleroma.example/users/karolat/inbox",
        "https://pleroma.example/inbox",
        "karolat",
        {"https://pleroma.example/users/karolat#main-key"},
    ),
    "akkoma/actor.json": (
        "https://akkoma.example/users/harper",
        "Person",
        "https://akkoma.example/users/harper/inbox",
        "https://akkoma.example/inbox",
        "harper",
        {"https://akkoma.example/users/harper#main-key"},
    ),
    "misskey/actor.json": (
        "https://misskey.example/users/7rkrarq81i",
        "Person",
        "https://misskey.example/users/7rkrarq81i/inbox",
        "https://misskey.example/inbox",
        "alice",
        {"https://misskey.example/users/7rkrarq81i#main-key"},
    ),
    "sharkey/actor.json": (
        "https://sharkey.example/users/9kfweg7wmdw7fnnt",
        "Person",
        "https://sharkey.example/users/9kfweg7wmdw7fnnt/inbox",
        "https://sharkey.example/inbox",
        "carol",
        {"https://sharkey.example/users/9kfweg7wmdw7fnnt#main-key"},
    ),
}


def test_every_stored_actor_document_is_covered() -> None:
    stored = {str(p.relative_to(PAYLOADS)) for p in PAYLOADS.glob("*/actor.json")}
    assert stored == set(EXPECTED)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_real_actor_documents_parse(relative: str, rsa_pem: str) -> None:
    actor_id, actor_type, inbox, shared_inbox, username, key_ids = EXPECTED[relative]
    parsed = parse_actor_document(with_key(load(relative), rsa_pem), actor_id)
    assert parsed.actor_id == actor_id
    assert parsed.actor_type == actor_type
    assert parsed.inbox == inbox
    assert parsed.shared_inbox == shared_inbox
    assert parsed.preferred_username == username
    assert set(parsed.keys) == key_ids
    assert all(isinstance(key, rsa.RSAPublicKey) for key in parsed.keys.values())


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_a_placeholder_key_is_not_a_key(relative: str) -> None:
    # The stored files as they are: the placeholder PEM does not load, so no key is kept.
    actor_id = EXPECTED[relative][0]
    parsed = parse_actor_document(load(relative), f"{actor_id}#main-key")
    assert parsed.actor_id == actor_id
    assert parsed.keys == {}


def test_the_gotosocial_key_stub_is_not_an_actor_document(rsa_pem: str) -> None:
    # What GoToSocial serves at the key id: the actor's id and key, but no inbox. Whoever fetches
    # the key must follow ``owner`` to the actor document (see test_inbox_interop.py).
    stub = with_key(load("gotosocial/main_key_stub.json"), rsa_pem)
    with pytest.raises(ActorDocumentError, match="inbox"):
        parse_actor_document(stub, "https://gotosocial.example/users/the_mighty_zork/main-key")


# --- hostile documents, built from the Mastodon one ---------------------------------------

ACTOR = "https://mastodon.example/users/alice"


@pytest.fixture
def doc(rsa_pem: str) -> dict[str, Any]:
    return with_key(load("mastodon/actor.json"), rsa_pem)


def _key_entry(key_id: str, owner: str, pem: str) -> dict[str, Any]:
    return {"id": key_id, "owner": owner, "publicKeyPem": pem}


@pytest.mark.parametrize("value", [None, [], ["an", "array"], "a string", 42, True])
def test_not_an_object(value: Any) -> None:
    with pytest.raises(ActorDocumentError, match="not a JSON object"):
        parse_actor_document(value, ACTOR)


@pytest.mark.parametrize("name", ["id", "inbox"])
@pytest.mark.parametrize(
    "value",
    [
        "missing",
        None,
        "",
        42,
        ["https://mastodon.example/users/alice"],
        {"id": "https://mastodon.example/users/alice"},
        "/users/alice",
        "mastodon.example/users/alice",
        "acct:alice@mastodon.example",
        "ftp://mastodon.example/users/alice",
        "javascript:alert(1)",
        "https:///users/alice",
    ],
)
def test_missing_empty_or_non_url_id_or_inbox(doc: dict[str, Any], name: str, value: Any) -> None:
    if value == "missing":
        del doc[name]
    else:
        doc[name] = value
    with pytest.raises(ActorDocumentError):
        parse_actor_document(doc, ACTOR)


@pytest.mark.parametrize("name", ["id", "inbox"])
def test_a_malformed_url_is_refused_as_a_document_error(doc: dict[str, Any], name: str) -> None:
    # urlsplit raises ValueError on an unclosed IPv6 bracket; a hostile server must not be able
    # to turn that into anything but ActorDocumentError (the resolver catches only that one).
    doc[name] = "https://[mastodon.example/users/alice"
    with pytest.raises(ActorDocumentError):
        parse_actor_document(doc, ACTOR)


@pytest.mark.parametrize(
    "actor_type",
    ["missing", None, "", "Note", "Tombstone", "person", 7, ["Note"], [], ["Note", "Tombstone"]],
)
def test_not_an_actor_type(doc: dict[str, Any], actor_type: Any) -> None:
    if actor_type == "missing":
        del doc["type"]
    else:
        doc["type"] = actor_type
    with pytest.raises(ActorDocumentError, match="not an actor type"):
        parse_actor_document(doc, ACTOR)


@pytest.mark.parametrize(
    ("actor_type", "expected"),
    [
        (["Person"], "Person"),
        (["Person", "https://example.org/ns#Thing"], "Person"),
        (["Note", "Service"], "Service"),
        ("Group", "Group"),
        ("Application", "Application"),
        ("Organization", "Organization"),
    ],
)
def test_actor_type_as_a_string_or_a_list(
    doc: dict[str, Any], actor_type: Any, expected: str
) -> None:
    doc["type"] = actor_type
    assert parse_actor_document(doc, ACTOR).actor_type == expected


@pytest.mark.parametrize("actor_type", [{"@id": "Person"}, [{"@id": "Person"}], [["Person"]]])
def test_an_unhashable_type_is_refused_as_a_document_error(
    doc: dict[str, Any], actor_type: Any
) -> None:
    # A JSON object (or an array inside the list) as type: membership in a frozenset raises
    # TypeError unless the parser checks for strings first.
    doc["type"] = actor_type
    with pytest.raises(ActorDocumentError, match="not an actor type"):
        parse_actor_document(doc, ACTOR)


def test_unhashable_entries_of_a_type_list_are_skipped(doc: dict[str, Any]) -> None:
    doc["type"] = [{"@id": "as:Note"}, ["x"], "Person"]
    assert parse_actor_document(doc, ACTOR).actor_type == "Person"


@pytest.mark.parametrize(
    "fetched_from",
    [
        "https://elsewhere.example/users/alice",
        "https://mastodon.example.evil.example/users/alice",
        "http://mastodon.example/users/alice",  # another scheme
        "https://mastodon.example:8443/users/alice",  # another port
    ],
)
def test_an_actor_of_another_host_than_it_was_fetched_from(
    doc: dict[str, Any], fetched_from: str
) -> None:
    with pytest.raises(ActorDocumentError, match="another host"):
        parse_actor_document(doc, fetched_from)


def test_userinfo_does_not_make_another_host_the_same(doc: dict[str, Any]) -> None:
    doc["id"] = "https://mastodon.example@evil.example/users/alice"
    with pytest.raises(ActorDocumentError, match="'id' carries credentials"):
        parse_actor_document(doc, ACTOR)


def test_the_fragment_of_the_fetched_url_is_ignored(doc: dict[str, Any]) -> None:
    assert parse_actor_document(doc, f"{ACTOR}#main-key").actor_id == ACTOR


def test_host_comparison_ignores_case(doc: dict[str, Any]) -> None:
    assert parse_actor_document(doc, "https://MASTODON.example/users/alice").actor_id == ACTOR


@pytest.mark.parametrize(
    "inbox",
    [
        "https://elsewhere.example/users/alice/inbox",
        "http://mastodon.example/users/alice/inbox",
        "https://mastodon.example:8443/users/alice/inbox",
        # The same host by hostname, but text comparisons (blocks) would see another one.
        "https://x@mastodon.example/users/alice/inbox",
        "https://mastodon.example:secret@mastodon.example/users/alice/inbox",
    ],
)
def test_an_inbox_on_another_host(doc: dict[str, Any], inbox: str) -> None:
    doc["inbox"] = inbox
    with pytest.raises(ActorDocumentError, match="inbox"):
        parse_actor_document(doc, ACTOR)


@pytest.mark.parametrize(
    "endpoints",
    [
        {"sharedInbox": "https://elsewhere.example/inbox"},
        {"sharedInbox": "https://x@mastodon.example/inbox"},
        {"sharedInbox": "https://[mastodon.example/inbox"},
        {"sharedInbox": 7},
        {"sharedInbox": None},
        {},
        "https://mastodon.example/inbox",
        ["https://mastodon.example/inbox"],
        None,
    ],
)
def test_a_shared_inbox_on_another_host_or_malformed_is_dropped(
    doc: dict[str, Any], endpoints: Any
) -> None:
    doc["endpoints"] = endpoints
    parsed = parse_actor_document(doc, ACTOR)
    assert parsed.shared_inbox is None
    assert parsed.inbox == f"{ACTOR}/inbox"


@pytest.mark.parametrize("username", [None, 7, ["alice"], {"a": 1}])
def test_a_preferred_username_that_is_not_a_string_is_dropped(
    doc: dict[str, Any], username: Any
) -> None:
    doc["preferredUsername"] = username
    assert parse_actor_document(doc, ACTOR).preferred_username is None


@pytest.mark.parametrize(
    "owner",
    [
        "https://mastodon.example/users/mallory",
        "https://elsewhere.example/users/alice",
        f"{ACTOR}/",
        f"{ACTOR}#main-key",
        None,
        [ACTOR],
    ],
)
def test_a_public_key_owned_by_another_actor_is_ignored(doc: dict[str, Any], owner: Any) -> None:
    doc["publicKey"]["owner"] = owner
    parsed = parse_actor_document(doc, ACTOR)
    assert parsed.actor_id == ACTOR
    assert parsed.keys == {}


def test_a_public_key_without_owner_is_ignored(doc: dict[str, Any]) -> None:
    del doc["publicKey"]["owner"]
    assert parse_actor_document(doc, ACTOR).keys == {}


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "not a pem",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nclé€\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        7,
        None,
        ["-----BEGIN PUBLIC KEY-----"],
    ],
)
def test_garbage_pem_is_ignored(doc: dict[str, Any], pem: Any) -> None:
    doc["publicKey"]["publicKeyPem"] = pem
    parsed = parse_actor_document(doc, ACTOR)
    assert parsed.actor_id == ACTOR
    assert parsed.keys == {}


def test_a_key_of_a_type_that_cannot_sign_is_ignored(doc: dict[str, Any]) -> None:
    doc["publicKey"]["publicKeyPem"] = _pem(x25519.X25519PrivateKey.generate().public_key())
    assert parse_actor_document(doc, ACTOR).keys == {}


@pytest.mark.parametrize("key_id", [None, 7, ["x"]])
def test_a_public_key_without_a_string_id_is_ignored(doc: dict[str, Any], key_id: Any) -> None:
    doc["publicKey"]["id"] = key_id
    assert parse_actor_document(doc, ACTOR).keys == {}


@pytest.mark.parametrize("value", ["a string", 7, None, [], [None, "x", 3]])
def test_a_public_key_that_is_not_an_object_is_ignored(doc: dict[str, Any], value: Any) -> None:
    doc["publicKey"] = value
    assert parse_actor_document(doc, ACTOR).keys == {}


def test_public_key_as_a_list_keeps_only_the_actors_keys(doc: dict[str, Any], rsa_pem: str) -> None:
    doc["publicKey"] = [
        _key_entry(f"{ACTOR}#main-key", ACTOR, rsa_pem),
        _key_entry(f"{ACTOR}#other-key", "https://mastodon.example/users/mallory", rsa_pem),
        "https://mastodon.example/users/alice#by-reference",
        _key_entry(f"{ACTOR}#second-key", ACTOR, rsa_pem),
    ]
    parsed = parse_actor_document(doc, ACTOR)
    assert set(parsed.keys) == {f"{ACTOR}#main-key", f"{ACTOR}#second-key"}


def test_more_than_max_public_keys_are_capped(doc: dict[str, Any], rsa_pem: str) -> None:
    doc["publicKey"] = [_key_entry(f"{ACTOR}#key-{n}", ACTOR, rsa_pem) for n in range(25)]
    parsed = parse_actor_document(doc, ACTOR)
    assert MAX_KEYS == 20
    assert list(parsed.keys) == [f"{ACTOR}#key-{n}" for n in range(MAX_KEYS)]


def test_the_cap_counts_entries_not_only_valid_keys(doc: dict[str, Any], rsa_pem: str) -> None:
    # 20 garbage entries first: the good key after them is not even looked at.
    garbage = [_key_entry(f"{ACTOR}#junk-{n}", ACTOR, "junk") for n in range(MAX_KEYS)]
    doc["publicKey"] = [*garbage, _key_entry(f"{ACTOR}#main-key", ACTOR, rsa_pem)]
    assert parse_actor_document(doc, ACTOR).keys == {}


def _multikey(key_id: str, controller: Any, multibase: Any) -> dict[str, Any]:
    return {
        "id": key_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": multibase,
    }


@pytest.fixture(scope="module")
def multibase() -> str:
    return ed25519_to_multibase(ed25519.Ed25519PrivateKey.generate().public_key())


def test_a_multikey_controlled_by_the_actor_is_kept(doc: dict[str, Any], multibase: str) -> None:
    doc["assertionMethod"] = [_multikey(f"{ACTOR}#ed25519-key", ACTOR, multibase)]
    parsed = parse_actor_document(doc, ACTOR)
    assert set(parsed.keys) == {f"{ACTOR}#main-key", f"{ACTOR}#ed25519-key"}
    assert isinstance(parsed.keys[f"{ACTOR}#ed25519-key"], ed25519.Ed25519PublicKey)


@pytest.mark.parametrize(
    "controller",
    ["https://mastodon.example/users/mallory", "https://elsewhere.example/users/alice", None],
)
def test_a_multikey_with_a_controller_mismatch_is_ignored(
    doc: dict[str, Any], multibase: str, controller: Any
) -> None:
    doc["assertionMethod"] = _multikey(f"{ACTOR}#ed25519-key", controller, multibase)
    assert set(parse_actor_document(doc, ACTOR).keys) == {f"{ACTOR}#main-key"}


@pytest.mark.parametrize(
    "entry",
    [
        {"type": "Ed25519VerificationKey2020"},  # not a Multikey
        {"publicKeyMultibase": "zNotAKey"},
        {"publicKeyMultibase": "not multibase"},
        {"publicKeyMultibase": 7},
        {"id": None},
    ],
)
def test_a_malformed_multikey_is_ignored(
    doc: dict[str, Any], multibase: str, entry: dict[str, Any]
) -> None:
    doc["assertionMethod"] = [{**_multikey(f"{ACTOR}#ed25519-key", ACTOR, multibase), **entry}]
    assert set(parse_actor_document(doc, ACTOR).keys) == {f"{ACTOR}#main-key"}


def test_a_multikey_does_not_replace_a_public_key_with_the_same_id(
    doc: dict[str, Any], multibase: str
) -> None:
    doc["assertionMethod"] = [_multikey(f"{ACTOR}#main-key", ACTOR, multibase)]
    parsed = parse_actor_document(doc, ACTOR)
    assert isinstance(parsed.keys[f"{ACTOR}#main-key"], rsa.RSAPublicKey)


def test_more_than_max_multikeys_are_capped(doc: dict[str, Any], multibase: str) -> None:
    del doc["publicKey"]
    doc["assertionMethod"] = [_multikey(f"{ACTOR}#ed-{n}", ACTOR, multibase) for n in range(25)]
    parsed = parse_actor_document(doc, ACTOR)
    assert list(parsed.keys) == [f"{ACTOR}#ed-{n}" for n in range(MAX_KEYS)]


def test_an_actor_without_keys_still_parses(doc: dict[str, Any]) -> None:
    del doc["publicKey"]
    parsed = parse_actor_document(doc, ACTOR)
    assert parsed.actor_id == ACTOR
    assert parsed.keys == {}


# The profile each stored actor document shows: name, avatar, header, page, approves followers,
# followers collection, and whether it has a bio and a creation date.
PROFILES = {
    "mastodon/actor.json": (
        "Alice Example",
        "https://files.mastodon.example/accounts/avatars/000/000/001/original/a0a49d80c3de5f75.png",
        "https://files.mastodon.example/accounts/headers/000/000/001/original/d13e4417706a5fec.jpg",
        "https://mastodon.example/@alice",
        False,
        "https://mastodon.example/users/alice/followers",
        True,
    ),
    "gotosocial/actor.json": (
        "original zork (he/they)",
        "https://gotosocial.example/fileserver/01F8MH1H7YV1Z7D2C8K2730QBF/avatar/original/01F8MH58A357CV5K7R7TJMSH6S.jpg",
        "https://gotosocial.example/fileserver/01F8MH1H7YV1Z7D2C8K2730QBF/header/original/01PFPMWK2FF0D9WMHEJHR07C3Q.jpg",
        "https://gotosocial.example/@the_mighty_zork",
        False,
        "https://gotosocial.example/users/the_mighty_zork/followers",
        True,
    ),
    "pleroma/actor.json": (
        "karolat",
        "https://pleroma.example/media/a94a0a3f51c49c4a5d9f8849cbb75634fddf234cbd49cd6029b4a9364b5da03e.png",
        "https://pleroma.example/media/78a7cad0ba10cff6dd1f696d66347db73e0bbf3bdb331f3219188be03fd237e7.jpg",
        "https://pleroma.example/users/karolat",
        True,
        "https://pleroma.example/users/karolat/followers",
        False,
    ),
    "akkoma/actor.json": (
        "harper",
        "https://akkoma.example/media/avatar.png",
        None,
        "https://akkoma.example/users/harper",
        False,
        "https://akkoma.example/users/harper/followers",
        False,
    ),
    "misskey/actor.json": (
        ":blobcat:アリス:blobcat:",
        "https://media.misskey.example/misskey/webpublic-b2dc591e-58b6-4df7-b7c9-1cba199f6619.png",
        "https://media.misskey.example/misskey/361d91a4-da15-4367-a0c7-771569e28ca2.png",
        "https://misskey.example/@alice",
        False,
        "https://misskey.example/users/7rkrarq81i/followers",
        False,
    ),
    "sharkey/actor.json": (
        "carol",
        "https://media.sharkey.example/mkmedia/webpublic-87770270-05b0-488d-8a8b-e0438956d323.png",
        "https://media.sharkey.example/mkmedia/6802825f-74f3-4506-90f4-53575730d640.webp",
        "https://sharkey.example/@carol",
        True,
        "https://sharkey.example/users/9kfweg7wmdw7fnnt/followers",
        False,
    ),
}


@pytest.mark.parametrize("relative", sorted(PROFILES))
def test_real_actor_documents_give_their_profile(relative: str) -> None:
    name, icon, image, url, approves, followers, dated = PROFILES[relative]
    doc = load(relative)
    profile = parse_actor_document(doc, EXPECTED[relative][0]).profile
    assert (profile.name, profile.icon, profile.image, profile.url) == (name, icon, image, url)
    assert (profile.manually_approves_followers, profile.followers) == (approves, followers)
    assert profile.summary == doc["summary"]  # as published: sanitised where it is shown
    assert (profile.published is not None) is dated


@pytest.mark.parametrize(
    ("icon", "url"),
    [
        ("https://x.example/a.png", "https://x.example/a.png"),
        ({"type": "Image", "url": "https://x.example/b.png"}, "https://x.example/b.png"),
        (
            {"type": "Image", "url": {"type": "Link", "href": "https://x.example/c.png"}},
            "https://x.example/c.png",
        ),
        (
            {"type": "Image", "url": ["javascript:x", "https://x.example/d.png"]},
            "https://x.example/d.png",
        ),
        (
            [{"type": "Image", "url": 7}, {"type": "Image", "url": "https://x.example/e.png"}],
            "https://x.example/e.png",
        ),
        ({"type": "Link", "href": "https://x.example/f.png"}, "https://x.example/f.png"),
        ({"type": "Image"}, None),
        ("data:image/png;base64,AAAA", None),
        (42, None),
        (None, None),
    ],
)
def test_an_avatar_in_every_legal_form(doc: dict[str, Any], icon: Any, url: str | None) -> None:
    parsed = parse_actor_document(doc | {"icon": icon, "image": icon}, doc["id"])
    assert (parsed.profile.icon, parsed.profile.image) == (url, url)


@pytest.mark.parametrize(
    ("props", "name", "page"),
    [
        ({"nameMap": {"fr": "Alice F"}}, "Alice F", None),
        ({"name": ["First", "Second"]}, "First", None),
        ({"name": "   "}, None, None),
        ({"name": "x" * 500}, "x" * 200, None),
        (
            {
                "url": [
                    {"type": "Link", "mediaType": "text/plain", "href": "https://x.example/t"},
                    {"type": "Link", "mediaType": "text/html", "href": "https://x.example/h"},
                ]
            },
            None,
            "https://x.example/h",
        ),
        ({"url": "ftp://x.example/"}, None, None),
    ],
)
def test_name_and_page_in_every_legal_form(
    doc: dict[str, Any], props: dict[str, Any], name: str | None, page: str | None
) -> None:
    base = {k: v for k, v in doc.items() if k not in ("name", "url")}
    parsed = parse_actor_document(base | props, doc["id"])
    assert (parsed.profile.name, parsed.profile.url) == (name, page)


def test_a_followers_collection_on_another_host_is_not_the_actors(doc: dict[str, Any]) -> None:
    parsed = parse_actor_document(doc | {"followers": "https://other.example/f"}, doc["id"])
    assert parsed.profile.followers is None


def test_profile_values_of_the_wrong_type_are_dropped(doc: dict[str, Any]) -> None:
    hostile = doc | {
        "name": {"a": 1},
        "summary": 3,
        "published": "yesterday",
        "manuallyApprovesFollowers": "true",
        "url": {"nothing": True},
    }
    profile = parse_actor_document(hostile, doc["id"]).profile
    assert (profile.name, profile.summary, profile.published, profile.url) == (
        None,
        None,
        None,
        None,
    )
    assert profile.manually_approves_followers is False
