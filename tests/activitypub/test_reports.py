"""Flags (reports between servers): what we build, and every form we read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from activitypub.errors import FlagMalformed
from activitypub.reports import MAX_COMMENT, build_flag, read_flag

PAYLOADS = Path(__file__).resolve().parents[1] / "data" / "payloads"
BOB = "https://quartier.example/users/bob"
LISTING = "https://quartier.example/listings/5c3d2f0e8b9a4d6c8e1f2a3b4c5d6e7f"


def test_the_flag_we_send_has_the_shape_mastodon_and_gotosocial_read():
    flag = build_flag(
        "https://a.example/reports/1",
        "https://a.example/actor",
        ["https://b.example/users/bob", "https://b.example/listings/1"],
        "Spam",
    )
    assert flag == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://a.example/reports/1",
        "type": "Flag",
        "actor": "https://a.example/actor",
        "content": "Spam",
        "object": ["https://b.example/users/bob", "https://b.example/listings/1"],
    }
    # GoToSocial's rule (ASFlagToReport): exactly one account among the objects, first here;
    # Mastodon's: every object a URI string.
    assert all(isinstance(o, str) for o in flag["object"])
    assert read_flag(flag).objects == tuple(flag["object"])


def test_a_flag_names_at_least_the_account():
    with pytest.raises(ValueError, match="at least the reported account"):
        build_flag("https://a.example/r/1", "https://a.example/actor", [], "")


@pytest.mark.parametrize("software", ["mastodon", "gotosocial"])
def test_the_flags_mastodon_and_gotosocial_send_are_read(software):
    activity = json.loads((PAYLOADS / software / "flag.json").read_text())
    flag = read_flag(activity)
    assert flag.actor == activity["actor"]
    assert flag.activity_id == activity["id"]
    assert flag.objects == (BOB, LISTING)
    assert flag.comment == "Asks for payment up front, then never shows up"


@pytest.mark.parametrize(
    ("objects", "expected"),
    [
        (BOB, (BOB,)),
        ({"id": BOB, "type": "Person"}, (BOB,)),
        ([{"id": BOB}, LISTING, LISTING], (BOB, LISTING)),
        ([LISTING, {"type": "Note"}, 42, "not a uri"], (LISTING,)),
    ],
    ids=["string", "object", "list-with-duplicate", "list-with-junk"],
)
def test_every_legal_form_of_object_is_read(objects, expected):
    flag = read_flag({"type": "Flag", "actor": "https://m.example/actor", "object": objects})
    assert flag.objects == expected
    assert flag.comment == ""
    assert flag.activity_id is None


def test_content_comes_as_a_map_or_as_html_and_is_kept_as_plain_text():
    base = {"type": "Flag", "actor": "https://m.example/actor", "object": BOB}
    assert read_flag({**base, "contentMap": {"fr": "Arnaque"}}).comment == "Arnaque"
    html = '<p>Look <a href="https://x.example">here</a><script>alert(1)</script></p>'
    assert read_flag({**base, "content": html}).comment == "Look here"
    assert read_flag({**base, "content": "a\x00b\x07c"}).comment == "abc"
    assert len(read_flag({**base, "content": "x" * 9000}).comment) == MAX_COMMENT


@pytest.mark.parametrize(
    ("activity", "says"),
    [
        ({"type": "Like", "actor": "https://m.example/actor", "object": BOB}, "not a Flag"),
        ({"type": "Flag", "object": BOB}, "no actor"),
        ({"type": "Flag", "actor": {"name": "x"}, "object": BOB}, "no actor"),
        ({"type": "Flag", "actor": "https://m.example/actor"}, "no object"),
        ({"type": "Flag", "actor": "https://m.example/actor", "object": []}, "no object"),
        ({"type": "Flag", "actor": "https://m.example/actor", "object": ["ftp://x"]}, "no object"),
    ],
)
def test_a_flag_without_actor_or_object_is_refused_with_the_reason(activity, says):
    with pytest.raises(FlagMalformed, match=says):
        read_flag(activity)
