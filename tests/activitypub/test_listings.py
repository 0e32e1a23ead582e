"""Listings: ``read_listing`` over the FEP-0837 text's examples and the shapes Mitra, Epicyon
and Flohmarkt send (tests/data/payloads/listings/, README there), over every legal form of each
property, and over what a hostile or buggy server sends; our ``listing_object`` read back.

The expected values are written out here, from the payloads, never computed by the code under
test. Pure functions, no event loop.
"""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from activitypub.errors import (
    InvalidPrice,
    ListingError,
    ListingMalformed,
    NotAListing,
    UnknownCurrency,
)
from activitypub.listings import (
    CarpoolDetails,
    LendDetails,
    ListingTerms,
    Measure,
    Photo,
    Place,
    Price,
    RequestDetails,
    ServiceDetails,
    details_from_mapping,
    details_to_mapping,
    listing_activity,
    listing_object,
    looks_like_listing,
    read_listing,
)

PAYLOADS = Path(__file__).parent.parent / "data" / "payloads" / "listings"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BIKE = "https://market.example/proposals/ddde9d6f-6f3b-4770-a966-3a18ef006930"
ALICE = "https://market.example/users/alice"
MITRA = "https://mitra.example/users/carol/proposals/monero:418015bb9ae982a1975da7d79277c270"
ERIN = "https://epicyon.example/users/erin"
FLOH = "https://floh.example/users/frieda"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


# The fixtures, each with what it must become -----------------------------------------------------

