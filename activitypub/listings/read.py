"""Reading listings from other servers, in every shape and legal form they come in.

Three shapes carry a listing (:func:`looks_like_listing`):

- **FEP-0837**: ``publishes`` an ``Intent``, on a ``Proposal`` (Mitra, Epicyon, the FEP's
  examples) or on any object type (a ``Note``, ``Page``, ``Article``...); ours is one of these
  with our namespace's terms too.
- **Flohmarkt**: a ``Note`` with a ``flohmarkt:data`` object (``name``, ``description``, a
  free-text ``price`` such as "5 €" or "VB", ``coordinates``); Flohmarkt reads nothing else
  (``flohmarkt/routes/activitypub.py`` ``create_new_item``).

Each property may come in any legal ActivityStreams form (a string, an object or a list; text
as a ``*Map``). Kinds are mapped onto ours: an offer to ``transfer`` with a price is ``sell``,
without one ``give``; ``transferCustody`` (or ``use``) is ``lend``; ``deliverService`` is a
``service``; a ``request`` keeps what it needs. Anything we cannot read raises a
:exc:`~activitypub.errors.ListingError` naming what is wrong, never another exception: the
caller turns it into a reason to ignore the activity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from activitypub.errors import ListingMalformed, NotAListing
from activitypub.listings import currencies
from activitypub.listings.activitystreams import (
    MAX_TITLE,
    read_addresses,
    read_hashtags,
    read_language,
    read_page_url,
    read_photos,
    read_place,
)
from activitypub.listings.flohmarkt import FLOHMARKT, read_flohmarkt
from activitypub.listings.our_terms import read_category, read_details, read_kind, read_status
from activitypub.listings.terms import (
    Details,
    LendDetails,
    ListingKind,
    Measure,
    Need,
    Price,
    Purpose,
    ReceivedListing,
    RequestDetails,
    ServiceDetails,
    decimal_value,
)
from activitypub.notes import html_to_text
from activitypub.properties import (
    first_reference,
    identifier,
    natural_language,
    object_types,
    reference,
    timestamp,
    values,
)

MAX_HTML = 100_000
MAX_TEXT = 20_000
MAX_QUANTITY = 1_000_000
_ACTIVITIES = frozenset({"Create", "Update", "Delete", "Announce", "Add", "Undo"})


def looks_like_listing(obj: Any) -> bool:
    """Whether an object carries a listing's terms (FEP-0837, Flohmarkt's or ours), so that a
    ``Create`` of it goes to listings and not to direct messages."""
    return isinstance(obj, dict) and (
        "publishes" in obj or isinstance(obj.get(FLOHMARKT), dict) or "listingKind" in obj
    )


@dataclass(frozen=True)
class _Intent:
    id: str | None
    action: str
    resource: str | None
    quantity: Measure | None
    available: Measure | None
    receiver: str | None
    price_currency: str | None


def read_listing(doc: Any) -> ReceivedListing:
    """A listing object (not the activity carrying it) in plain values.

    Raises :exc:`~activitypub.errors.NotAListing` for an object with no listing terms (a plain
    note) and :exc:`~activitypub.errors.ListingMalformed` (or :exc:`InvalidPrice`) for one that
    lacks what we need: an id, an author, a title or some content, a readable intent, a price
    in a real currency.
    """
    if not isinstance(doc, dict):
        raise NotAListing("a listing is a JSON object")
    if object_types(doc) & _ACTIVITIES:
        raise NotAListing(f"{'/'.join(sorted(object_types(doc)))} is an activity: read its object")
    if not looks_like_listing(doc):
        raise NotAListing(
            "no FEP-0837 intent (publishes), no Flohmarkt item (flohmarkt:data) and no listing kind"
        )
    listing_id = reference(doc.get("id"))
    if listing_id is None:
        raise ListingMalformed("the listing has no id (an http(s) URI)")
    # attributedTo may be a list (PeerTube attributes to a Person and a Group): the first.
    author = first_reference(doc.get("attributedTo"))
    if author is None:
        raise ListingMalformed("the listing has no attributedTo (its author)")
    if isinstance(doc.get(FLOHMARKT), dict) and "publishes" not in doc:
        return read_flohmarkt(doc, listing_id, author)
    return _proposal(doc, listing_id, author)


def _proposal(doc: dict[str, Any], listing_id: str, author: str) -> ReceivedListing:
    ours = "listingKind" in doc
    primary = _intent(doc.get("publishes"), "publishes")
    if primary is None and not ours:
        raise ListingMalformed("publishes is not an Intent we can read (none, or by id only)")
    reciprocal = _intent(doc.get("reciprocal"), "reciprocal")
    purpose = _purpose(doc, primary, author)
    price, price_text = _price(reciprocal)
    paid = reciprocal is not None and (price is None or price.amount > 0)
    if price is not None and price.amount == 0:
        price = None  # "0 EUR" in return is a gift
    action = _action(primary.action if primary else "")
    if ours:
        kind = read_kind(doc.get("listingKind"))
        details = read_details(kind, doc)
    else:
        kind, details = _fep_kind(purpose, action, paid)
    description_html = _description_html(doc, ours)
    title, text = _title_and_text(doc, description_html)
    quantity, available = _quantities(doc, primary)
    category = read_category(doc)
    return ReceivedListing(
        id=listing_id,
        author=author,
        kind=kind,
        purpose=purpose,
        title=title,
        description_html=description_html,
        description_text=text,
        published=timestamp(doc.get("published")),
        shape="quartier" if ours else "fep-0837",
        category=category,
        details=details,
        price=price,
        price_text=price_text,
        quantity=quantity,
        available_quantity=available,
        unit_based=doc.get("unitBased") is True,
        place=read_place(doc.get("location")),
        photos=read_photos(doc),
        updated=timestamp(doc.get("updated")),
        end_time=timestamp(doc.get("endTime")),
        status=read_status(doc.get("listingStatus")) if ours else "open",
        verified_responders=ours and doc.get("respondersVerified") is True,
        url=read_page_url(doc.get("url")),
        audience=first_reference(doc.get("audience")),
        to=read_addresses(doc.get("to")),
        cc=read_addresses(doc.get("cc")),
        hashtags=read_hashtags(doc.get("tag")),
        language=read_language(doc),
        resource=primary.resource if primary else None,
        primary_intent=primary.id if primary else None,
        reciprocal_intent=reciprocal.id if reciprocal else None,
        resource_quantity=primary.quantity if primary else None,
        reciprocal_quantity=reciprocal.quantity if reciprocal else None,
    )


# Intents and quantities ------------------------------------------------------------------------


def _intent(value: Any, where: str) -> _Intent | None:
    item = next((v for v in values(value, limit=5) if isinstance(v, dict)), None)
    if item is None:
        return None
    action = item.get("action")
    resource = item.get("resourceConformsTo")
    if isinstance(resource, dict):
        resource = resource.get("id")
    currency = item.get("priceCurrency")
    return _Intent(
        id=identifier(item.get("id")),
        action=action if isinstance(action, str) else "",
        resource=identifier(resource) or _short(resource, 200) or None,
        quantity=read_measure(item.get("resourceQuantity"), f"{where}.resourceQuantity"),
        available=read_measure(item.get("availableQuantity"), f"{where}.availableQuantity"),
        receiver=first_reference(item.get("receiver")),
        price_currency=currency if isinstance(currency, str) else None,
    )


def read_measure(value: Any, where: str) -> Measure | None:
    """A Valueflows quantity (``hasUnit``, ``hasNumericalValue``), or ``None`` if absent.

    A negative or non-numeric amount raises :exc:`ListingMalformed` naming ``where``; a
    missing unit is ``one``.
    """
    item = next((v for v in values(value, limit=5) if isinstance(v, dict)), None)
    if item is None:
        return None
    unit = item.get("hasUnit")
    unit = unit.get("id") if isinstance(unit, dict) else unit
    unit_name = _unit_name(unit) if isinstance(unit, str) else "one"
    raw = item.get("hasNumericalValue")
    if raw is None:
        return Measure(unit=unit_name, value=None)
    amount = decimal_value(raw, what=f"{where} hasNumericalValue")
    if amount < 0:
        raise ListingMalformed(f"{where} is negative ({amount})")
    if amount > MAX_QUANTITY * 10**6:
        raise ListingMalformed(f"{where} is too large ({amount})")
    return Measure(unit=unit_name, value=amount)


def _unit_name(unit: str) -> str:
    """``om2:one`` and OM2's full IRI are ``one``; anything else is kept as written."""
    unit = unit.strip()[:100]
    for prefix in ("om2:", "http://www.ontology-of-units-of-measure.org/resource/om-2/"):
        if unit.startswith(prefix):
            return unit[len(prefix) :]
    return unit


