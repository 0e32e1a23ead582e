"""Listing search on a real database (SQLite, or PostgreSQL with QUARTIER_TEST_POSTGRES): text,
filters, orders, cursors, bad parameters, and the Python predicate saved searches use."""

from __future__ import annotations

import itertools
import random
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from node.errors import ValidationFailed
from node.listings.models import Audience, Kind, Listing, Status
from node.listings.query import ListingQuery, query_params
from node.listings.search import (
    distance_m,
    fold,
    index_fields,
    matches,
    optimize_index,
    parse_query,
    search,
    terms,
)

pytestmark = pytest.mark.usefixtures("db")

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOME = (45.7578, 4.8320)  # the searcher's point
_serial = itertools.count()


async def make(title: str, description: str = "", **fields: Any) -> Listing:
    """A listing stored through the ORM, its search text set as the service sets it."""
    n = next(_serial)
    values: dict[str, Any] = {
        "ap_id": f"https://a.example/listings/{n}",
        "local": True,
        "author": "https://a.example/users/alice",
        "origin_host": "a.example",
        "kind": Kind.GIVE,
        "status": Status.OPEN,
        "audience": Audience.PUBLIC,
        "category": "tools",
        "published_at": NOW - timedelta(minutes=n),
        "expires_at": None,
        "latitude": HOME[0],
        "longitude": HOME[1],
    }
    values.update(fields)
    values.setdefault("updated_at", values["published_at"])
    return await Listing.create(
        title=title,
        description=description,
        search_text=index_fields(title, description),
        **values,
    )


async def found(params: Mapping[str, str] | ListingQuery) -> list[int]:
    """Ids of every listing the search finds, following cursors to the last page."""
    query = params if isinstance(params, ListingQuery) else parse_query(params)
    ids: list[int] = []
    for _ in range(100):
        page = await search(query)
        ids += [listing.id for listing in page.listings]
        if page.next_cursor is None:
            return ids
        query = parse_query({**query_params(query), "cursor": page.next_cursor})
    raise AssertionError("more than 100 pages")


async def titles(params: Mapping[str, str]) -> set[str]:
    page = await search(parse_query(params))
    assert page.next_cursor is None
    return {listing.title for listing in page.listings}


def on_postgres() -> bool:
    return str(Listing._meta.db.capabilities.dialect) == "postgres"


def refused(params: Mapping[str, str]) -> list[str]:
    """The fields ``parse_query`` names as wrong."""
    with pytest.raises(ValidationFailed) as caught:
        parse_query(params)
    assert caught.value.status == 422
    return [detail["field"] for detail in caught.value.details]


# --------------------------------------------------------------------------------------------
# Folding and text


def test_fold_lowers_strips_accents_and_spells_out_ligatures() -> None:
    assert fold("Vélo") == fold("VELO") == fold("velo") == "velo"
    assert fold("Œuvre  complète\tà\n prêter") == "oeuvre complete a preter"
    assert fold("Straße") == "strasse"
    assert fold("ﬁlet Ærø Łódź") == "filet aero lodz"


def test_every_term_is_one_fts5_token() -> None:
    # A term FTS5 split in two would be a phrase, which an index without positions refuses.
    conn = sqlite3.connect(":memory:")
    conn.execute(
        'CREATE VIRTUAL TABLE t USING fts5(x, tokenize="unicode61 remove_diacritics 2'
        " tokenchars '_'\", detail=none)"
    )
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
    letters = [chr(c) for c in range(0x20, 0x30000) if not 0xD800 <= c <= 0xDFFF]
    # one term, as index_fields writes it, around each character searches reads as a letter
    indexed = [t[0] for ch in letters if len(t := terms(f"a{ch}a")) == 1 and len(t[0]) > 2]
    conn.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)", enumerate(indexed))
    assert conn.execute("SELECT doc FROM v WHERE term = 'a'").fetchall() == []


def test_index_fields_keeps_the_words_only() -> None:
    assert index_fields("Porte-vélo (2 places)", "l'été: 3.5 kg, x@y.fr") == (
        "porte velo 2 places l ete 3 5 kg x y fr"
    )


