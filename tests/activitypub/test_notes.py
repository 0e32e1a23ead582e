"""Notes: ``read_note`` over every legal ActivityStreams form of what it reads, and over the
illegal ones a hostile or buggy server sends (nothing may raise: a handler that raises is
retried for days); ``html_to_text``'s leading mentions; the ``private_note`` we send.

Pure functions, no event loop. Signed deliveries of the same forms to a running node are in
tests/node/test_note_forms.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from activitypub.notes import (
    MAX_ADDRESSEES,
    MAX_ATTACHMENTS,
    Attachment,
    Mention,
    addressees,
    handle_for,
    html_to_text,
    is_collection_address,
    is_public,
    private_note,
    read_note,
    wrap,
)

ALICE = "https://forms.example/users/alice"
BOB = "https://quartier.example/users/bob"
PNG = "https://files.forms.example/a.png"
# Mastodon's markup of a mention (app/lib/text_formatter.rb, as in its captured notes).
MENTION_BOB = (
    '<span class="h-card" translate="no"><a href="https://quartier.example/@bob" '
    'class="u-url mention">@<span>bob</span></a></span>'
)
MENTION_CAROL = (
    '<span class="h-card"><a href="https://other.example/@carol" '
    'class="u-url mention">@<span>carol</span></a></span>'
)


def note(**properties: Any) -> dict[str, Any]:
    return {"id": "https://forms.example/notes/1", "type": "Note", **properties}


# attributedTo ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "authors"),
    [
        (ALICE, [ALICE]),
        ({"type": "Person", "id": ALICE}, [ALICE]),
        ([ALICE], [ALICE]),
        ([{"type": "Person", "id": ALICE}, {"type": "Group", "id": BOB}], [ALICE, BOB]),
        ([ALICE, {"id": ALICE}], [ALICE]),  # the same actor twice counts once
        ({"type": "Link", "href": ALICE}, [ALICE]),
        (None, []),
        (7, []),
        ([[ALICE]], []),  # a list inside a list is no author
        ({"type": "Person"}, []),
        ("javascript:alert(1)", []),
        ("/users/alice", []),
    ],
    ids=repr,
)
def test_attributed_to_in_every_form(value, authors):
    assert read_note(note(attributedTo=value)).authors == authors


def test_a_note_attributed_to_a_crowd_keeps_only_the_first_ten():
    crowd = [f"https://forms.example/users/{n}" for n in range(1000)]
    assert read_note(note(attributedTo=crowd)).authors == crowd[:10]


# content, contentMap, summary, summaryMap --------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "text"),
    [
        ({"content": "<p>Hello</p>"}, "Hello"),
        ({"content": ["<p>first</p>", "<p>second</p>"]}, "first"),  # alternatives
        ({"contentMap": {"en": "<p>Hello</p>"}}, "Hello"),
        ({"contentMap": {"en": "<p>Hello</p>", "und": "<p>Hallo</p>"}}, "Hallo"),
        ({"contentMap": {"fr": "<p>Bonjour</p>", "en": "<p>Hello</p>"}}, "Bonjour"),
        ({"contentMap": {"en": 5, "de": "<p>Hallo</p>"}}, "Hallo"),
        ({"content": "<p>plain</p>", "contentMap": {"und": "<p>mapped</p>"}}, "plain"),
        ({"content": None, "contentMap": {"en": "<p>mapped</p>"}}, "mapped"),
        ({"content": 42, "contentMap": ["<p>a list is no map</p>"]}, ""),
        ({"content": {"en": "<p>an object is no text</p>"}}, ""),
        ({"content": [[["<p>deep</p>"]]]}, ""),
        ({}, ""),
    ],
    ids=repr,
)
def test_content_in_every_form(properties, text):
    assert read_note(note(**properties)).text == text


@pytest.mark.parametrize(
    ("properties", "summary"),
    [
        ({"summary": "spoilers"}, "spoilers"),
        ({"summary": "<p>food &amp; <b>drink</b></p>"}, "food & drink"),
        ({"summaryMap": {"en": "spoilers"}}, "spoilers"),
        ({"summaryMap": {"de": "Spoiler", "und": "spoilers"}}, "spoilers"),
        ({"summary": None}, ""),
        ({"summary": ["", "second"]}, ""),  # the first alternative, even empty
        ({"summary": 1}, ""),
    ],
    ids=repr,
)
def test_a_content_warning_in_every_form_is_kept(properties, summary):
    read = read_note(note(content="<p>the text</p>", **properties))
    assert (read.summary, read.text) == (summary, "the text")


def test_a_content_warning_is_cut_at_500_characters_and_text_at_5000():
    """What a message keeps (5,000 characters), and no more is read."""
    read = read_note(note(summary="w" * 10_000, content="<p>" + "t" * 100_000 + "</p>"))
    assert (read.summary, read.text) == ("w" * 500, "t" * 5_000)


@pytest.mark.parametrize(
    "hostile",
    ["<a " * 30_000, "<!--" * 30_000, "<![x[ y" * 10_000, "<a b='" * 15_000, "<!" * 40_000],
)
def test_unclosed_markup_is_read_as_text_without_error(hostile):
    """Python's HTMLParser is quadratic over unclosed tags (CVE-2025-6069) and raises on some
    marked sections: such markup must come out as text, fast, and never as an exception
    (which would fail the handler and retry it for days)."""
    read = read_note(note(content=hostile))
    assert read.text.startswith("<")  # shown as the text it is
    assert len(read.text) <= 5_000


# attachment --------------------------------------------------------------------------------------


def test_mastodon_document_attachments_keep_url_media_type_description_size_and_blurhash():
    # app/serializers/activitypub/note_serializer.rb, MediaAttachmentSerializer
    document = {
        "type": "Document",
        "mediaType": "image/png",
        "url": PNG,
        "name": "A <b>ladder</b>",
        "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
        "focalPoint": [0.0, 0.0],
        "width": 640,
        "height": 480,
    }
    assert read_note(note(attachment=[document])).attachments == [
        Attachment(
            url=PNG,
            media_type="image/png",
            description="A ladder",
            kind="Document",
            width=640,
            height=480,
            blurhash="UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
        )
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PNG, [(PNG, "", "")]),
        ({"type": "Image", "url": PNG, "mediaType": "image/png"}, [(PNG, "image/png", "")]),
        ({"type": "Video", "url": PNG}, [(PNG, "", "")]),
        ({"type": "Audio", "url": PNG}, [(PNG, "", "")]),
        ({"type": "Link", "href": PNG, "mediaType": "image/png"}, [(PNG, "image/png", "")]),
        (
            {"type": "Link", "href": "https://other.example/article"},
            [("https://other.example/article", "", "")],
        ),  # Mastodon's preview card
        ({"type": "Document", "url": {"type": "Link", "href": PNG}}, [(PNG, "", "")]),
        (
            # Pleroma: a Document whose url is a list of Links (lib/pleroma/upload.ex)
            {
                "type": "Document",
                "mediaType": "image/png",
                "name": "alt",
                "url": [{"type": "Link", "mediaType": "image/png", "href": PNG}],
            },
            [(PNG, "image/png", "alt")],
        ),
        (
            {"type": "Document", "url": [{"type": "Link", "mediaType": "image/webp", "href": PNG}]},
            [(PNG, "image/webp", "")],  # the Link's media type when the Document has none
        ),
        ({"url": PNG}, [(PNG, "", "")]),  # untyped, but it has a url
        ({"type": "Document", "nameMap": {"en": "alt text"}, "url": PNG}, [(PNG, "", "alt text")]),
        ([PNG, {"type": "Image", "url": PNG}], [(PNG, "", ""), (PNG, "", "")]),
        (None, []),
        ([], []),
    ],
    ids=repr,
)
def test_attachments_in_every_form(value, expected):
    found = read_note(note(attachment=value)).attachments
    assert [(a.url, a.media_type, a.description) for a in found] == expected


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "file:///etc/passwd",
        "ftp://files.forms.example/a.png",
        "//files.forms.example/a.png",
        "/a.png",
        "",
        "https://files.forms.example/" + "a" * 2048,  # over 2048 characters
        7,
        None,
        ["javascript:alert(1)"],
        [[PNG]],
    ],
    ids=lambda u: repr(u)[:40],
)
def test_attachments_that_are_not_http_links_are_dropped(url):
    forms = [
        url,
        {"type": "Document", "url": url},
        {"type": "Image", "url": {"type": "Link", "href": url}},
        {"type": "Link", "href": url},
        {"type": "Document", "url": [{"type": "Link", "href": url}]},
    ]
    assert read_note(note(attachment=forms)).attachments == []


def test_an_attachment_uri_of_exactly_2048_characters_is_kept():
    longest = "https://files.forms.example/" + "a" * (2048 - len("https://files.forms.example/"))
    assert [a.url for a in read_note(note(attachment=longest)).attachments] == [longest]


def test_the_first_usable_link_is_the_file_and_its_media_type_is_that_links():
    # A dropped javascript: link must not lend its media type to the next link.
    document = {
        "type": "Document",
        "url": [
            {"type": "Link", "href": "javascript:alert(1)", "mediaType": "text/html"},
            {"type": "Link", "href": PNG, "mediaType": "image/png"},
        ],
    }
    [found] = read_note(note(attachment=document)).attachments
    assert (found.url, found.media_type) == (PNG, "image/png")


def test_a_link_with_an_id_points_to_its_href():
    # A Link may have an id of its own; the file is where its href points.
    link = {"type": "Link", "id": "https://forms.example/links/1", "href": PNG}
    [found] = read_note(note(attachment={"type": "Image", "url": [link]})).attachments
    assert found.url == PNG


def test_an_attachment_whose_type_is_a_list_is_read():
    # JSON-LD allows several types; an unhashable type used to raise TypeError.
    typed = [
        {"type": ["Image", "schema:ImageObject"], "url": PNG},
        {"type": [["Image"]], "href": PNG},  # nothing usable: neither a known type nor a url
        {"type": {"@id": "as:Image"}, "url": PNG},
    ]
    assert [a.url for a in read_note(note(attachment=typed)).attachments] == [PNG, PNG]


@pytest.mark.parametrize(
    "item",
    [
        {"type": "Note", "href": PNG},  # not a file, and no url
        {"type": "Mention", "href": BOB},
        {"type": "Document"},  # no url at all
        {"type": "Document", "url": None},
        7,
        True,
        None,
        [PNG],  # a list inside the list
    ],
    ids=repr,
)
def test_things_that_are_not_attachments_are_skipped(item):
    assert read_note(note(attachment=[item, PNG])).attachments == [Attachment(PNG, "", "")]


@pytest.mark.parametrize("media_type", [7, None, ["image/png"], {"x": 1}, ""], ids=repr)
def test_a_media_type_that_is_not_a_string_is_empty(media_type):
    item = {"type": "Image", "url": PNG, "mediaType": media_type}
    [found] = read_note(note(attachment=item)).attachments
    assert found.media_type == ""


def test_media_types_and_descriptions_are_cut():
    item = {"type": "Image", "url": PNG, "mediaType": "image/" + "x" * 500, "name": "d" * 5000}
    [found] = read_note(note(attachment=item)).attachments
    assert (len(found.media_type), len(found.description)) == (127, 1500)


def test_a_huge_attachment_list_keeps_the_first_sixteen():
    many = [f"https://files.forms.example/{n}.png" for n in range(100_000)]
    found = read_note(note(attachment=many)).attachments
    assert [a.url for a in found] == many[:MAX_ATTACHMENTS]


def test_only_sixteen_items_are_looked_at_even_if_the_first_are_unusable():
    junk = ["javascript:x"] * MAX_ATTACHMENTS
    assert read_note(note(attachment=[*junk, PNG])).attachments == []


# inReplyTo, context, conversation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://forms.example/notes/0", "https://forms.example/notes/0"),
        ({"type": "Note", "id": "https://forms.example/notes/0"}, "https://forms.example/notes/0"),
        (["https://forms.example/notes/0"], "https://forms.example/notes/0"),
        ([None, 3, "https://forms.example/notes/0"], "https://forms.example/notes/0"),
        ({"type": "Note"}, None),
        ("tag:forms.example,2026:objectId=1", None),  # a reply names a note, an http URI
        (None, None),
        (0, None),
    ],
    ids=repr,
)
def test_in_reply_to_in_every_form(value, expected):
    assert read_note(note(inReplyTo=value)).in_reply_to == expected


@pytest.mark.parametrize(
    ("properties", "thread"),
    [
        ({"context": "https://forms.example/contexts/1"}, ["https://forms.example/contexts/1"]),
        (
            {"context": {"type": "Collection", "id": "https://forms.example/contexts/1"}},
            ["https://forms.example/contexts/1"],
        ),
        (
            # Mastodon: an OStatus tag URI, and since 4.3 a context too
            {
                "context": "https://forms.example/contexts/1",
                "conversation": "tag:forms.example,2026-11-26:objectId=7:objectType=Conversation",
            },
            [
                "https://forms.example/contexts/1",
                "tag:forms.example,2026-11-26:objectId=7:objectType=Conversation",
            ],
        ),
        (
            {"conversation": "tag:forms.example,2026-11-26:objectId=7:objectType=Conversation"},
            ["tag:forms.example,2026-11-26:objectId=7:objectType=Conversation"],
        ),
        (
            {"context": "urn:uuid:9b1d4c38-9d0a-4b5e-8f3e-6f1c4b1f0d2a"},
            ["urn:uuid:9b1d4c38-9d0a-4b5e-8f3e-6f1c4b1f0d2a"],
        ),
        (
            {"context": "https://a.example/c", "conversation": "https://a.example/c"},
            ["https://a.example/c"],
        ),
        ({"context": ["https://a.example/c", "https://a.example/d"]}, ["https://a.example/c"]),
        ({"context": []}, []),
        ({"context": "no colon"}, []),
        ({"context": "tag:with space"}, []),
        ({"context": "tag:bell\x07"}, []),
        ({"context": "tag:" + "x" * 2048}, []),
        ({"context": 7, "conversation": None}, []),
        ({"context": {"type": "Collection"}}, []),
    ],
    ids=repr,
)
def test_context_and_conversation_in_every_form(properties, thread):
    assert read_note(note(**properties)).thread == thread


# to, cc, bto, bcc --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"to": BOB}, [BOB]),
        ({"to": [BOB]}, [BOB]),
        ({"to": {"type": "Person", "id": BOB}}, [BOB]),
        ({"to": [{"type": "Person", "id": BOB}], "cc": BOB}, [BOB]),
        ({"to": [BOB], "cc": [f"{ALICE}/followers"]}, [BOB, f"{ALICE}/followers"]),
        ({"bto": BOB, "bcc": [ALICE]}, [BOB, ALICE]),
        ({"to": "as:Public"}, ["as:Public"]),  # kept as spelt, so that it is refused
        ({"to": [None, 7, [BOB], {"type": "Person"}]}, []),
        ({"to": "not a uri"}, ["not a uri"]),  # kept, to be refused as no member
        ({}, []),
    ],
    ids=repr,
)
def test_addressees_in_every_form(properties, expected):
    assert read_note(note(**properties)).addressees == expected


def test_a_mass_addressed_note_stops_reading_one_past_the_limit():
    crowd = [f"https://quartier.example/users/{n}" for n in range(10_000)]
    assert addressees({"to": crowd}) == crowd[: MAX_ADDRESSEES + 1]
    assert addressees({"to": crowd[:20], "cc": crowd[20:]}, limit=30) == crowd[:31]


def test_public_and_collection_addresses():
    for spelling in ("https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"):
        assert is_public({"cc": [BOB, spelling]})
        assert is_collection_address(spelling)
    assert not is_public({"to": BOB, "cc": f"{ALICE}/followers"})
    assert is_collection_address(f"{ALICE}/followers/")
    assert not is_collection_address(BOB)


# published, id, and hostile notes ----------------------------------------------------------------


def test_published_is_read_as_utc():
    assert read_note(note(published="2026-11-26T13:00:00+01:00")).published == datetime(
        2026, 11, 26, 12, 0, tzinfo=UTC
    )
    assert read_note(note(published=1764158400)).published is None


def test_a_note_with_every_property_of_the_wrong_type_reads_as_empty():
    for junk in (None, 0, 1.5, True, "", [], {}, [[[]]], [None] * 100_000, {"id": {"id": 1}}):
        properties = dict.fromkeys(
            [
                "id",
                "attributedTo",
                "content",
                "contentMap",
                "summary",
                "summaryMap",
                "attachment",
                "published",
                "context",
                "conversation",
                "inReplyTo",
                "to",
                "cc",
                "bto",
                "bcc",
            ],
            junk,
        )
        read = read_note(properties)
        assert read.is_empty, junk
        assert (read.id, read.authors, read.published, read.in_reply_to) == (None, [], None, None)
        # An address that is a string is kept as it came, to be refused as no member's.
        assert (read.thread, read.addressees) == ([], [junk] if junk == "" else [])


def test_what_counts_as_empty():
    assert read_note(note(content="<p><script>alert(1)</script></p>")).is_empty
    assert read_note(note(content=f"<p>{MENTION_BOB}</p>")).is_empty  # only who it is for
    assert read_note(note(content="<p> &nbsp; <br></p>")).is_empty
    assert not read_note(note(summary="cw")).is_empty
    assert not read_note(note(attachment=PNG)).is_empty
    assert not read_note(note(content="<p>0</p>")).is_empty


# html_to_text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (f"<p>{MENTION_BOB} hi</p>", "hi"),
        (f"<p>{MENTION_BOB} {MENTION_CAROL} hi both</p>", "hi both"),
        (f"<p>{MENTION_BOB}</p><p>hi</p>", "hi"),
        # a bare link with the mention class, without Mastodon's h-card around it
        (
            '<p><a href="https://quartier.example/@bob" class="u-url mention">@bob@quartier.example'
            "</a> hi</p>",
            "hi",
        ),
        # a mention in the middle is part of the sentence
        (f"<p>ask {MENTION_CAROL} about it</p>", "ask @carol about it"),
        (f"<p>{MENTION_BOB} ask {MENTION_CAROL}</p>", "ask @carol"),
        # a hashtag is text, even first
        (
            '<p><a href="https://forms.example/tags/ladder" class="mention hashtag" rel="tag">'
            f"#<span>ladder</span></a> {MENTION_BOB} hi</p>",
            "#ladder @bob hi",
        ),
        # an ordinary link first ends the leading mentions too
        (f'<p><a href="https://other.example/">a link</a> {MENTION_BOB}</p>', "a link @bob"),
        ("<p>plain</p>", "plain"),
    ],
    ids=repr,
)
def test_only_leading_mentions_are_left_out(html, text):
    assert html_to_text(html, skip_leading_mentions=True) == text


def test_without_skipping_mentions_are_text():
    assert html_to_text(f"<p>{MENTION_BOB} hi</p>") == "@bob hi"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ('<p>a<script>alert("x")</script>b</p>', "ab"),
        ("<style>p { color: red }</style><p>styled</p>", "styled"),
        ("<template><p>hidden</p></template>shown", "shown"),
        ("<p>one<br>two</p><p>three</p><ul><li>four</li></ul>", "one\ntwo\nthree\nfour"),
        ("<p>&lt;b&gt; &amp; &#x1F600;</p>", "<b> & \U0001f600"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("<script>never closed", ""),
        ("", ""),
    ],
    ids=repr,
)
def test_html_becomes_text(html, text):
    assert html_to_text(html) == text


def test_html_to_text_cuts_at_the_limit():
    assert html_to_text("<p>" + "x" * 1000 + "</p>", 10) == "x" * 10


# what we send ------------------------------------------------------------------------------------


RECIPIENTS = [
    Mention("https://b.example/users/bob", "bob@b.example"),
    Mention("https://c.example/u/cy", "cy@c.example"),
]


def test_a_private_note_mentions_each_recipient_in_tags_and_in_its_first_paragraph():
    sent = private_note(
        "https://q.example/notes/1",
        "https://q.example/users/ada",
        RECIPIENTS,
        "Hi <b>you</b> & co\n\nsecond",
        "https://q.example/contexts/1",
        "2026-11-26T12:00:00Z",
    )
    assert sent["tag"] == [
        {"type": "Mention", "href": "https://b.example/users/bob", "name": "@bob@b.example"},
        {"type": "Mention", "href": "https://c.example/u/cy", "name": "@cy@c.example"},
    ]
    assert (sent["to"], sent["cc"]) == ([m.actor for m in RECIPIENTS], [])
    assert sent["context"] == sent["conversation"] == "https://q.example/contexts/1"
    assert "inReplyTo" not in sent
    assert sent["content"] == (
        '<p><span class="h-card" translate="no"><a href="https://b.example/users/bob" '
        'class="u-url mention">@<span>bob</span></a></span> '
        '<span class="h-card" translate="no"><a href="https://c.example/u/cy" '
        'class="u-url mention">@<span>cy</span></a></span> '
        "Hi &lt;b&gt;you&lt;/b&gt; &amp; co</p><p>second</p>"
    )
    # What a server like ours reads back is the member's text, without the mentions.
    read = read_note(sent)
    assert (read.text, read.authors, read.addressees) == (
        "Hi <b>you</b> & co\nsecond",
        ["https://q.example/users/ada"],
        [m.actor for m in RECIPIENTS],
    )
    assert read.thread == ["https://q.example/contexts/1"]


def test_a_reply_names_its_parent_and_an_empty_text_is_only_mentions():
    sent = private_note(
        "https://q.example/notes/2",
        "https://q.example/users/ada",
        RECIPIENTS[:1],
        "",
        "https://q.example/contexts/1",
        "2026-11-26T12:00:00Z",
        in_reply_to="https://b.example/notes/1",
    )
    assert sent["inReplyTo"] == "https://b.example/notes/1"
    assert sent["content"] == f"<p>{RECIPIENTS[0].as_html()}</p>"


def test_mention_markup_escapes_what_it_quotes():
    odd = Mention('https://b.example/users/"><script>', "<i>x</i>@b.example")
    assert "<script>" not in odd.as_html()
    assert "<i>" not in odd.as_html()
    assert odd.as_tag()["name"] == "@<i>x</i>@b.example"  # JSON, not HTML


def test_handles_come_from_the_username_or_the_path():
    assert handle_for("https://b.example/users/bob", None) == "bob@b.example"
    assert handle_for("https://b.example/users/bob/", "Robert") == "Robert@b.example"
    assert handle_for("https://b.example/", None) == "b.example@b.example"


def test_wrapped_notes_carry_the_notes_addressing_and_a_delete_only_a_tombstone():
    sent = private_note(
        "https://q.example/notes/1",
        "https://q.example/users/ada",
        RECIPIENTS,
        "hi",
        "https://q.example/contexts/1",
        "2026-11-26T12:00:00Z",
    )
    create = wrap("Create", "https://q.example/activities/1", sent)
    assert (create["actor"], create["to"], create["object"]) == (
        sent["attributedTo"],
        sent["to"],
        sent,
    )
    delete = wrap("Delete", "https://q.example/activities/2", sent)
    assert delete["object"] == {"id": sent["id"], "type": "Tombstone"}


def test_a_username_that_cannot_be_part_of_a_handle_is_not_used_in_one():
    assert handle_for("https://b.example/users/bob", "bob") == "bob@b.example"
    assert handle_for("https://b.example/users/bob", "x@evil.example") == "bob@b.example"
    assert handle_for("https://b.example/users/bob", None) == "bob@b.example"
