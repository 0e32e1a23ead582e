"""The problem object and the handler's change: built, and read back in the forms other
servers may send."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activitypub.problems import (
    ProblemComment,
    ProblemMalformed,
    build_change,
    build_problem,
    read_change,
    read_problem,
    wrap,
)

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
D1 = "https://d1.example"


def problem(**overrides) -> dict:
    values = {
        "problem_id": f"{D1}/problems/abc",
        "attributed_to": f"{D1}/actor",
        "to": "https://ville.example/actor",
        "category": "lighting",
        "text": "Lamp <out>\n\nSince Monday & still",
        "latitude": 48.85,
        "longitude": 2.35,
        "photos": [{"type": "Image", "url": f"{D1}/media/1.jpg"}],
        "public": True,
        "status": "submitted",
        "me_too": 2,
        "published": WHEN,
        **overrides,
    }
    return build_problem(**values)


def test_the_problem_is_a_readable_note_and_reads_back_the_same() -> None:
    note = problem()
    assert note["type"] == "Note"
    assert "Lamp &lt;out&gt;" in note["content"]  # escaped: readable, never markup
    assert "<p>Place: 48.85000, 2.35000</p>" in note["content"]
    read = read_problem(note)
    assert read.text == "Lamp <out>\n\nSince Monday & still"
    assert (read.category, read.latitude, read.longitude) == ("lighting", 48.85, 2.35)
    assert read.photos == (f"{D1}/media/1.jpg",)
    assert (read.public, read.me_too) == (True, 2)
    activity = wrap("Create", f"{D1}/problems/abc#create", f"{D1}/actor", note)
    assert activity["@context"][0] == "https://www.w3.org/ns/activitystreams"
    assert "problemStatus" in activity["@context"][1]


def test_other_forms_are_read_and_nonsense_is_refused() -> None:
    note = problem(public=False, latitude=None, longitude=None, photos=[])
    del note["source"]
    note["content"] = "<p>Lamp <b>out</b></p>"
    note["location"] = [{"type": "Place", "latitude": "48", "longitude": 2}]
    read = read_problem(note)
    assert (read.text, read.public, read.latitude) == ("Lamp out", False, None)
    for broken in (
        {**note, "problemCategory": ""},
        {**note, "problemCategory": "   "},
        # 32 characters, but 64 once lower-cased ("İ" is "i" and a combining dot): more than
        # the column holds, which PostgreSQL refuses (an error in the worker, not a refusal)
        {**note, "problemCategory": "İ" * 32},
        {**note, "id": "urn:x"},
        {**note, "type": "Article"},
        {**note, "content": "", "source": None},
    ):
        with pytest.raises(ProblemMalformed):
            read_problem(broken)


def test_the_handlers_change_carries_status_reason_and_comments() -> None:
    change = build_change(
        problem_id=f"{D1}/problems/abc",
        handler="https://ville.example/actor",
        to=f"{D1}/actor",
        category="lighting",
        status="rejected",
        reason="Private road",
        comments=[ProblemComment("We looked <here>", WHEN, "Ville")],
        updated=WHEN,
    )
    assert "Status: rejected (Private road)" in change["content"]
    read = read_change(change)
    assert (read.status, read.reason) == ("rejected", "Private road")
    assert read.comments == (ProblemComment("We looked <here>", WHEN, "Ville"),)
    with pytest.raises(ProblemMalformed):
        read_change({**change, "problemStatus": "exploded"})