async def test_accents_and_case_do_not_matter() -> None:
    await make("Vélo de ville")
    await make("VELO rouge")
    await make("Vélos d'enfant")
    await make("Table basse")
    every_velo = {"Vélo de ville", "VELO rouge", "Vélos d'enfant"}
    assert await titles({"q": "velo"}) == every_velo  # the last word is also a prefix
    assert await titles({"q": "VÉLO"}) == every_velo
    assert await titles({"q": "velo rouge"}) == {"VELO rouge"}
    assert await titles({"q": "rouge vélo"}) == {"VELO rouge"}


async def test_stemming_where_the_engine_offers_it() -> None:
    await make("Vélo de ville")
    await make("Vélos d'enfant")
    await make("Kids bike")
    if on_postgres():
        # French and English stems: the plural finds the singular
        assert await titles({"q": "vélos enfant"}) == {"Vélos d'enfant"}
        assert await titles({"q": "velos"}) == {"Vélo de ville", "Vélos d'enfant"}
        assert await titles({"q": "bikes kids"}) == {"Kids bike"}
    else:
        # SQLite matches words as written (see node/listings/search.py)
        assert await titles({"q": "velos"}) == {"Vélos d'enfant"}
        assert await titles({"q": "bikes kids"}) == set()


async def test_every_word_must_match() -> None:
    await make("Perceuse Bosch", "sans fil")
    await make("Perceuse Makita")
    await make("Ponceuse Bosch")
    assert await titles({"q": "perceuse bosch"}) == {"Perceuse Bosch"}
    assert await titles({"q": "bosch fil"}) == {"Perceuse Bosch"}  # title and description
    assert await titles({"q": "perceuse ryobi"}) == set()


async def test_the_last_word_is_a_prefix_and_only_the_last() -> None:
    await make("Perceuse Bosch")
    await make("Tondeuse électrique")
    assert await titles({"q": "perc"}) == {"Perceuse Bosch"}
    assert await titles({"q": "bosch perc"}) == {"Perceuse Bosch"}
    assert await titles({"q": "perc bosch"}) == set()  # not the last: a whole word
    assert await titles({"q": "électr"}) == {"Tondeuse électrique"}
    assert await titles({"q": "el"}) == {"Tondeuse électrique"}


async def test_a_single_letter_is_a_whole_word_not_a_prefix() -> None:
    await make("Vitamine C en sachets")
    await make("Vélo")
    assert await titles({"q": "c"}) == {"Vitamine C en sachets"}
    assert await titles({"q": "v"}) == set()


async def test_a_long_prefix_with_many_completions() -> None:
    # past the prefix index, a prefix is spelt out as its completions (up to 40), then FTS5's
    # own prefix syntax: both find the same
    for n in range(45):
        await make(f"Modèle xz{n:03d}")
    await make("Modèle xy100")
    assert len(await found({"q": "xz0", "limit": "100"})) == 45
    assert len(await found({"q": "xz01", "limit": "100"})) == 10
    assert len(await found({"q": "modele xz04", "limit": "100"})) == 5


@pytest.mark.parametrize(
    "text",
    [
        '"',
        'velo"',
        'velo" OR "table',
        "velo*",
        "*",
        "NEAR(velo table)",
        "velo NEAR/2 table",
        "title:velo",
        "search_text:velo",
        "velo & table | !chaise",
        "(velo OR table)",
        "velo -table",
        "velo AND NOT table",
        "^velo",
        "'velo'",
        "velo':*",
        "\\",
        "velo\\",
        "velo\x00table",
        "\U0001d567\U0001d556\U0001d55d\U0001d560",  # double-struck: NFKD reads velo
    ],
)
async def test_user_text_is_never_read_as_query_syntax(text: str) -> None:
    listings = [
        await make("Vélo rouge"),
        await make("Table basse"),
        await make("Vélo et table"),
        await make("Chaise"),
        await make("Velo near table and not chaise or title"),
    ]
    query = parse_query({"q": text})
    expected = [listing.id for listing in listings if matches(listing, query)]  # newest first
    assert await found(query) == expected


