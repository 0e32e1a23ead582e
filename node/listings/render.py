"""Listings, responses and categories as the JSON API shows them."""

from __future__ import annotations

from typing import Any

from activitypub.properties import format_timestamp
from activitypub.uris import UriScheme
from node.listings.categories import CATEGORIES, LANGUAGES
from node.listings.models import Listing, Response
from node.listings.money import from_minor
from node.media.render import media_to_api


def price_to_api(listing: Listing) -> dict[str, str] | None:
    """``{"amount": "12.50", "currency": "EUR"}`` (the amount a string: no float rounding)."""
    if listing.price_minor is None or listing.currency is None:
        return None
    return {
        "amount": str(from_minor(listing.price_minor, listing.currency)),
        "currency": listing.currency,
    }


def listing_to_api(listing: Listing, uris: UriScheme) -> dict[str, Any]:
    """One listing (its photos fetched with it). ``place`` is the community's name and a
    blurred point with its radius; ``local`` tells a listing of this node from a partner's
    copy (``origin`` its host)."""
    point = None
    if listing.latitude is not None and listing.longitude is not None:
        point = {
            "latitude": listing.latitude,
            "longitude": listing.longitude,
            "radius_m": listing.radius_m,
        }
    return {
        "id": listing.id,
        "url": listing.ap_id,
        "kind": listing.kind.value,
        "status": listing.status.value,
        "audience": listing.audience.value,
        "circle": listing.circle,
        "category": listing.category,
        "title": listing.title,
        "description": listing.description,
        "description_html": listing.description_html,
        "details": listing.details,
        "price": price_to_api(listing),
        "quantity": listing.quantity,
        "available_quantity": listing.available_quantity,
        "availability": listing.availability,
        "verified_responders": listing.verified_responders,
        "place": {"name": listing.place_name, "point": point},
        "photos": [media_to_api(m, uris) for m in listing.photos],
        "author": listing.author,
        "local": listing.local,
        "origin": listing.origin_host,
        "published_at": format_timestamp(listing.published_at),
        "updated_at": format_timestamp(listing.updated_at),
        "expires_at": format_timestamp(listing.expires_at),
    }


def response_to_api(response: Response) -> dict[str, Any]:
    """A response, and the agreement it became (``state`` accepted or done)."""
    listing: Listing = response.listing
    return {
        "id": response.id,
        "listing": {"id": listing.id, "title": listing.title, "author": listing.author},
        "responder": response.responder,
        "message": response.message,
        "quantity": response.quantity,
        "state": response.state.value,
        "agreement": response.agreement_id,
        "conversation_id": response.conversation_id,  # type: ignore[attr-defined]
        "thanks_from_author": response.thanks_from_author,
        "thanks_from_responder": response.thanks_from_responder,
        "created_at": format_timestamp(response.created_at),
        "updated_at": format_timestamp(response.updated_at),
    }


def categories_to_api() -> list[dict[str, Any]]:
    """The taxonomy: each category's identifier and its names."""
    return [
        {"id": key, "names": {language: names[language] for language in LANGUAGES}}
        for key, names in CATEGORIES.items()
    ]
