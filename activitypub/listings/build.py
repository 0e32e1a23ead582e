"""Our listings on the wire: a ``Note`` carrying the FEP-0837 terms inline.

FEP-0837 lets a proposal be a ``Note`` "if interoperability with other ActivityPub services is
desirable"; Mastodon drops objects of a type it does not know, so a ``Proposal`` would be
invisible there. What each reader does with the rest (read in their sources):

- Mastodon shows ``content`` (``contentMap``'s first value when there is no ``content``),
  ignores a Note's ``name``, ``location``, ``endTime`` and every FEP term, shows ``Image``
  attachments with ``name`` as their description (4 at most), and files the post under each
  ``Hashtag`` tag's ``name``.
- GoToSocial does the same, except that it shows ``name`` as the content warning when there is
  no ``summary`` (``internal/typeutils/astointernal.go``, since 2023): the title opens the post
  and the rest is one click away.
- FEP-0837 readers (Mitra, Epicyon) read ``purpose``, ``publishes``, ``reciprocal``, ``name``,
  ``content``, ``location``.

So ``content`` must read well on its own: a first line with the kind, title, price or "free",
place and expiry (:attr:`ListingTerms.summary`), the description, then the hashtags. The
description alone travels in ``source`` (ActivityPub's "source from which the content markup
was derived"), so that partner nodes show it without our first line. What the FEP does not
cover is in our namespace (:mod:`activitypub.listings.vocabulary`).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any, Literal

from activitypub.listings import currencies
from activitypub.listings.terms import (
    CarpoolDetails,
    LendDetails,
    ListingKind,
    ListingTerms,
    Photo,
    Place,
    Price,
    RequestDetails,
    ServiceDetails,
)
from activitypub.listings.vocabulary import CONTEXT, NAMESPACE, PRIMARY, RECIPROCAL, UNIT_ONE
from activitypub.properties import format_timestamp

_LABELS: dict[ListingKind, str] = {
    "give": "Giving away",
    "lend": "To lend",
    "sell": "For sale",
    "service": "Service offered",
    "request": "Wanted",
    "carpool": "Ride offered",
}


def category_iri(category: str) -> str:
    """The IRI we name a category of our taxonomy by (``resourceConformsTo``)."""
    return f"{NAMESPACE}category/{category}"


def action_of(terms: ListingTerms) -> str:
    """The Valueflows action of a listing's primary intent.

    FEP-0837 names ``transfer`` and ``deliverService``; a loan moves custody and not ownership,
    which is Valueflows' ``transferCustody``; a ride is a service.
    """
    if terms.kind == "lend":
        return "transferCustody"
    if terms.kind in ("service", "carpool"):
        return "deliverService"
    if terms.kind == "request" and isinstance(terms.details, RequestDetails):
        return {"borrow": "transferCustody", "help": "deliverService"}.get(
            terms.details.need, "transfer"
        )
    return "transfer"


def listing_object(terms: ListingTerms) -> dict[str, Any]:
    """The ``Note`` we publish for a listing, with its ``@context`` (as it is served on its own;
    :func:`listing_activity` moves the context to the activity that carries it)."""
    obj: dict[str, Any] = {
        "@context": CONTEXT,
        "id": terms.id,
        "type": "Note",
        "attributedTo": terms.author,
        "to": list(terms.to),
        "cc": list(terms.cc),
        "name": terms.title,
        "content": _content(terms),
        "source": {"content": terms.content_html, "mediaType": "text/html"},
        "published": format_timestamp(terms.published),
    }
    if terms.language:
        obj["contentMap"] = {terms.language: obj["content"]}
    if terms.updated is not None:
        obj["updated"] = format_timestamp(terms.updated)
    if terms.end_time is not None:
        obj["endTime"] = format_timestamp(terms.end_time)
    if terms.url:
        obj["url"] = terms.url
    if terms.audience:
        obj["audience"] = terms.audience
    if terms.place is not None:
        obj["location"] = _place(terms.place)
    if terms.photos:
        obj["attachment"] = [_photo(photo) for photo in terms.photos]
    obj["tag"] = [_hashtag(terms)]
    obj.update(_proposal(terms))
    obj.update(_our_terms(terms))
    return obj


def listing_activity(
    kind: Literal["Create", "Update", "Delete"],
    activity_id: str,
    listing: dict[str, Any],
    *,
    published: datetime | None = None,
) -> dict[str, Any]:
    """``Create``, ``Update`` or ``Delete`` of a listing from :func:`listing_object`, addressed
    as the listing is (and with its ``audience``, FEP-1b12); a ``Delete`` carries a
    ``Tombstone``."""
    obj = {key: value for key, value in listing.items() if key != "@context"}
    activity: dict[str, Any] = {
        "@context": listing.get("@context", CONTEXT),
        "id": activity_id,
        "type": kind,
        "actor": obj["attributedTo"],
        "to": obj.get("to", []),
        "cc": obj.get("cc", []),
        "object": obj
        if kind != "Delete"
        else {
            "id": obj["id"],
            "type": "Tombstone",
            "formerType": obj.get("type", "Note"),
        },
    }
    if "audience" in obj:
        activity["audience"] = obj["audience"]
    if published is not None:
        activity["published"] = format_timestamp(published)
    return activity


def quantity_value(amount: object) -> dict[str, str]:
    """A Valueflows ``resourceQuantity`` of countable things (OM2 ``one``)."""
    return {"hasUnit": UNIT_ONE, "hasNumericalValue": str(amount)}


def price_intent(intent_id: str, price: Price | None) -> dict[str, Any]:
    """A reciprocal intent asking ``price`` for each unit.

    As in the FEP's example and in Epicyon, the currency is a resource specification (its
    Wikidata IRI when we have one) counted in ``one``; schema.org's ``priceCurrency`` adds the
    ISO 4217 code. Without a price (a paid service whose price is to be agreed) the amount is
    left out, which FEP-0837 allows ("arbitrary amounts can be used").
    """
    intent: dict[str, Any] = {"type": "Intent", "id": intent_id, "action": "transfer"}
    if price is None:
        intent["resourceQuantity"] = {"hasUnit": UNIT_ONE}
        return intent
    iri = currencies.currency_iri(price.currency)
    if iri:
        intent["resourceConformsTo"] = iri
    intent["resourceQuantity"] = quantity_value(price.amount)
    intent["priceCurrency"] = price.currency
    return intent


def _proposal(terms: ListingTerms) -> dict[str, Any]:
    primary: dict[str, Any] = {
        "type": "Intent",
        "id": f"{terms.id}#{PRIMARY}",
        "action": action_of(terms),
    }
    if terms.category:
        primary["resourceConformsTo"] = category_iri(terms.category)
    # One item per unit: with several, a neighbour may ask for as many as are left
    # (``unitBased``), each at the price.
    primary["resourceQuantity"] = quantity_value(1)
    primary["availableQuantity"] = quantity_value(terms.available_quantity)
    proposal: dict[str, Any] = {
        "purpose": "request" if terms.kind == "request" else "offer",
        "publishes": primary,
        "unitBased": terms.quantity > 1,
    }
    paid_without_price = isinstance(terms.details, ServiceDetails) and terms.details.paid
    if terms.price is not None or paid_without_price:
        proposal["reciprocal"] = price_intent(f"{terms.id}#{RECIPROCAL}", terms.price)
    return proposal


def _our_terms(terms: ListingTerms) -> dict[str, Any]:
    ours: dict[str, Any] = {
        "listingKind": terms.kind,
        "listingStatus": terms.status,
        "totalQuantity": terms.quantity,
    }
    if terms.category:
        ours["listingCategory"] = terms.category
    if terms.verified_responders:
        ours["respondersVerified"] = True
    details = terms.details
    if isinstance(details, LendDetails):
        if details.return_by is not None:
            ours["returnBy"] = details.return_by.isoformat()
        if details.duration_days is not None:
            ours["loanDays"] = details.duration_days
    elif isinstance(details, RequestDetails):
        ours["requestNeed"] = details.need
    elif isinstance(details, ServiceDetails):
        ours["paidService"] = details.paid
    elif isinstance(details, CarpoolDetails):
        ours["rideFrom"] = details.origin
        ours["rideTo"] = details.destination
        # ActivityStreams' own "expected starting time of the object".
        ours["startTime"] = format_timestamp(details.departure)
        ours["seats"] = details.seats
        ours["rideRecurrence"] = details.recurrence
    return ours


def _place(place: Place) -> dict[str, Any]:
    location: dict[str, Any] = {"type": "Place", "name": place.name}
    if place.latitude is not None and place.longitude is not None:
        location["latitude"] = place.latitude
        location["longitude"] = place.longitude
    if place.radius_m is not None:
        location["radius"] = place.radius_m
        location["units"] = "m"
    return location


def _photo(photo: Photo) -> dict[str, Any]:
    image: dict[str, Any] = {
        "type": "Image",
        "mediaType": photo.media_type,
        "url": photo.url,
        "name": photo.description,
    }
    if photo.width is not None and photo.height is not None:
        image["width"] = photo.width
        image["height"] = photo.height
    return image


def _hashtag(terms: ListingTerms) -> dict[str, Any]:
    tag: dict[str, Any] = {"type": "Hashtag", "name": f"#{terms.kind}"}
    if terms.tag_base:
        tag["href"] = f"{terms.tag_base}{terms.kind}"
    return tag


def _content(terms: ListingTerms) -> str:
    line = terms.summary if terms.summary is not None else summary_line(terms)
    hashtag = f"#{terms.kind}"
    if terms.tag_base:
        # Mastodon's own markup of a hashtag link.
        href = html.escape(f"{terms.tag_base}{terms.kind}")
        hashtag = (
            f'<a href="{href}" class="mention hashtag" rel="tag">#<span>{terms.kind}</span></a>'
        )
    return f"<p>{html.escape(line)}</p>{terms.content_html}<p>{hashtag}</p>"


def summary_line(terms: ListingTerms) -> str:
    """An English first line for a listing, when the node gives none in its language."""
    parts = [f"{_LABELS[terms.kind]}: {terms.title}"]
    details = terms.details
    if isinstance(details, CarpoolDetails):
        every = ", every week" if details.recurrence == "weekly" else ""
        parts.append(
            f"{details.origin} → {details.destination}, "
            f"{details.departure.astimezone(UTC):%Y-%m-%d %H:%M} UTC{every}, "
            f"{details.seats} seat{'s' if details.seats > 1 else ''}"
        )
    if isinstance(details, LendDetails) and details.return_by is not None:
        parts.append(f"back by {details.return_by.isoformat()}")
    elif isinstance(details, LendDetails) and details.duration_days is not None:
        parts.append(f"for {details.duration_days} days")
    if terms.price is not None:
        each = " each" if terms.quantity > 1 else ""
        parts.append(f"{terms.price}{each}")
    elif terms.kind in ("give", "lend") or (
        isinstance(details, ServiceDetails | CarpoolDetails) and not _paid(terms)
    ):
        parts.append("free")
    if terms.place is not None and terms.place.name:
        parts.append(terms.place.name)
    if terms.end_time is not None:
        parts.append(f"ends {terms.end_time.astimezone(UTC):%Y-%m-%d}")
    parts.append("reply by direct message to respond")
    return " · ".join(parts)


def _paid(terms: ListingTerms) -> bool:
    return terms.price is not None or (
        isinstance(terms.details, ServiceDetails) and terms.details.paid
    )