async def test_text_without_a_word_finds_everything() -> None:
    await make("Vélo")
    await make("Table")
    assert len(await found({"q": "  !!! ... "})) == 2


def test_text_too_long_or_with_too_many_words_is_refused() -> None:
    assert refused({"q": "velo " * 200}) == ["q"]
    assert refused({"q": " ".join(f"w{n}" for n in range(17))}) == ["q"]
    parse_query({"q": " ".join(f"w{n}" for n in range(16))})


# --------------------------------------------------------------------------------------------
# The index follows the table


async def test_edits_status_changes_and_deletions_reach_the_index() -> None:
    listing = await make("Vélo rouge")
    await Listing.filter(id=listing.id).update(
        title="Trottinette", search_text=index_fields("Trottinette", "")
    )
    assert await titles({"q": "velo"}) == set()
    assert await titles({"q": "trottinette"}) == {"Trottinette"}
    await Listing.filter(id=listing.id).update(status=Status.RESERVED)
    assert await titles({"q": "trottinette"}) == set()
    assert await titles({"q": "trottinette", "status": "reserved"}) == {"Trottinette"}
    await Listing.filter(id=listing.id).update(published_at=NOW - timedelta(days=3))
    assert await titles({"q": "trottinette", "status": "reserved"}) == {"Trottinette"}
    await Listing.filter(id=listing.id).delete()
    assert await titles({"q": "trottinette", "status": "reserved"}) == set()
    await optimize_index()
    await make("Trottinette bleue")
    assert await titles({"q": "trottinette"}) == {"Trottinette bleue"}


async def test_filters_never_match_as_words_and_follow_edits() -> None:
    # SQLite indexes the status, kind, category and audience beside the words: as words no
    # search can spell, whatever the category holds
    odd = "maison & jardin-d'été"
    listing = await make("Tondeuse", category=odd, kind=Kind.LEND)
    await make("Jardin partagé", category="garden")
    assert await titles({"q": "maison"}) == set()
    assert await titles({"q": "jardin"}) == {"Jardin partagé"}
    assert await titles({"q": "s"}) == set()
    assert await titles({"q": "open"}) == set()
    in_odd = ListingQuery(text="tondeuse", categories=frozenset({odd}), kinds=frozenset({"lend"}))
    assert [found.title for found in (await search(in_odd)).listings] == ["Tondeuse"]
    await Listing.filter(id=listing.id).update(category="tools", kind=Kind.GIVE)
    assert (await search(in_odd)).listings == []
    assert await titles({"q": "tondeuse", "category": "tools", "kind": "give"}) == {"Tondeuse"}
    await Listing.filter(id=listing.id).update(audience=Audience.NODE)
    assert await titles({"q": "tondeuse", "audience": "public"}) == set()
    assert await titles({"q": "tondeuse", "audience": "node"}) == {"Tondeuse"}


# --------------------------------------------------------------------------------------------
# Filters


async def test_kind_category_status_audience() -> None:
    await make("A", kind=Kind.GIVE, category="tools")
    await make("B", kind=Kind.SELL, category="garden", price_minor=500, currency="EUR")
    await make("C", kind=Kind.LEND, category="tools", audience=Audience.NODE)
    await make("D", kind=Kind.GIVE, category="tools", status=Status.WITHDRAWN)
    await make("E", kind=Kind.REQUEST, category="books", status=Status.DONE)
    assert await titles({}) == {"A", "B", "C"}  # open only, by default
    assert await titles({"kind": "give,lend"}) == {"A", "C"}
    assert await titles({"category": "tools"}) == {"A", "C"}
    assert await titles({"category": "tools,garden", "kind": "sell"}) == {"B"}
    assert await titles({"status": "withdrawn,done"}) == {"D", "E"}
    assert await titles({"status": "open,withdrawn", "kind": "give"}) == {"A", "D"}
    assert await titles({"audience": "public"}) == {"A", "B"}  # what anonymous callers see
    assert await titles({"audience": "node,partners"}) == {"C"}