def _count(found: Measure | None, where: str) -> int | None:
    """A countable quantity (unit ``one``) as a whole number, else ``None``."""
    if found is None or found.value is None or found.unit != "one":
        return None
    if found.value != found.value.to_integral_value():
        return None  # half a chair: not a count
    count = int(found.value)
    if count > MAX_QUANTITY:
        raise ListingMalformed(f"{where} is too large ({count})")
    return count


def _quantities(doc: dict[str, Any], primary: _Intent | None) -> tuple[int, int]:
    """How many items there are and are left.

    Ours says so (``totalQuantity``, ``availableQuantity``: one item per unit). Another
    server's proposal of N items that is not ``unitBased`` offers them as one lot, at its
    price: one listing of one lot (its ``resource_quantity`` keeps the N).
    """
    available = _count(primary.available, "availableQuantity") if primary else None
    total = doc.get("totalQuantity")
    if total is not None:
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ListingMalformed(f"totalQuantity {total!r} is not a whole number")
        quantity = min(total, MAX_QUANTITY)
    else:
        lot = (_count(primary.quantity, "resourceQuantity") if primary else None) or 1
        if lot > 1 and doc.get("unitBased") is not True:
            return 1, 1
        quantity = max(available or 0, lot)
    if available is None:
        return quantity, quantity
    # What is left cannot exceed what there was.
    return max(quantity, available), available


