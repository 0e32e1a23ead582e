"""Text folding for listing search: one function for documents and queries, on every engine.

Search matches *terms*: runs of letters and digits of the folded text (lower case, accents
removed, ligatures spelled out). The listing service stores :func:`index_fields` of a listing's
title and description in ``Listing.search_text``: the terms alone, separated by single spaces.
Punctuation is gone from that text on purpose, so that SQLite's ``unicode61`` tokenizer,
PostgreSQL's text-search parser (which otherwise reads ``3.5``, ``a-b`` or ``x@y.z`` as single
tokens) and :func:`terms` in Python all cut it into the same words.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose but that people type without (and with) their accent.
# Lower case only: ``str.casefold`` runs first (and turns ß into ss by itself).
_SPELLED_OUT = {
    "œ": "oe",
    "æ": "ae",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ı": "i",  # noqa: RUF001 - the dotless i, on purpose
}
_TO_SPELL_OUT = re.compile(f"[{''.join(_SPELLED_OUT)}]")

# The marks NFKD splits from accented Latin (and Greek and Cyrillic) letters; other scripts'
# combining marks are looked up one character at a time, which is slower (a character class of
# every combining mark is slower still in ``re``: it tests its ranges one after the other).
_COMMON_MARKS = re.compile("[\u0300-\u036f]")


# A term: letters and digits. Not ``\w+``: the underscore is a separator, as it is for
# SQLite's unicode61 tokenizer and PostgreSQL's parser. Nor the few letters unicode61 (SQLite
# 3.40) reads as separators (New Tai Lue vowel signs, two Vedic signs): a term must be one
# FTS5 token (tests/node/test_listing_search.py checks the running SQLite).
_TERM = re.compile(r"[^\W_\u19b0-\u19c0\u19c8\u19c9\u1cf2\u1cf3]+")


def fold(text: str) -> str:
    """``text`` in lower case, without accents (``Vélo`` -> ``velo``, ``Œuvre`` -> ``oeuvre``,
    ``Straße`` -> ``strasse``), compatibility characters decomposed (``ﬁ`` -> ``fi``), and
    whitespace runs made single spaces."""
    if text.isascii():
        return " ".join(text.lower().split())
    text = _TO_SPELL_OUT.sub(lambda m: _SPELLED_OUT[m[0]], text.casefold())
    # NFKD splits é into e and a combining accent, which is then dropped.
    bare = _COMMON_MARKS.sub("", unicodedata.normalize("NFKD", text))
    if not bare.isascii():
        bare = "".join(ch for ch in bare if not unicodedata.combining(ch))
    return " ".join(bare.split())


def terms(text: str) -> list[str]:
    """The search terms of ``text``, folded, in order (repeats kept)."""
    return _TERM.findall(fold(text))


def index_fields(title: str, description: str) -> str:
    """What ``Listing.search_text`` must hold for a listing with this title and description
    (plain text): their terms, separated by single spaces.

    The listing service sets it on every create and edit (local listings and remote copies);
    a listing whose ``search_text`` is empty is found by no text search."""
    return " ".join(terms(f"{title}\n{description}"))
