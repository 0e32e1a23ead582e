"""Reading ActivityStreams properties in every legal form (``activitypub.properties``), and
never raising on an illegal one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activitypub.properties import (
    MAX_URI,
    first_reference,
    identifier,
    natural_language,
    reference,
    references,
    timestamp,
    values,
)

A = "https://a.example/users/alice"
B = "https://b.example/users/bob"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ([], []),
        (A, [A]),
        ({"id": A}, [{"id": A}]),
        ([A, B], [A, B]),
        (0, [0]),
        ([None, [A]], [None, [A]]),  # items are not interpreted here
    ],
    ids=repr,
)
def test_values(value, expected):
    assert values(value) == expected


def test_values_stops_at_the_limit():
    assert values(list(range(1000))) == list(range(100))
    assert values(list(range(1000)), limit=3) == [0, 1, 2]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (A, A),
        ("http://a.example/x", "http://a.example/x"),
        ({"type": "Person", "id": A}, A),
        ({"type": "Link", "href": A}, A),
        ({"id": A, "href": B}, A),  # an object is its id
        ({"id": None, "href": B}, None),  # an id that is there but unusable is not replaced
        ({"type": "Person"}, None),
        ("javascript:alert(1)", None),
        ("data:text/html,hi", None),
        ("mailto:alice@a.example", None),
        ("tag:a.example,2026:1", None),
        ("//a.example/x", None),
        ("/users/alice", None),
        ("", None),
        ("https://a.example/" + "x" * (MAX_URI - len("https://a.example/")), "FULL"),
        ("https://a.example/" + "x" * MAX_URI, None),
        (7, None),
        (True, None),
        (None, None),
        ([A], None),  # one value only
        ({"id": {"id": A}}, None),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_reference(value, expected):
    if expected == "FULL":
        expected = value
    assert reference(value) == expected


def test_references_keep_order_drop_duplicates_and_junk():
    assert references([B, {"id": A}, "javascript:x", None, 3, [A], B, {"href": A}]) == [B, A]
    assert references(A) == [A]
    assert references(None) == []
    assert references([f"https://a.example/{n}" for n in range(500)], limit=2) == [
        "https://a.example/0",
        "https://a.example/1",
    ]


def test_first_reference():
    assert first_reference([None, "ftp://a.example/x", {"id": B}, A]) == B
    assert first_reference("nope") is None
    assert first_reference([]) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (A, A),
        ("tag:a.example,2026-11-26:objectId=7:objectType=Conversation", "KEEP"),
        ("urn:uuid:9b1d4c38-9d0a-4b5e-8f3e-6f1c4b1f0d2a", "KEEP"),
        ({"type": "Collection", "id": "tag:a.example,2026:1"}, "tag:a.example,2026:1"),
        ([A, B], A),
        ([{"id": B}], B),
        ([], None),
        ("nocolon", None),
        ("tag:a b", None),
        ("tag:a\tb", None),
        ("tag:a\nb", None),
        ("tag:\x00", None),
        ("tag:" + "x" * MAX_URI, None),
        ("", None),
        (5, None),
        (None, None),
        ({"type": "Collection"}, None),
        ([[A]], None),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_identifier(value, expected):
    assert identifier(value) == (value if expected == "KEEP" else expected)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"content": "plain"}, "plain"),
        ({"content": ["first", "second"]}, "first"),
        ({"content": [1, None, "third"]}, "third"),
        ({"content": "", "contentMap": {"en": "mapped"}}, ""),  # content is there, empty
        ({"contentMap": {"en": "english", "und": "undetermined"}}, "undetermined"),
        ({"contentMap": {"de": "deutsch", "en": "english"}}, "deutsch"),
        ({"contentMap": {"und": 5, "en": "english"}}, "english"),
        ({"contentMap": {}}, ""),
        ({"contentMap": "not a map"}, ""),
        ({"content": {"en": "an object"}}, ""),
        ({}, ""),
    ],
    ids=repr,
)
def test_natural_language(doc, expected):
    assert natural_language(doc, "content") == expected


def test_natural_language_reads_the_named_property_only():
    doc = {"summary": "cw", "nameMap": {"en": "alt"}, "contentMap": {"en": "text"}}
    assert (natural_language(doc, "summary"), natural_language(doc, "name")) == ("cw", "alt")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-26T12:00:00Z", datetime(2026, 11, 26, 12, 0, tzinfo=UTC)),
        ("2026-11-26T12:00:00.123Z", datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC)),
        ("2026-11-26T14:00:00+02:00", datetime(2026, 11, 26, 12, 0, tzinfo=UTC)),
        ("2026-11-26T12:00:00", datetime(2026, 11, 26, 12, 0, tzinfo=UTC)),  # no zone: UTC
        (" 2026-11-26T12:00:00Z ", datetime(2026, 11, 26, 12, 0, tzinfo=UTC)),
        ("2026-11-26", datetime(2026, 11, 26, tzinfo=UTC)),
        # year 9999 behind UTC, or year 1 ahead of it, is no moment UTC can name
        ("9999-12-31T23:59:59-05:00", None),
        ("0001-01-01T00:00:00+05:00", None),
        ("yesterday", None),
        ("2026-13-01T00:00:00Z", None),
        ("2026-11-26T12:00:00Z" + " " * 100, None),  # too long to be a date
        (1764158400, None),
        (None, None),
        (["2026-11-26T12:00:00Z"], None),
    ],
    ids=repr,
)
def test_timestamp(value, expected):
    assert timestamp(value) == expected