def _purpose(doc: dict[str, Any], primary: _Intent | None, author: str) -> Purpose:
    purpose = doc.get("purpose")
    if purpose in ("offer", "request"):
        return "offer" if purpose == "offer" else "request"
    if purpose is not None:
        raise ListingMalformed(f"purpose {purpose!r} is neither offer nor request")
    # Drafts of FEP-0837 before 2023-09 had no purpose: the receiver of a requested resource
    # was the author.
    if primary is not None and primary.receiver == author:
        return "request"
    if doc.get("listingKind") == "request":
        return "request"
    return "offer"


def _action(action: str) -> str:
    """A Valueflows action, with its kin folded in: ``vf:transfer``, ``transferAllRights``."""
    action = action.rsplit("#", 1)[-1].removeprefix("vf:")
    if action in ("transferCustody", "use"):
        return "transferCustody"
    if action in ("deliverService", "work"):
        return "deliverService"
    return "transfer"


def _fep_kind(purpose: Purpose, action: str, paid: bool) -> tuple[ListingKind, Details]:
    if purpose == "request":
        need: Need = "buy"
        if action == "transferCustody":
            need = "borrow"
        elif action == "deliverService":
            need = "help"
        return "request", RequestDetails(need)
    if action == "transferCustody":
        return "lend", LendDetails()
    if action == "deliverService":
        return "service", ServiceDetails(paid=paid)
    return ("sell" if paid else "give"), None


# Prices --------------------------------------------------------------------------------------


def _price(reciprocal: _Intent | None) -> tuple[Price | None, str]:
    """The price a reciprocal intent asks, or ``None`` and what it asks in words."""
    if reciprocal is None or reciprocal.quantity is None or reciprocal.quantity.value is None:
        return None, ""
    amount = reciprocal.quantity.value
    unit = reciprocal.quantity.unit
    code = None
    if reciprocal.price_currency is not None:
        code = reciprocal.price_currency.strip()
    elif currencies.CODE.fullmatch(unit):
        code = unit  # a currency given as the unit, as some senders do
    elif reciprocal.resource is not None:
        code = currencies.currency_of_iri(reciprocal.resource)
        if code is None:
            # A crypto asset (Mitra's CAIP-19 ids) or a resource we cannot name in ISO 4217.
            return None, f"{amount} {reciprocal.resource}"[:200]
    if code is None:
        return None, (f"{amount}" if unit == "one" else f"{amount} {unit}")[:200]
    return Price.parse(str(amount), code), ""


# Text ------------------------------------------------------------------------------------------


def _description_html(doc: dict[str, Any], ours: bool) -> str:
    source = doc.get("source")
    # Our content opens with a summary line and ends with the hashtags; the description
    # alone is the source we derived it from. Others' sources (Misskey's MFM) are not HTML.
    if ours and isinstance(source, dict) and source.get("mediaType") == "text/html":
        content = source.get("content")
        if isinstance(content, str):
            return content[:MAX_HTML]
    return natural_language(doc, "content")[:MAX_HTML]


def _title_and_text(doc: dict[str, Any], description_html: str) -> tuple[str, str]:
    text = html_to_text(description_html, MAX_TEXT)
    title = html_to_text(natural_language(doc, "name"), MAX_TITLE)
    if not title:
        # A post without a title (a Note from elsewhere): its first line stands for one.
        title = text.split("\n", 1)[0][:100]
    if not title:
        raise ListingMalformed("the listing has no name and no content")
    return title, text


def _short(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""
