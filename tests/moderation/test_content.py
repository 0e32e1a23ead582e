"""What a post carries that the community limits: links, mentions, filtered words."""

from __future__ import annotations

import pytest

from moderation.content import (
    FilterSet,
    count_links,
    count_mentions,
    hrefs_of,
    mentioned,
    normalise_phrase,
)
from moderation.errors import InvalidFilter
from moderation.models import FilterAction

HIDE, HOLD = FilterAction.HIDE, FilterAction.HOLD


@pytest.mark.parametrize(
    ("text", "hrefs", "expected"),
    [
        ("no links here", [], 0),
        ("see https://a.example/x and http://b.example.", [], 2),
        ("www.a.example and https://www.a.example", [], 1),  # one link, two spellings
        ("https://a.example/x https://a.example/x https://A.example/x", [], 1),
        ("https://a.example", ["https://a.example"], 1),  # its own link text: once
        ("", ["https://a.example", "https://b.example", " "], 2),
    ],
)
def test_links_are_counted_once_each(text, hrefs, expected):
    assert count_links(text, hrefs) == expected


@pytest.mark.parametrize(
    ("text", "tagged", "expected"),
    [
        ("write to bea@mail.example", [], 0),  # an e-mail address is not a mention
        ("@bea and @cyd@other.example, @bea again", [], 2),
        ("hi", ["https://x.example/users/a", ""], 1),
        ("https://x.example/@bea", [], 0),  # a profile link is a link
    ],
)
def test_mentions_are_counted_once_each(text, tagged, expected):
    assert count_mentions(text, tagged) == expected


def test_hrefs_and_mention_tags_in_every_form():
    html = '<a href="https://a.example">a</a> <a rel="x" href=\'https://b.example\'>b</a>'
    assert hrefs_of(html) == ["https://a.example", "https://b.example"]
    one = {"tag": {"type": "Mention", "href": "https://x.example/u/a"}}
    many = {"tag": [{"type": "Hashtag", "href": "h"}, {"type": "Mention", "href": "m"}, 3]}
    assert mentioned(one) == ["https://x.example/u/a"]
    assert mentioned(many) == ["m"]
    assert mentioned({"tag": "nonsense"}) == mentioned("nonsense") == []


def test_filters_match_whole_words_any_case_and_spacing_hold_first():
    filters = FilterSet([("casino", HIDE), ("crypto investment", HOLD)])
    assert filters.match("Online CASINO!").action is HIDE
    assert filters.match("casinos") is None
    assert filters.match("a crypto\n  INVESTMENT plan").phrase == "crypto investment"
    assert filters.match("casino and crypto investment").action is HOLD
    assert filters.match("", "nothing") is None
    assert not FilterSet([])


def test_phrases_are_normalised_or_refused():
    assert normalise_phrase("  crypto \t investment ") == "crypto investment"
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(InvalidFilter):
            normalise_phrase(bad)