async def test_origin_and_local() -> None:
    await make("ours", local=True, origin_host="a.example")
    await make("theirs", local=False, origin_host="b.example")
    await make("other", local=False, origin_host="c.example")
    assert await titles({"origin": "local"}) == {"ours"}
    assert await titles({"origin": "B.example"}) == {"theirs"}
    assert await titles({"origin": "local,c.example"}) == {"ours", "other"}
    assert await titles({"local": "true"}) == {"ours"}
    assert await titles({"local": "false"}) == {"theirs", "other"}
    assert await titles({"local": "false", "origin": "local"}) == set()


async def test_price_range_in_a_currency() -> None:
    await make("free", kind=Kind.GIVE)
    await make("5 EUR", kind=Kind.SELL, price_minor=500, currency="EUR")
    await make("10 EUR", kind=Kind.SELL, price_minor=1000, currency="EUR")
    await make("20 EUR", kind=Kind.SELL, price_minor=2000, currency="EUR")
    await make("10 CHF", kind=Kind.SELL, price_minor=1000, currency="CHF")
    assert await titles({"max_price": "1000", "currency": "eur"}) == {"5 EUR", "10 EUR"}
    assert await titles({"min_price": "1000", "currency": "EUR"}) == {"10 EUR", "20 EUR"}
    assert await titles({"min_price": "600", "max_price": "1500", "currency": "EUR"}) == {"10 EUR"}
    assert await titles({"min_price": "0", "currency": "CHF"}) == {"10 CHF"}
    assert await titles({"currency": "CHF"}) == {"10 CHF"}


async def test_near_keeps_listings_within_the_distance() -> None:
    await make("here")
    await make("800 m north", latitude=HOME[0] + 0.0072)  # 0.0072 degrees: 800 m
    await make("3 km east", longitude=HOME[1] + 0.0386)
    await make("nowhere", latitude=None, longitude=None)
    near = f"{HOME[0]},{HOME[1]}"
    assert await titles({"near": near, "km": "0.5"}) == {"here"}
    assert await titles({"near": near, "km": "1"}) == {"here", "800 m north"}
    assert await titles({"near": near, "km": "3.1"}) == {"here", "800 m north", "3 km east"}
    assert await titles({"near": near, "km": "2.9", "q": "east"}) == set()
    assert await titles({"near": near, "km": "3.1", "q": "east"}) == {"3 km east"}
    assert await titles({"near": near}) == {"here", "800 m north", "3 km east"}  # 10 km


async def test_publication_and_expiry_times() -> None:
    await make("old", published_at=NOW - timedelta(days=10))
    await make("new", published_at=NOW - timedelta(hours=1), expires_at=NOW + timedelta(days=2))
    await make("ends", published_at=NOW - timedelta(days=5), expires_at=NOW + timedelta(hours=5))
    assert await titles({"published_since": "2026-11-20"}) == {"new", "ends"}
    assert await titles({"published_until": "2026-11-20T00:00:00+01:00"}) == {"old"}
    since = (NOW - timedelta(hours=1)).isoformat()
    assert await titles({"published_since": since}) == {"new"}  # inclusive
    assert await titles({"published_until": since}) == {"old", "ends"}  # exclusive
    assert await titles({"expiring_before": "2026-11-27T00:00:00Z"}) == {"ends"}
    assert await titles({"expiring_before": "2026-12-01"}) == {"new", "ends"}


async def test_authors_any_some_or_none() -> None:
    await make("alice's", author="https://a.example/users/alice")
    await make("bob's", author="https://b.example/users/bob")
    assert await titles({"author": "https://b.example/users/bob"}) == {"bob's"}
    verified = ListingQuery(authors=frozenset({"https://a.example/users/alice", "https://x/y"}))
    assert [listing.title for listing in (await search(verified)).listings] == ["alice's"]
    assert (await search(ListingQuery(authors=frozenset()))).listings == []  # nobody verified
    assert len((await search(ListingQuery(authors=None))).listings) == 2


# --------------------------------------------------------------------------------------------
# Orders and cursors


async def test_newest_first() -> None:
    for hours in (5, 1, 3):
        await make(f"vélo {hours}", published_at=NOW - timedelta(hours=hours))
    expected = ["vélo 1", "vélo 3", "vélo 5"]
    for params in ({}, {"q": "velo"}, {"sort": "newest"}):
        assert [listing.title for listing in (await search(parse_query(params))).listings] == (
            expected
        )


