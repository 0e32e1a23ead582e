"""UriScheme: every URL the node mints, and the reverse mapping from actor ids to usernames.

Actor ids are permanent: a URL minted differently from one release to the next, or a foreign
URL mistaken for one of ours, breaks every follow relationship of a member.
"""

from __future__ import annotations

import pytest

from activitypub.uris import UriScheme

URIS = UriScheme("https://quartier.example")


@pytest.mark.parametrize(
    "base", ["https://quartier.example/", "https://quartier.example//", "https://quartier.example"]
)
def test_trailing_slashes_are_stripped(base):
    uris = UriScheme(base)
    assert uris.base_url == "https://quartier.example"
    assert uris.actor("bob") == "https://quartier.example/users/bob"


def test_domain_and_hostname_with_a_port():
    uris = UriScheme("http://127.0.0.1:8080/")
    assert uris.domain == "127.0.0.1:8080"
    assert uris.hostname == "127.0.0.1"


def test_domain_without_a_port_is_the_host():
    assert URIS.domain == "quartier.example"
    assert URIS.hostname == "quartier.example"


def test_minted_urls():
    assert URIS.url("/about") == "https://quartier.example/about"
    assert URIS.instance_actor == "https://quartier.example/actor"
    assert URIS.actor("bob") == "https://quartier.example/users/bob"
    assert URIS.shared_inbox == "https://quartier.example/inbox"
    assert URIS.nodeinfo == "https://quartier.example/nodeinfo/2.1"


def test_collections_hang_under_the_actor():
    actor = URIS.actor("bob")
    for name in ("inbox", "outbox", "followers", "following"):
        assert URIS.collection(actor, name) == f"https://quartier.example/users/bob/{name}"


def test_key_ids_are_fragments_of_the_actor():
    actor = URIS.actor("bob")
    assert URIS.rsa_key_id(actor) == "https://quartier.example/users/bob#main-key"
    assert URIS.ed25519_key_id(actor) == "https://quartier.example/users/bob#ed25519-key"


def test_webfinger_template_has_the_uri_placeholder():
    assert URIS.webfinger_template == (
        "https://quartier.example/.well-known/webfinger?resource={uri}"
    )


def test_username_from_our_actor_id():
    assert URIS.username_from_actor("https://quartier.example/users/bob") == "bob"


def test_username_round_trips_through_actor():
    assert URIS.username_from_actor(URIS.actor("bob_2")) == "bob_2"


@pytest.mark.parametrize(
    "actor_id",
    [
        pytest.param("https://elsewhere.example/users/bob", id="foreign-host"),
        pytest.param("http://quartier.example/users/bob", id="other-scheme"),
        pytest.param("https://quartier.example.evil/users/bob", id="host-suffix"),
        pytest.param("https://quartier.example:8443/users/bob", id="other-port"),
        pytest.param("https://quartier.example/users/", id="no-username"),
        pytest.param("https://quartier.example/users/bob/outbox", id="nested-collection"),
        pytest.param("https://quartier.example/users/bob/", id="trailing-slash"),
        pytest.param("https://quartier.example/users/../admin", id="dot-dot"),
        pytest.param("https://quartier.example/users/bob#main-key", id="key-fragment"),
        pytest.param("https://quartier.example/users/bob?page=1", id="query"),
        pytest.param("https://quartier.example/actor", id="instance-actor"),
        pytest.param("https://quartier.example/bob", id="not-under-users"),
    ],
)
def test_username_from_actor_rejects_urls_that_are_not_our_members(actor_id):
    assert URIS.username_from_actor(actor_id) is None
