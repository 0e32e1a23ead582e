"""A member's status text as HTML: what is a mention, a hashtag or a link, and that nothing
they type becomes markup."""

from __future__ import annotations

from node.statuses.text import parse, to_html

TAGS = "https://q.example/tags/"


def test_mentions_and_hashtags_are_found_once_each_in_order() -> None:
    parsed = parse("@cyd. Hi @ada@127.0.0.1:8081 and @bob@example.org, @cyd again #Lift #lift #1")
    assert parsed.handles == ["cyd", "ada@127.0.0.1:8081", "bob@example.org"]
    assert parsed.tags == ["lift"]


def test_addresses_and_anchors_are_not_mentions_or_tags() -> None:
    parsed = parse("write to me@example.org or see https://x.example/#top and a&#38;b")
    assert parsed.handles == []
    assert parsed.tags == []


def test_html_escapes_everything_typed() -> None:
    out = to_html('<script>alert("x")</script> & <b>', {}, TAGS)
    assert out == "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;</p>"


def test_known_mentions_link_unknown_stay_text() -> None:
    out = to_html("@bob hi @nobody", {"bob": "https://q.example/users/bob"}, TAGS)
    assert (
        '<a href="https://q.example/users/bob" class="u-url mention">@<span>bob</span></a>' in out
    )
    assert out.endswith(" hi @nobody</p>")


def test_links_tags_and_paragraphs() -> None:
    out = to_html("See https://a.example/x?y=1&z=2.\n\nNew #Café", {}, TAGS)
    assert 'href="https://a.example/x?y=1&amp;z=2"' in out
    assert ">https://a.example/x?y=1&amp;z=2</a>.</p>" in out  # the final dot is not the link's
    tag = '<a href="https://q.example/tags/café" class="mention hashtag" rel="tag">'
    assert tag + "#<span>Café</span></a>" in out
    assert out.count("<p>") == 2


def test_a_link_cannot_break_out_of_its_attribute() -> None:
    out = to_html('https://a.example/"onmouseover="alert(1)', {}, TAGS)
    assert 'onmouseover="' not in out
