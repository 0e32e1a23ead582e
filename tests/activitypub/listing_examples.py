"""One listing of each kind, and the activities answering one, as docs/listings.md shows them.

Shared by tests/activitypub/test_listing_docs.py (the documented JSON is what the builders
produce) and tests/activitypub/test_listing_jsonld.py (all of it is valid JSON-LD).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from activitypub.listings import (
    CarpoolDetails,
    LendDetails,
    ListingTerms,
    Photo,
    Place,
    Price,
    ProposalRef,
    RequestDetails,
    ServiceDetails,
    accept_agreement,
    agreement_done,
    listing_activity,
    listing_object,
    offer_agreement,
    read_offer,
    reject_offer,
)

NODE = "https://tilleuls.example"
ADA = f"{NODE}/users/ada"
GROUP = f"{NODE}/groups/tilleuls"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PARTNER = "https://platanes.example"
BOB = f"{PARTNER}/users/bob"
PLACE = Place("Résidence Les Tilleuls", 45.7640, 4.8357, 500)


def _terms(number: int, **fields: Any) -> ListingTerms:
    base: dict[str, Any] = {
        "id": f"{NODE}/listings/{number}",
        "author": ADA,
        "published": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        "place": PLACE,
        "end_time": datetime(2026, 12, 31, 9, 30, tzinfo=UTC),
        "url": f"{NODE}/listings/{number}",
        "audience": GROUP,
        # partners: the Group's followers are the partner nodes' groups (FEP-1b12)
        "to": (f"{GROUP}/followers",),
        "tag_base": f"{NODE}/tags/",
        "language": "en",
    }
    base.update(fields)
    return ListingTerms(**base)


TERMS: dict[str, ListingTerms] = {
    "give": _terms(
        1,
        kind="give",
        title="Oak chair",
        content_html="<p>Sturdy, a few scratches.</p>",
        category="furniture",
        photos=(Photo(f"{NODE}/media/7.webp", "image/webp", "A wooden chair", 1200, 900),),
        to=(PUBLIC,),
        cc=(f"{GROUP}/followers",),
    ),
    "lend": _terms(
        2,
        kind="lend",
        title="Cordless drill",
        content_html="<p>With two batteries and a set of bits.</p>",
        category="tools",
        details=LendDetails(return_by=date(2026, 12, 20)),
    ),
    "sell": _terms(
        3,
        kind="sell",
        title="Jars of plum jam",
        content_html="<p>Made last summer, 370 g each.</p>",
        category="food",
        price=Price(Decimal("3.50"), "EUR"),
        quantity=6,
        available_quantity=4,
        updated=datetime(2026, 12, 3, 18, 0, tzinfo=UTC),
    ),
    "service": _terms(
        4,
        kind="service",
        title="Maths tutoring, secondary school",
        content_html="<p>Wednesdays after 5 pm.</p>",
        category="tutoring",
        details=ServiceDetails(paid=True),
        price=Price(Decimal(15), "EUR"),
        end_time=None,
    ),
    "request": _terms(
        5,
        kind="request",
        title="A ladder for a weekend",
        content_html="<p>To clean the gutters, 4 m at least.</p>",
        category="diy",
        details=RequestDetails("borrow"),
    ),
    "carpool": _terms(
        6,
        kind="carpool",
        title="Lyon to Grenoble on Fridays",
        content_html="<p>Room for a small bag each.</p>",
        category="transport",
        details=CarpoolDetails(
            origin="Lyon Part-Dieu",
            destination="Grenoble gare",
            departure=datetime(2026, 12, 4, 16, 30, tzinfo=UTC),
            seats=3,
            recurrence="weekly",
        ),
        quantity=3,
        available_quantity=3,
        summary="Ride offered: Lyon Part-Dieu → Grenoble gare, Fridays 17:30, 3 seats, "
        "free · Résidence Les Tilleuls · reply by direct message to respond",
        place=None,
    ),
}


def examples() -> dict[str, dict[str, Any]]:
    """Every documented example, by name."""
    found = {kind: listing_object(terms) for kind, terms in TERMS.items()}
    found["create"] = listing_activity(
        "Create", f"{NODE}/listings/2/create", found["lend"], published=TERMS["lend"].published
    )
    found["delete"] = listing_activity("Delete", f"{NODE}/listings/2/delete", found["lend"])
    offer = offer_agreement(
        f"{PARTNER}/users/bob/offers/81",
        BOB,
        ProposalRef.of_terms(TERMS["sell"]),
        2,
        message_html="<p>Could I pick them up on Saturday?</p>",
        published=datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
    )
    found["offer"] = offer
    found["accept"] = accept_agreement(
        read_offer(offer),
        f"{NODE}/agreements/12",
        accept_id=f"{NODE}/users/ada/accepts/31",
        actor=ADA,
        published=datetime(2026, 12, 4, 11, 0, tzinfo=UTC),
    )
    found["reject"] = reject_offer(
        offer["id"],
        BOB,
        reject_id=f"{NODE}/users/ada/rejects/32",
        actor=ADA,
        reason="Sorry, they are promised to a neighbour.",
    )
    found["done"] = agreement_done(
        f"{NODE}/agreements/12",
        update_id=f"{PARTNER}/activities/5d1f",
        actor=BOB,
        to=ADA,
        thanks="Thanks, the chairs are perfect!",
        published=datetime(2026, 12, 6, 18, 0, tzinfo=UTC),
    )
    return found