async def test_ending_soon_lists_only_listings_that_expire() -> None:
    await make("standing offer vélo", expires_at=None)
    await make("in 3 days vélo", expires_at=NOW + timedelta(days=3))
    await make("in 1 day vélo", expires_at=NOW + timedelta(days=1))
    await make("in 2 days vélo", expires_at=NOW + timedelta(days=2))
    expected = ["in 1 day vélo", "in 2 days vélo", "in 3 days vélo"]
    for params in ({"sort": "ending_soon"}, {"sort": "ending_soon", "q": "velo"}):
        page = await search(parse_query(params))
        assert [listing.title for listing in page.listings] == expected


async def test_nearest_first_with_distances() -> None:
    await make("3 km", latitude=HOME[0] + 0.027)
    await make("here")
    await make("1 km", longitude=HOME[1] + 0.0129)
    await make("far", latitude=HOME[0] + 1)
    for extra in ({}, {"q": "km"}):
        params = {"near": f"{HOME[0]},{HOME[1]}", "km": "5", "sort": "nearest", **extra}
        page = await search(parse_query(params))
        want = ["here", "1 km", "3 km"] if not extra else ["1 km", "3 km"]
        assert [listing.title for listing in page.listings] == want
        got = [page.distances_m[listing.id] for listing in page.listings]
        assert [round(metres) for metres in got] == ([0, 1001, 3002] if not extra else [1001, 3002])
        for listing, metres in zip(page.listings, got, strict=True):
            python = distance_m(*HOME, listing.latitude or 0, listing.longitude or 0)
            assert metres == pytest.approx(python, rel=1e-9, abs=1e-6)


def test_distance_is_the_great_circle_distance() -> None:
    paris, lyon = (48.8566, 2.3522), (45.7640, 4.8357)
    assert round(distance_m(*paris, *lyon) / 1000) == 391


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": "vélo"},
        {"q": "velo rouge"},
        {"sort": "ending_soon"},
        {"sort": "ending_soon", "q": "velo"},
        {"sort": "nearest", "near": f"{HOME[0]},{HOME[1]}"},
        {"sort": "nearest", "near": f"{HOME[0]},{HOME[1]}", "q": "velo"},
        {"near": f"{HOME[0]},{HOME[1]}", "km": "2", "q": "rouge"},
    ],
)
async def test_cursor_pages_through_ties_without_repeats_or_gaps(params: dict[str, str]) -> None:
    # 25 listings published in the same second, expiring at the same time, at the same point:
    # only the id tells them apart
    same = {"published_at": NOW, "expires_at": NOW + timedelta(days=1)}
    ids = {(await make("Vélo rouge", **same)).id for _ in range(25)}
    await make("Vélo rouge plus ancien", published_at=NOW - timedelta(days=1))
    await make("Chaise", **same)
    pages = []
    query = parse_query({**params, "limit": "10"})
    while True:
        page = await search(query)
        pages.append([listing.id for listing in page.listings])
        if page.next_cursor is None:
            break
        query = parse_query({**params, "limit": "10", "cursor": page.next_cursor})
    seen = [listing_id for page in pages for listing_id in page]
    assert len(seen) == len(set(seen))
    assert ids <= set(seen)
    assert len(pages) >= 3
    assert all(len(page) == 10 for page in pages[:-1])
    tied = [listing_id for listing_id in seen if listing_id in ids]
    # ties broken by id: descending for newest, ascending for the others
    assert tied == sorted(ids, reverse=params.get("sort", "newest") == "newest")


async def test_a_cursor_works_only_for_its_own_search() -> None:
    for _ in range(3):
        await make("Vélo")
    page = await search(parse_query({"q": "velo", "limit": "1"}))
    assert page.next_cursor is not None
    more = await search(parse_query({"q": "vélo", "limit": "2", "cursor": page.next_cursor}))
    assert len(more.listings) == 2  # same search, another page size: fine
    assert refused({"q": "table", "cursor": page.next_cursor}) == ["cursor"]
    assert refused({"q": "velo", "sort": "ending_soon", "cursor": page.next_cursor}) == ["cursor"]
    assert refused({"q": "velo", "kind": "give", "cursor": page.next_cursor}) == ["cursor"]


