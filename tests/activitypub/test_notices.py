"""The notice wire format: what we build reads back the same, and every legal form of what
another node may send reads as the notice it means."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activitypub.notices import (
    NoticeError,
    NoticePlace,
    NoticeTerms,
    is_notice,
    notice_object,
    read_notice,
)

AUTHOR = "https://mairie.example/users/clerk"
TERMS = NoticeTerms(
    kind="works",
    title="Road works on rue Haute",
    text="From Monday the street is closed to cars.\nBuses are diverted.",
    starts_at=datetime(2026, 12, 7, 7, tzinfo=UTC),
    ends_at=datetime(2026, 12, 18, 17, tzinfo=UTC),
    place=NoticePlace("rue Haute", 45.75, 4.85),
)


def built(**changes) -> dict:
    return notice_object(
        object_id="https://mairie.example/notices/1",
        author=AUTHOR,
        terms=changes.pop("terms", TERMS),
        text_html="<p>From Monday the street is closed to cars.<br>Buses are diverted.</p>",
        published=datetime(2026, 12, 1, tzinfo=UTC),
        updated=datetime(2026, 12, 2, tzinfo=UTC),
        to=["https://mairie.example/groups/neighbourhood/followers"],
        cc=[],
        url="https://mairie.example/notices/1",
    )


def test_a_built_notice_reads_back_as_the_same_terms():
    note = built()
    assert is_notice(note)
    received = read_notice(note)
    assert received.terms == TERMS
    assert (received.id, received.author) == ("https://mairie.example/notices/1", AUTHOR)
    assert received.updated == datetime(2026, 12, 2, tzinfo=UTC)


def test_the_content_reads_well_without_our_terms():
    content = built()["content"]
    assert content.startswith("<p><strong>Works: Road works on rue Haute</strong></p>")
    assert "From 2026-12-07 07:00 UTC to 2026-12-18 17:00 UTC · rue Haute" in content


def test_title_and_place_are_escaped_in_the_content():
    terms = NoticeTerms(
        kind="event", title="<script>x()</script>", text="", place=NoticePlace("<b>")
    )
    content = built(terms=terms)["content"]
    assert "<script>" not in content
    assert "&lt;script&gt;" in content
    assert "&lt;b&gt;" in content


def test_other_legal_forms_read_as_the_notice_they_mean():
    note = built()
    note.pop("source")
    note["content"] = None
    note["contentMap"] = {"fr": "<p>La rue est fermée.</p>"}
    note["attributedTo"] = [{"type": "Person", "id": AUTHOR}]
    note["location"] = [{"type": "Place", "name": "rue Haute"}]
    note["noticeKind"] = "tsunami"  # a kind a newer node knows: kept as information
    note["attachment"] = {
        "type": "Document",
        "mediaType": "image/jpeg",
        "url": "https://mairie.example/m.jpg",
    }
    received = read_notice(note)
    assert received.terms.kind == "information"
    assert received.terms.text == "La rue est fermée."
    assert received.author == AUTHOR
    assert received.terms.place == NoticePlace("rue Haute")
    assert [p.url for p in received.photos] == ["https://mairie.example/m.jpg"]


def test_a_notice_without_a_name_takes_its_first_line_as_the_title():
    note = built()
    note.pop("name")
    received = read_notice(note)
    assert received.terms.title == "From Monday the street is closed to cars."
    assert received.terms.text == "Buses are diverted."


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"id": None}, "needs an id"),
        ({"attributedTo": [AUTHOR, "https://mairie.example/users/mayor"]}, "one author"),
        (
            {"name": "", "source": {"content": " ", "mediaType": "text/plain"}, "content": ""},
            "title",
        ),
        ({"endTime": "2026-12-01T00:00:00Z"}, "end before it starts"),
    ],
)
def test_what_cannot_be_a_notice_is_refused_with_the_reason(change, why):
    with pytest.raises(NoticeError, match=why):
        read_notice(built() | change)


def test_a_point_out_of_range_or_a_boolean_is_no_point():
    note = built()
    note["location"] = {"type": "Place", "name": "Pole", "latitude": 91, "longitude": True}
    assert read_notice(note).terms.place == NoticePlace("Pole")
