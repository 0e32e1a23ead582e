"""A listing's terms as plain values: what we send (:class:`ListingTerms`) and what we read
(:class:`ReceivedListing`).

The node converts its models to and from these; nothing here knows of a database. Kind-specific
terms are typed (:class:`LendDetails`...); :func:`details_to_mapping` and
:func:`details_from_mapping` convert them to and from the JSON the node's ``Listing.details``
column holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

from activitypub.errors import InvalidPrice, ListingMalformed, UnknownCurrency
from activitypub.listings import currencies

ListingKind = Literal["give", "lend", "sell", "service", "request", "carpool"]
ListingStatus = Literal["open", "reserved", "done", "withdrawn", "expired"]
Purpose = Literal["offer", "request"]
Need = Literal["borrow", "buy", "help"]
Recurrence = Literal["once", "weekly"]
# Which software's shape a received listing came in.
Shape = Literal["quartier", "fep-0837", "flohmarkt"]

KINDS: tuple[ListingKind, ...] = get_args(ListingKind)
STATUSES: tuple[ListingStatus, ...] = get_args(ListingStatus)
NEEDS: tuple[Need, ...] = get_args(Need)
RECURRENCES: tuple[Recurrence, ...] = get_args(Recurrence)

MAX_AMOUNT = Decimal(10) ** 12  # in major units: a neighbour's price is never near it
MAX_LOAN_DAYS = 3650
MAX_SEATS = 100


@dataclass(frozen=True)
class Price:
    """An amount of money in an ISO 4217 currency; for a listing of several items, each one's.

    Construction checks it: a finite, non-negative amount with no more decimals than the
    currency's minor unit (``12.345 EUR`` is refused; ``12.5`` is ``12.50``), in a currency
    ISO 4217 lists (:exc:`~activitypub.errors.UnknownCurrency` otherwise).
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.currency, str) or not currencies.is_currency(self.currency):
            raise UnknownCurrency(f"{self.currency!r} is not an ISO 4217 currency code")
        amount = self.amount
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise InvalidPrice(f"price {amount!r} is not a number")
        if amount < 0:
            raise InvalidPrice(f"price {amount} is negative")
        if amount > MAX_AMOUNT:
            raise InvalidPrice(f"price {amount} is too large")
        places = currencies.exponent(self.currency)
        exponent = amount.as_tuple().exponent
        # Trailing zeros are harmless (JPY "1500.00"); digits below the minor unit are not.
        if isinstance(exponent, int) and exponent < -places and amount != round(amount, places):
            raise InvalidPrice(
                f"price {amount} has more decimals than {self.currency} has ({places})"
            )
        # One spelling per value, so that equal prices compare equal (12.5 and 12.50; -0).
        normal = amount.quantize(Decimal(1).scaleb(-places))
        object.__setattr__(self, "amount", normal.copy_abs() if normal == 0 else normal)

    @classmethod
    def parse(cls, amount: object, currency: str) -> Price:
        """A price from a JSON value (a decimal string or a number, never a boolean)."""
        return cls(decimal_value(amount, what="price"), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Price:
        """A price from an amount in the currency's minor unit (cents), as the node stores it."""
        if not currencies.is_currency(currency):
            raise UnknownCurrency(f"{currency!r} is not an ISO 4217 currency code")
        return cls(Decimal(minor).scaleb(-currencies.exponent(currency)), currency)

    @property
    def minor(self) -> int:
        """The amount in the currency's minor unit (1250 for 12.50 EUR, 1500 for 1500 JPY)."""
        return int(self.amount.scaleb(currencies.exponent(self.currency)))

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def decimal_value(value: object, *, what: str) -> Decimal:
    """A JSON number or numeric string as a finite ``Decimal``, or :exc:`ListingMalformed`.

    ``hasNumericalValue`` is a string in the FEP's examples and in Mitra, a number elsewhere.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ListingMalformed(f"{what} {value!r} is not a number")
    text = str(value).strip()
    if len(text) > 40:
        raise ListingMalformed(f"{what} is not a number of a sane length")
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        raise ListingMalformed(f"{what} {text!r} is not a number") from None
    if not parsed.is_finite():
        raise ListingMalformed(f"{what} {text!r} is not a finite number")
    return parsed


@dataclass(frozen=True)
class Place:
    """Where a listing is: the community's name and a point snapped to a grid, with the radius
    around it that the real place lies in (never a member's address)."""

    name: str
    latitude: float | None = None
    longitude: float | None = None
    radius_m: int | None = None


@dataclass(frozen=True)
class Photo:
    """A photo of a listing: where it is served, its type and its description (alt text)."""

    url: str
    media_type: str
    description: str = ""
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class LendDetails:
    """A loan: to be returned by a date, or after a number of days, or when agreed (neither)."""

    return_by: date | None = None
    duration_days: int | None = None

    def __post_init__(self) -> None:
        if self.return_by is not None and self.duration_days is not None:
            raise ListingMalformed("a loan has a return date or a duration, not both")
        if self.duration_days is not None and not 0 < self.duration_days <= MAX_LOAN_DAYS:
            raise ListingMalformed(f"a loan of {self.duration_days} days")


@dataclass(frozen=True)
class RequestDetails:
    """What a request asks for: to borrow something, to buy it, or help."""

    need: Need


@dataclass(frozen=True)
class ServiceDetails:
    """A service offered: paid (a price, or one to agree) or free."""

    paid: bool


@dataclass(frozen=True)
class CarpoolDetails:
    """A ride offered: from where to where, when, how many seats, once or every week."""

    origin: str
    destination: str
    departure: datetime
    seats: int
    recurrence: Recurrence = "once"

    def __post_init__(self) -> None:
        if not 0 < self.seats <= MAX_SEATS:
            raise ListingMalformed(f"a ride with {self.seats} seats")
        if self.departure.tzinfo is None:
            raise ListingMalformed("a departure time needs its time zone")


Details = LendDetails | RequestDetails | ServiceDetails | CarpoolDetails | None


def details_to_mapping(details: Details) -> dict[str, object]:
    """The JSON the node stores in ``Listing.details`` for these details."""
    match details:
        case LendDetails(return_by=return_by, duration_days=days):
            if return_by is not None:
                return {"return_by": return_by.isoformat()}
            return {"duration_days": days} if days is not None else {}
        case RequestDetails(need=need):
            return {"need": need}
        case ServiceDetails(paid=paid):
            return {"paid": paid}
        case CarpoolDetails():
            return {
                "from": details.origin,
                "to": details.destination,
                "departure": details.departure.astimezone(UTC).isoformat(),
                "seats": details.seats,
                "recurrence": details.recurrence,
            }
    return {}


def details_from_mapping(kind: ListingKind, mapping: Mapping[str, object]) -> Details:
    """The details of a listing of ``kind`` from the JSON :func:`details_to_mapping` wrote.

    Raises :exc:`~activitypub.errors.ListingMalformed` for a value that cannot be right.
    """
    try:
        if kind == "lend":
            return_by = mapping.get("return_by")
            days = mapping.get("duration_days")
            return LendDetails(
                return_by=date.fromisoformat(return_by) if isinstance(return_by, str) else None,
                duration_days=_integer(days, "duration_days") if days is not None else None,
            )
        if kind == "request":
            need = mapping.get("need")
            for known in NEEDS:
                if need == known:
                    return RequestDetails(known)
            raise ListingMalformed(f"a request's need is one of {', '.join(NEEDS)}")
        if kind == "service":
            return ServiceDetails(paid=mapping.get("paid") is True)
        if kind == "carpool":
            departure = datetime.fromisoformat(str(mapping.get("departure")))
            return CarpoolDetails(
                origin=str(mapping.get("from", "")),
                destination=str(mapping.get("to", "")),
                departure=departure,
                seats=_integer(mapping.get("seats"), "seats"),
                recurrence="weekly" if mapping.get("recurrence") == "weekly" else "once",
            )
    except ValueError as error:  # a date that is not one
        raise ListingMalformed(f"{kind} details: {error}") from None
    return None


def _integer(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ListingMalformed(f"{what} {value!r} is not a whole number")
    return value


@dataclass(frozen=True)
class ListingTerms:
    """One of our listings, as we publish it (:func:`~activitypub.listings.listing_object`).

    ``content_html`` is the description, already sanitised by the node. ``summary`` is a
    one-line plain text the node composes in the listing's language (kind, title, price or
    free, place, expiry, how to respond): it opens the post's ``content`` so that software
    reading no listing terms (Mastodon, GoToSocial, Pleroma) shows a complete post. It is never
    sent as ActivityStreams ``summary``, which those show as a content warning. When it is
    ``None`` an English line is composed from the terms.

    ``price`` is the whole listing's when ``quantity`` is 1, each item's otherwise. ``tag_base``
    is the URL hashtags are under (``https://node.example/tags/``); ``audience`` the
    neighbourhood ``Group`` actor that relays the listing (FEP-1b12).
    """

    id: str
    author: str
    kind: ListingKind
    title: str
    content_html: str
    published: datetime
    category: str = ""
    details: Details = None
    summary: str | None = None
    price: Price | None = None
    quantity: int = 1
    available_quantity: int = 1
    place: Place | None = None
    photos: tuple[Photo, ...] = ()
    updated: datetime | None = None
    end_time: datetime | None = None
    status: ListingStatus = "open"
    url: str | None = None
    audience: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    tag_base: str | None = None
    language: str | None = None
    # the author answers verified neighbours only (docs/verification.md)
    verified_responders: bool = False


@dataclass(frozen=True)
class Measure:
    """A Valueflows quantity: a unit (OM2 name, ``one`` for countable things) and an amount
    (``None`` when the proposal leaves it to the respondent)."""

    unit: str
    value: Decimal | None


@dataclass(frozen=True)
class ReceivedListing:
    """A listing from another server, in plain values whatever shape it came in.

    ``description_html`` is as received and **not sanitised** (the node sanitises it with nh3
    before storing or serving it); ``description_text`` is its text, safe to store as is.
    ``price`` is ``None`` when there is none or when it cannot be named in ISO 4217 (a crypto
    asset, Flohmarkt's free text such as "VB"): ``price_text`` then says what was offered.
    ``primary_intent``/``reciprocal_intent`` and the two measures are what an
    ``Offer(Agreement)`` answering it must name and match (FEP-0837).
    """

    id: str
    author: str
    kind: ListingKind
    purpose: Purpose
    title: str
    description_html: str
    description_text: str
    published: datetime | None
    shape: Shape
    category: str = ""
    details: Details = None
    price: Price | None = None
    price_text: str = ""
    quantity: int = 1
    available_quantity: int = 1
    unit_based: bool = False
    place: Place | None = None
    photos: tuple[Photo, ...] = ()
    updated: datetime | None = None
    end_time: datetime | None = None
    status: ListingStatus = "open"
    url: str | None = None
    audience: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    language: str | None = None
    resource: str | None = None
    primary_intent: str | None = None
    reciprocal_intent: str | None = None
    verified_responders: bool = False
    resource_quantity: Measure | None = None
    reciprocal_quantity: Measure | None = None