# --------------------------------------------------------------------------------------------
# Bad parameters


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"min_price": "-1", "currency": "EUR"}, ["min_price"]),
        ({"max_price": "ten", "currency": "EUR"}, ["max_price"]),
        ({"min_price": "500", "max_price": "100", "currency": "EUR"}, ["max_price"]),
        ({"max_price": "100"}, ["currency"]),
        ({"currency": "euros"}, ["currency"]),
        ({"kind": "swap"}, ["kind"]),
        ({"kind": ""}, ["kind"]),
        ({"status": "open,lost"}, ["status"]),
        ({"audience": "everyone"}, ["audience"]),
        ({"category": "<script>"}, ["category"]),
        ({"origin": "http://b.example/"}, ["origin"]),
        ({"local": "yes"}, ["local"]),
        ({"limit": "0"}, ["limit"]),
        ({"limit": "1000"}, ["limit"]),
        ({"limit": "-5"}, ["limit"]),
        ({"limit": "ten"}, ["limit"]),
        ({"cursor": "garbage"}, ["cursor"]),
        ({"cursor": "W10"}, ["cursor"]),  # base64 of []
        ({"cursor": "x" * 1000}, ["cursor"]),
        ({"near": ""}, ["near"]),
        ({"near": "45.7"}, ["near"]),
        ({"near": "abc,def"}, ["near"]),
        ({"near": "91,0"}, ["near"]),
        ({"near": "45,4", "km": "0"}, ["km"]),
        ({"near": "45,4", "km": "nan"}, ["km"]),
        ({"near": "45,4", "km": "100000"}, ["km"]),
        ({"km": "3"}, ["km"]),
        ({"sort": "nearest"}, ["sort"]),
        ({"sort": "cheapest"}, ["sort"]),
        ({"published_since": "yesterday"}, ["published_since"]),
        ({"published_until": "2026-11-26T12:00:00"}, ["published_until"]),  # no time zone
        ({"expiring_before": "2026-13-01"}, ["expiring_before"]),
        ({"categroy": "tools"}, ["categroy"]),
        ({"limit": "0", "kind": "swap", "max_price": "5"}, ["currency", "kind", "limit"]),
    ],
)
def test_bad_parameters_are_named(params: dict[str, str], fields: list[str]) -> None:
    assert refused(params) == fields


def test_parameters_the_caller_owns_may_be_ignored() -> None:
    assert parse_query({"page": "2", "q": "velo"}, ignore={"page"}).terms == ("velo",)


async def test_a_forged_cursor_of_the_right_shape_is_a_422_not_a_500() -> None:
    import base64
    import json

    from node.listings.query import fingerprint

    query = parse_query({"q": "velo"})
    forged = [
        ("not a time", 1),
        ("2026-11-26T12:00:00", 1),
        (1.5, 1),
        ("x", -1),
        # beyond what the engines' keys hold: an overflow, were they taken
        ("2026-11-26T12:00:00+00:00", 2**63),
        ("9999-12-31T23:59:59+00:00", 1),
    ]
    for key, listing_id in forged:
        body = [1, "newest", fingerprint(query), key, listing_id]
        raw = base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
        assert refused({"q": "velo", "cursor": raw}) == ["cursor"]


def test_query_params_read_back_as_the_same_query() -> None:
    query = parse_query(
        {
            "q": "Vélo rouge",
            "kind": "sell,give",
            "category": "transport",
            "status": "open,reserved",
            "audience": "public",
            "origin": "local,b.example",
            "local": "false",
            "min_price": "100",
            "max_price": "9000",
            "currency": "EUR",
            "near": "45.75,4.85",
            "km": "2.5",
            "published_since": "2026-11-01T00:00:00+00:00",
            "expiring_before": "2026-12-01",
            "author": "https://a.example/users/alice",
            "sort": "nearest",
            "limit": "7",
        }
    )
    assert parse_query(query_params(query)) == query
    assert parse_query(query_params(ListingQuery())) == ListingQuery()