EXPECTED: dict[str, dict[str, Any]] = {
    "fep-0837/proposal_full.json": {
        "id": BIKE,
        "author": ALICE,
        "kind": "sell",
        "purpose": "offer",
        "title": "Offering used bike",
        "description_text": "Blue one-speed bike, 15 years old, some rust",
        "published": datetime(2023, 6, 18, 19, 22, 3, 918737, tzinfo=UTC),
        "shape": "fep-0837",
        # 30 of Wikidata's Q4917, the US dollar, in "one"s.
        "price": Price(Decimal("30"), "USD"),
        "quantity": 1,
        "available_quantity": 1,
        "unit_based": False,
        "place": Place(name="", latitude=25.0, longitude=-71.0),
        "resource": "https://www.wikidata.org/wiki/Q11442",
        "primary_intent": f"{BIKE}#primary",
        "reciprocal_intent": f"{BIKE}#reciprocal",
        "resource_quantity": Measure("one", Decimal(1)),
        "to": (PUBLIC,),
    },
    # The first draft (2023-08): no purpose, the provider named on the intent.
    "fep-0837/proposal_2023.json": {
        "kind": "sell",
        "purpose": "offer",
        "title": "Offering used bike",
        "price": Price(Decimal("30.00"), "USD"),
    },
    "mitra/proposal.json": {
        "id": MITRA,
        "author": "https://mitra.example/users/carol",
        "kind": "service",
        "details": ServiceDetails(paid=True),
        "title": "Pay for subscription",
        "description_text": "",
        # Piconeros per second: no ISO 4217 currency, so no price, but what is asked is kept.
        "price": None,
        "price_text": "25000 caip:19:monero:418015bb9ae982a1975da7d79277c270/slip44:128",
        "unit_based": True,
        "resource_quantity": Measure("second", Decimal(1)),
        "reciprocal_quantity": Measure("one", Decimal(25000)),
        "primary_intent": f"{MITRA}#primary",
        "reciprocal_intent": f"{MITRA}#reciprocal",
    },
    "epicyon/proposal_shared_item.json": {
        "id": f"{ERIN}/shareditems/Gardentrowel",
        "author": ERIN,
        "kind": "sell",
        "title": "Garden trowel",
        "description_text": "Stainless steel, wooden handle. Hardly used.",
        "price": Price(Decimal("3.50"), "EUR"),  # Wikidata Q4916
        # Two trowels, not unitBased: one lot of two at 3.50.
        "quantity": 1,
        "resource_quantity": Measure("one", Decimal("2.0")),
        "category": "tools",
        "place": Place(name="Allotments, North Road"),
        "photos": (
            Photo(
                url="https://epicyon.example/sharefiles/erin/"
                "https___epicyon.example--users--erin--shareditems--Gardentrowel.jpg",
                media_type="image/jpeg",
                description="Garden trowel",
            ),
        ),
        "resource": "https://epicyon.example/data/toolTypes.json#garden-trowel",
        "published": datetime(2026, 11, 28, 14, 5, 9, tzinfo=UTC),
    },
    "epicyon/proposal_wanted_item.json": {
        "kind": "request",
        "purpose": "request",
        "details": RequestDetails("buy"),
        "title": "Ladder",
        "price": None,
        "category": "tools",
    },
    # "0" GBP in return: a gift.
    "epicyon/proposal_free_item.json": {
        "kind": "give",
        "title": "Tomato seedlings",
        "price": None,
        "price_text": "",
        "category": "food",
    },
    "flohmarkt/item_giveaway.json": {
        "id": f"{FLOH}/items/7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "author": FLOH,
        "kind": "give",
        "title": "Umzugskartons",
        "description_text": "Zehn Kartons, einmal benutzt.",
        "price": None,
        "place": Place(name="", latitude=49.8, longitude=9.9),
        "shape": "flohmarkt",
        "url": "https://floh.example/~frieda/7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "cc": (f"{FLOH}/followers",),
        "language": "en",
    },
    "flohmarkt/item_negotiable.json": {
        "kind": "sell",
        "title": "Werkbank",
        "price": None,
        "price_text": "VB",  # Verhandlungsbasis: make an offer
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_payload_reads_into_its_values(name: str) -> None:
    listing = read_listing(payload(name))
    for field, expected in EXPECTED[name].items():
        assert getattr(listing, field) == expected, field


def test_a_flohmarkt_item_in_its_create() -> None:
    listing = read_listing(payload("flohmarkt/create_item.json")["object"])
    assert listing.kind == "sell"
    assert listing.price == Price(Decimal("12.50"), "EUR")  # "12,50 €"
    assert listing.title == "Kinderfahrrad 20 Zoll"
    # Flohmarkt's description is plain text: escaped into paragraphs, its lines kept.
    assert listing.description_html == (
        "<p>Blau, Licht geht, Reifen neu.</p><p>Abholung in Zirndorf.</p>"
    )
    assert listing.description_text == "Blau, Licht geht, Reifen neu.\nAbholung in Zirndorf."
    assert listing.photos == (
        Photo(
            url="https://floh.example/api/v1/image/9a8b7c6d-0000-4000-8000-000000000001",
            media_type="image/jpeg",
            description="Blaues Kinderfahrrad von der Seite",
            width=600,
            height=400,
        ),
    )


def test_the_fep_minimal_example_is_refused_for_having_no_title_and_read_once_named() -> None:
    """FEP-0837 makes ``name`` only RECOMMENDED: its minimal example has neither name nor
    content, and a listing nobody can read is not shown. With a name it is a gift of one."""
    minimal = payload("fep-0837/proposal_minimal.json")
    with pytest.raises(ListingMalformed, match="no name and no content"):
        read_listing(minimal)
    listing = read_listing({**minimal, "name": "Something to give"})
    assert (listing.kind, listing.quantity, listing.price) == ("give", 1, None)
    assert listing.primary_intent == f"{BIKE}#primary"


@pytest.mark.parametrize(
    ("price", "kind", "expected", "text"),
    [
        ("1 €", "sell", Price(Decimal(1), "EUR"), ""),
        ("€ 5", "sell", Price(Decimal(5), "EUR"), ""),
        ("12,50 EUR", "sell", Price(Decimal("12.50"), "EUR"), ""),
        ("1.200 €", "sell", Price(Decimal(1200), "EUR"), ""),
        ("20 € VB", "sell", Price(Decimal(20), "EUR"), ""),
        ("CHF 30", "sell", Price(Decimal(30), "CHF"), ""),
        ("25", "sell", None, "25"),  # no currency named: the text is kept
        ("$ 25", "sell", None, "$ 25"),  # which dollar?
        ("VB", "sell", None, "VB"),
        ("0", "give", None, ""),
        ("0 €", "give", None, ""),
        ("", "give", None, ""),
        ("gratis", "give", None, ""),
        ("à donner", "give", None, ""),
        ("1,200 EUR", "sell", Price(Decimal(1200), "EUR"), ""),
        ("12.345 €", "sell", Price(Decimal(12345), "EUR"), ""),  # German thousands
    ],
)
def test_flohmarkt_free_text_prices(
    price: str, kind: str, expected: Price | None, text: str
) -> None:
    item = payload("flohmarkt/item_negotiable.json")
    item["flohmarkt:data"]["price"] = price
    listing = read_listing(item)
    assert (listing.kind, listing.price, listing.price_text) == (kind, expected, text)


# Our own listings, read back -------------------------------------------------------------------

NODE = "https://tilleuls.example"
ADA = f"{NODE}/users/ada"
GROUP = f"{NODE}/groups/tilleuls"
WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def terms(**changes: Any) -> ListingTerms:
    base: dict[str, Any] = {
        "id": f"{NODE}/listings/1",
        "author": ADA,
        "kind": "give",
        "title": "Chaise en chêne",
        "content_html": "<p>Solide, un peu rayée.</p>",
        "published": WHEN,
        "category": "furniture",
        "place": Place("Résidence Les Tilleuls", 45.764, 4.8357, 500),
        "photos": (Photo(f"{NODE}/media/1.webp", "image/webp", "Une chaise en chêne", 1200, 900),),
        "end_time": datetime(2026, 12, 31, 9, 30, tzinfo=UTC),
        "url": f"{NODE}/listings/1",
        "audience": GROUP,
        "to": (f"{GROUP}/followers",),
        "cc": (),
        "tag_base": f"{NODE}/tags/",
        "language": "fr",
    }
    base.update(changes)
    return ListingTerms(**base)


ROUND_TRIPS = {
    "give": terms(),
    "lend by date": terms(kind="lend", details=LendDetails(return_by=date(2026, 12, 20))),
    "lend for days": terms(kind="lend", details=LendDetails(duration_days=14)),
    "sell several": terms(
        kind="sell", price=Price(Decimal("12.5"), "EUR"), quantity=5, available_quantity=3
    ),
    "sell in yen": terms(kind="sell", price=Price(Decimal(1500), "JPY")),
    "paid service": terms(
        kind="service", details=ServiceDetails(paid=True), price=Price(Decimal(20), "CHF")
    ),
    "paid service, price to agree": terms(kind="service", details=ServiceDetails(paid=True)),
    "free service": terms(kind="service", details=ServiceDetails(paid=False)),
    "request to borrow": terms(kind="request", details=RequestDetails("borrow")),
    "request to buy": terms(
        kind="request", details=RequestDetails("buy"), price=Price(Decimal(40), "EUR")
    ),
    "request for help": terms(kind="request", details=RequestDetails("help"), status="reserved"),
    "carpool": terms(
        kind="carpool",
        category="transport",
        details=CarpoolDetails(
            origin="Lyon Part-Dieu",
            destination="Grenoble",
            departure=datetime(2026, 12, 5, 7, 45, tzinfo=UTC),
            seats=3,
            recurrence="weekly",
        ),
        quantity=3,
        available_quantity=2,
        updated=datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
        status="done",
    ),
    "public, no place, no expiry, no photos": terms(
        place=None, end_time=None, photos=(), to=(PUBLIC,), cc=(f"{ADA}/followers",)
    ),
}

# What a listing is read back as, field for field, from what it was made of.
SAME = (
    "id",
    "author",
    "kind",
    "title",
    "category",
    "details",
    "price",
    "quantity",
    "available_quantity",
    "place",
    "photos",
    "published",
    "updated",
    "end_time",
    "status",
    "url",
    "audience",
    "to",
    "cc",
    "language",
)


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_our_listing_reads_back_as_the_same_terms(name: str) -> None:
    original = ROUND_TRIPS[name]
    listing = read_listing(listing_object(original))
    for field in SAME:
        assert getattr(listing, field) == getattr(original, field), field
    assert listing.shape == "quartier"
    assert listing.description_html == original.content_html
    assert listing.hashtags == (original.kind,)
    assert listing.purpose == ("request" if original.kind == "request" else "offer")


def test_details_keep_the_shape_the_node_stores() -> None:
    for original in ROUND_TRIPS.values():
        stored = json.loads(json.dumps(details_to_mapping(original.details)))
        assert details_from_mapping(original.kind, stored) == original.details
    assert details_to_mapping(LendDetails(duration_days=7)) == {"duration_days": 7}
    assert details_to_mapping(RequestDetails("help")) == {"need": "help"}


def test_a_listing_in_its_activity_is_not_itself_a_listing() -> None:
    activity = listing_activity("Create", f"{NODE}/listings/1/create", listing_object(terms()))
    with pytest.raises(NotAListing, match="activity"):
        read_listing(activity)
    assert read_listing(activity["object"]).title == "Chaise en chêne"


# Legal forms of each property -------------------------------------------------------------------


def full() -> dict[str, Any]:
    return copy.deepcopy(payload("fep-0837/proposal_full.json"))


def with_(**changes: Any) -> dict[str, Any]:
    doc = full()
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "field", "expected"),
    [
        # The object type: FEP-0837 lets any type carry the terms.
        (with_(type="Note"), "kind", "sell"),
        (with_(type="Page"), "kind", "sell"),
        (with_(type=["Article", "Proposal"]), "kind", "sell"),
        # attributedTo as an object, a Link, a list (the first actor).
        (with_(attributedTo={"type": "Person", "id": ALICE}), "author", ALICE),
        (
            with_(attributedTo=[{"type": "Person", "id": ALICE}, "https://x.example/g"]),
            "author",
            ALICE,
        ),
        # Text as a language map, the undetermined language preferred.
        (with_(name=None, nameMap={"fr": "Vélo", "und": "Bike"}), "title", "Bike"),
        (
            with_(content=None, contentMap={"de": "<p>Blaues Rad</p>"}),
            "description_text",
            "Blaues Rad",
        ),
        (with_(content=None, contentMap={"de": "<p>Blaues Rad</p>"}), "language", "de"),
        (with_(name=["Bike", "Vélo"]), "title", "Bike"),
        # No name: the content's first line stands for one.
        (with_(name=None, content="<p>Vélo bleu</p><p>15 ans</p>"), "title", "Vélo bleu"),
        # publishes as a list of one Intent.
        (with_(publishes=[full()["publishes"]]), "primary_intent", f"{BIKE}#primary"),
        # location as a list, with a radius in km.
        (
            with_(location=[{"type": "Place", "name": "Gare", "radius": 1.5, "units": "km"}]),
            "place",
            Place(name="Gare", radius_m=1500),
        ),
        (with_(location="Quartier des Pentes"), "place", Place(name="Quartier des Pentes")),
        (
            with_(location={"type": "Place", "latitude": "45.5", "longitude": "4.25"}),
            "place",
            Place(name="", latitude=45.5, longitude=4.25),
        ),
        # A point out of range is no point; a place without either is none.
        (with_(location={"type": "Place", "latitude": 95, "longitude": 4}), "place", None),
        # Images as attachments (a Link in url), or as image.
        (
            with_(
                attachment={
                    "type": "Image",
                    "url": {
                        "type": "Link",
                        "href": "https://m.example/a.png",
                        "mediaType": "image/png",
                    },
                    "summary": "a bike",
                }
            ),
            "photos",
            (Photo("https://m.example/a.png", "image/png", "a bike"),),
        ),
        (
            with_(image="https://m.example/b.jpg"),
            "photos",
            (Photo("https://m.example/b.jpg", ""),),
        ),
        (
            with_(
                attachment=[
                    {
                        "type": "Document",
                        "mediaType": "video/mp4",
                        "url": "https://m.example/v.mp4",
                    },
                    {"type": "Image", "url": "javascript:alert(1)"},
                    {"type": "PropertyValue", "name": "category", "value": "bikes"},
                ]
            ),
            "photos",
            (),
        ),
        # url as a list of Links: the HTML page.
        (
            with_(
                url=[
                    {
                        "type": "Link",
                        "href": "https://market.example/p/1.json",
                        "mediaType": "application/json",
                    },
                    {
                        "type": "Link",
                        "href": "https://market.example/p/1",
                        "mediaType": "text/html",
                    },
                ]
            ),
            "url",
            "https://market.example/p/1",
        ),
        # The price as a number, as a currency code in the unit, with schema.org's code.
        (
            with_(
                reciprocal={
                    "type": "Intent",
                    "action": "transfer",
                    "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": 7.5},
                    "priceCurrency": "EUR",
                }
            ),
            "price",
            Price(Decimal("7.50"), "EUR"),
        ),
        (
            with_(
                reciprocal={
                    "type": "Intent",
                    "action": "transfer",
                    "resourceQuantity": {"hasUnit": "GBP", "hasNumericalValue": "4"},
                }
            ),
            "price",
            Price(Decimal(4), "GBP"),
        ),
        (
            with_(
                reciprocal={
                    "type": "Intent",
                    "action": "transfer",
                    "resourceConformsTo": {"id": "http://www.wikidata.org/entity/Q25344"},
                    "resourceQuantity": {"hasUnit": "om2:one", "hasNumericalValue": "9"},
                }
            ),
            "price",
            Price(Decimal(9), "CHF"),
        ),
        # Actions and purposes onto our kinds.
        (with_(reciprocal=None), "kind", "give"),
        (with_(publishes={**full()["publishes"], "action": "transferCustody"}), "kind", "lend"),
        (with_(publishes={**full()["publishes"], "action": "deliverService"}), "kind", "service"),
        (
            with_(purpose="request", publishes={**full()["publishes"], "action": "use"}),
            "details",
            RequestDetails("borrow"),
        ),
        (
            with_(purpose="request", publishes={**full()["publishes"], "action": "work"}),
            "details",
            RequestDetails("help"),
        ),
        # Hashtags, by name, without their '#'.
        (
            with_(tag=[{"type": "Hashtag", "name": "#Velo"}, {"type": "Mention", "name": "@x"}]),
            "hashtags",
            ("Velo",),
        ),
        # Addresses as objects; the public collection kept as spelt.
        (with_(to=[{"type": "Person", "id": ALICE}, "as:Public"]), "to", (ALICE, "as:Public")),
    ],
)
def test_legal_forms(doc: dict[str, Any], field: str, expected: Any) -> None:
    assert getattr(read_listing(doc), field) == expected


