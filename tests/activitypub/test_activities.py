"""Activity builders: Follow and the answers that embed it."""

from __future__ import annotations

import pytest

from activitypub.activities import follow, object_id, respond


def test_an_answer_embeds_only_what_identifies_the_follow():
    received = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://a.example/follows/1",
        "type": "Follow",
        "actor": "https://a.example/users/ada",
        "object": "https://b.example/users/bob",
        "content": "x" * 10_000,  # whatever the sender added is not re-sent
        "signature": {"type": "RsaSignature2017"},
    }
    accept = respond(
        "Accept", "https://b.example/accepts/1", "https://b.example/users/bob", received
    )
    assert accept["object"] == {
        "id": "https://a.example/follows/1",
        "type": "Follow",
        "actor": "https://a.example/users/ada",
        "object": "https://b.example/users/bob",
    }
    assert (accept["type"], accept["actor"]) == ("Accept", "https://b.example/users/bob")


def test_only_answers_can_be_built_and_object_ids_are_read_in_both_forms():
    built = follow("https://a.example/f/1", "https://a.example/u", "https://b.example/u")
    with pytest.raises(ValueError, match="not a response type"):
        respond("Like", "https://a.example/x", "https://a.example/u", built)
    assert object_id("https://b.example/u") == "https://b.example/u"
    assert object_id({"id": "https://b.example/u", "type": "Person"}) == "https://b.example/u"
    assert object_id({"type": "Person"}) is None
    assert object_id(42) is None