# --------------------------------------------------------------------------------------------
# search and matches agree


WORDS = [
    "vélo",
    "perceuse",
    "tondeuse",
    "canapé",
    "poussette",
    "échelle",
    "guitare",
    "marteau",
    "lampe",
    "drill",
    "ladder",
    "sofa",
    "kettle",
    "helmet",
    "camera",
    "bosch",
    "rouge",
    "pliant",
    "vintage",
    "enfant",
]


async def test_search_and_matches_agree_on_generated_listings() -> None:
    """Every filter, and text matched as written. The vocabulary has no two words sharing a
    French or English stem, so stemming (PostgreSQL) adds nothing here: where it would, the
    engines may find more than ``matches`` (test_stemming_where_the_engine_offers_it)."""
    rng = random.Random(8)
    listings = []
    for n in range(150):
        kind = rng.choice(list(Kind))
        priced = kind in (Kind.SELL, Kind.SERVICE) and rng.random() < 0.8
        listings.append(
            await make(
                " ".join(rng.sample(WORDS, rng.randint(1, 3))).capitalize(),
                " ".join(rng.sample(WORDS, rng.randint(0, 4))),
                kind=kind,
                category=rng.choice(["tools", "garden", "children"]),
                status=rng.choice([Status.OPEN, Status.OPEN, Status.RESERVED, Status.DONE]),
                audience=rng.choice(list(Audience)),
                local=(local := rng.random() < 0.5),
                origin_host="a.example" if local else rng.choice(["b.example", "c.example"]),
                author=f"https://a.example/users/{rng.choice('abc')}",
                price_minor=rng.choice([0, 500, 1500, 4000]) if priced else None,
                currency=rng.choice(["EUR", "EUR", "CHF"]) if priced else None,
                latitude=HOME[0] + rng.uniform(-0.05, 0.05),
                longitude=HOME[1] + rng.uniform(-0.07, 0.07),
                published_at=NOW - timedelta(hours=rng.randint(0, 200)),
                expires_at=NOW + timedelta(hours=rng.randint(1, 300)) if n % 4 else None,
            )
        )
    for case in range(120):
        params: dict[str, str] = {"limit": str(rng.choice([3, 7, 20]))}
        if rng.random() < 0.7:
            words = [fold(word) for word in rng.sample(WORDS, rng.randint(1, 2))]
            if rng.random() < 0.5:
                words[-1] = words[-1][: rng.randint(1, len(words[-1]))]
            params["q"] = " ".join(words)
        pick = rng.random
        if pick() < 0.3:
            params["kind"] = ",".join(rng.sample([k.value for k in Kind], 2))
        if pick() < 0.3:
            params["category"] = rng.choice(["tools", "garden,children"])
        if pick() < 0.2:
            params["status"] = rng.choice(["open,reserved", "done"])
        if pick() < 0.2:
            params["audience"] = "public"
        if pick() < 0.2:
            params["origin"] = rng.choice(["local", "b.example", "local,c.example"])
        if pick() < 0.2:
            params["local"] = rng.choice(["true", "false"])
        if pick() < 0.2:
            params["currency"] = rng.choice(["EUR", "CHF"])
            params["min_price"] = rng.choice(["0", "1000"])
            if pick() < 0.5:
                params["max_price"] = "4000"
        if pick() < 0.3:
            params["near"] = f"{HOME[0]},{HOME[1]}"
            params["km"] = rng.choice(["1", "3", "8"])
        if pick() < 0.2:
            params["published_since"] = (NOW - timedelta(hours=100)).isoformat()
        if pick() < 0.2:
            params["expiring_before"] = (NOW + timedelta(hours=150)).isoformat()
        if pick() < 0.1:
            params["author"] = "https://a.example/users/b"
        params["sort"] = rng.choice(
            ["newest", "ending_soon"] + (["nearest"] if "near" in params else [])
        )
        query = parse_query(params)
        expected = {listing.id for listing in listings if matches(listing, query)}
        got = await found(query)
        assert len(got) == len(set(got)), params
        assert set(got) == expected, (case, params)