def test_available_quantity_and_unit_based() -> None:
    doc = with_(unitBased=True)
    doc["publishes"]["availableQuantity"] = {"hasUnit": "one", "hasNumericalValue": 4}
    listing = read_listing(doc)
    assert (listing.quantity, listing.available_quantity, listing.unit_based) == (4, 4, True)


# What we refuse, and why ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "error", "reason"),
    [
        ("not an object", NotAListing, "JSON object"),
        (
            {"id": BIKE, "type": "Note", "attributedTo": ALICE, "content": "hi"},
            NotAListing,
            "no FEP-0837",
        ),
        (with_(id=None), ListingMalformed, "no id"),
        (with_(id="javascript:alert(1)"), ListingMalformed, "no id"),
        (with_(attributedTo=None), ListingMalformed, "no attributedTo"),
        (with_(name=None, content=None), ListingMalformed, "no name and no content"),
        (with_(name="", content="<p> </p>"), ListingMalformed, "no name and no content"),
        (with_(publishes="https://market.example/intents/1"), ListingMalformed, "publishes"),
        (with_(purpose="sell"), ListingMalformed, "purpose 'sell'"),
    ],
)
def test_refused_listings_say_why(doc: Any, error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        read_listing(doc)


def reciprocal(quantity: dict[str, Any], **more: Any) -> dict[str, Any]:
    return with_(
        reciprocal={"type": "Intent", "action": "transfer", "resourceQuantity": quantity, **more}
    )


@pytest.mark.parametrize(
    ("doc", "error", "reason"),
    [
        (reciprocal({"hasUnit": "one", "hasNumericalValue": "-5"}), ListingMalformed, "negative"),
        (
            reciprocal({"hasUnit": "one", "hasNumericalValue": "abc"}),
            ListingMalformed,
            "not a number",
        ),
        (reciprocal({"hasUnit": "one", "hasNumericalValue": "NaN"}), ListingMalformed, "finite"),
        (
            reciprocal({"hasUnit": "one", "hasNumericalValue": "Infinity"}),
            ListingMalformed,
            "finite",
        ),
        (
            reciprocal({"hasUnit": "one", "hasNumericalValue": True}),
            ListingMalformed,
            "not a number",
        ),
        (reciprocal({"hasUnit": "one", "hasNumericalValue": "1" * 50}), ListingMalformed, "sane"),
        (reciprocal({"hasUnit": "XYZ", "hasNumericalValue": "5"}), UnknownCurrency, "'XYZ'"),
        (
            reciprocal({"hasUnit": "one", "hasNumericalValue": "5"}, priceCurrency="EURO"),
            UnknownCurrency,
            "'EURO'",
        ),
        # Funds and metals are ISO 4217 codes, but no neighbour's price.
        (reciprocal({"hasUnit": "XAU", "hasNumericalValue": "1"}), UnknownCurrency, "XAU"),
        (reciprocal({"hasUnit": "EUR", "hasNumericalValue": "0.001"}), InvalidPrice, "decimals"),
        (reciprocal({"hasUnit": "JPY", "hasNumericalValue": "10.5"}), InvalidPrice, "decimals"),
        (
            reciprocal({"hasUnit": "EUR", "hasNumericalValue": "1e13"}),
            ListingMalformed,
            "too large",
        ),
    ],
)
def test_bad_prices_are_refused(doc: dict[str, Any], error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        read_listing(doc)


def test_negative_quantities_are_refused() -> None:
    doc = full()
    doc["publishes"]["availableQuantity"] = {"hasUnit": "one", "hasNumericalValue": "-1"}
    with pytest.raises(ListingMalformed, match="availableQuantity is negative"):
        read_listing(doc)
    ours = listing_object(terms())
    ours["totalQuantity"] = -3
    with pytest.raises(ListingMalformed, match="totalQuantity"):
        read_listing(ours)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"listingKind": "swap"}, "listingKind 'swap'"),
        ({"listingStatus": "sold"}, "listingStatus 'sold'"),
        ({"listingKind": "lend", "returnBy": "next week"}, "returnBy"),
        ({"listingKind": "lend", "loanDays": 0}, "loanDays"),
        ({"listingKind": "lend", "loanDays": 10**6}, "loanDays"),
        ({"listingKind": "request", "requestNeed": "steal"}, "requestNeed"),
        ({"listingKind": "carpool", "rideFrom": "A", "rideTo": "B", "seats": 2}, "startTime"),
        (
            {
                "listingKind": "carpool",
                "rideFrom": "A",
                "rideTo": "B",
                "seats": 500,
                "startTime": "2026-12-05T07:45:00Z",
            },
            "seats",
        ),
    ],
)
def test_our_own_terms_out_of_range_are_refused(change: dict[str, Any], reason: str) -> None:
    doc = {**listing_object(terms()), **change}
    with pytest.raises(ListingMalformed, match=reason):
        read_listing(doc)


def test_hostile_html_is_data_and_its_text_is_safe() -> None:
    hostile = (
        '<p onclick="steal()">Vélo <b>bleu</b></p><script>alert("x")</script>'
        '<img src=x onerror="alert(1)"><style>p{}</style><a href="javascript:x">lien</a>'
    )
    listing = read_listing(with_(content=hostile, name='<img src=x onerror="y">Vélo'))
    # Passed through as it came: sanitising is the node's (nh3), with its allow-list.
    assert listing.description_html == hostile
    assert listing.description_text == "Vélo bleu\nlien"
    assert listing.title == "Vélo"
    flohmarkt = payload("flohmarkt/item_negotiable.json")
    flohmarkt["flohmarkt:data"]["description"] = "<script>alert(1)</script>"
    item = read_listing(flohmarkt)
    assert item.description_html == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_huge_lists_and_texts_are_bounded() -> None:
    many = [
        {"type": "Image", "mediaType": "image/png", "url": f"https://m.example/{i}.png"}
        for i in range(10_000)
    ]
    doc = with_(
        attachment=many,
        tag=[{"type": "Hashtag", "name": f"#t{i}"} for i in range(10_000)],
        to=[f"https://x.example/u/{i}" for i in range(10_000)],
        content="<p>" + "a" * 1_000_000 + "</p>",
        name="n" * 10_000,
    )
    listing = read_listing(doc)
    assert len(listing.photos) == 4
    assert len(listing.hashtags) == 20
    assert len(listing.to) == 100
    assert len(listing.description_html) == 100_000
    assert len(listing.description_text) <= 20_000
    assert len(listing.title) == 200


@pytest.mark.parametrize(
    "garbage",
    [
        {"publishes": None, "listingKind": None},
        with_(publishes={"resourceQuantity": [1, 2, {"hasNumericalValue": {}}]}),
        with_(location=[None, 3, [], {"latitude": "x"}]),
        with_(attachment=[None, 1, "x", [[]], {"url": {"href": 5}}]),
        with_(tag="#velo", to=5, cc={"id": 7}, url=[None], audience=[[]], endTime=[1]),
        with_(published="9999-12-31T23:59:59-05:00", updated="yesterday"),
        with_(nameMap={"x" * 100: "a"}, contentMap=[1]),
        with_(reciprocal={"resourceQuantity": {"hasUnit": 5, "hasNumericalValue": "1"}}),
        {**listing_object(terms()), "source": {"content": 5, "mediaType": "text/html"}},
        {**listing_object(terms()), "totalQuantity": "many"},
    ],
)
def test_nothing_but_a_listing_error_ever_escapes(garbage: Any) -> None:
    # Anything else (a TypeError, a KeyError) would fail the handler and be retried for days.
    with contextlib.suppress(ListingError):
        read_listing(garbage)


def test_looks_like_listing_tells_listings_from_messages() -> None:
    assert looks_like_listing(full())
    assert looks_like_listing(payload("flohmarkt/item_giveaway.json"))
    assert looks_like_listing(listing_object(terms()))
    assert not looks_like_listing({"type": "Note", "content": "hello"})
    assert not looks_like_listing("https://market.example/proposals/1")


# Prices -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "minor", "text"),
    [
        ("12.5", "EUR", 1250, "12.50 EUR"),
        ("1500", "JPY", 1500, "1500 JPY"),
        ("1500.00", "JPY", 1500, "1500 JPY"),  # trailing zeros are no extra precision
        ("2.125", "KWD", 2125, "2.125 KWD"),
        ("0", "CHF", 0, "0.00 CHF"),
        ("-0", "EUR", 0, "0.00 EUR"),
    ],
)
def test_prices_in_minor_units(amount: str, currency: str, minor: int, text: str) -> None:
    price = Price(Decimal(amount), currency)
    assert (price.minor, str(price)) == (minor, text)
    assert Price.from_minor(minor, currency) == price


@pytest.mark.parametrize("code", ["eur", "EURO", "XXX", "XTS", "CLF", "HRK", ""])
def test_currency_codes_iso_4217_does_not_list_for_prices(code: str) -> None:
    with pytest.raises(UnknownCurrency):
        Price(Decimal(1), code)
