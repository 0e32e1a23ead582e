"""What a member fills in to publish or change a listing, validated before the service runs.

Shared by every surface (JSON API, web pages, Mastodon client API): a rule lives here once.
Kind-specific terms go in ``details``, checked against the kind: a lend says when the thing
comes back, a carpool where it goes and when, a sale has a price.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from node.listings.categories import CATEGORIES
from node.listings.models import Audience, Kind

TITLE_MIN, TITLE_MAX = 3, 200
DESCRIPTION_LENGTH = 10_000
MAX_PHOTOS = 4


class _Form(BaseModel):
    # Strict, as every request body of the API: no "3" for 3, no "yes" for true. Dates and
    # amounts are the exception (JSON has no such types): marked strict=False where they occur.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, str_strip_whitespace=True)


class PriceForm(_Form):
    """An amount (a string such as "12.50", or a number) and an ISO 4217 currency code."""

    amount: Decimal = Field(ge=0, max_digits=15, decimal_places=4, strict=False)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class PointForm(_Form):
    """Roughly where: snapped to the community's grid before it is stored."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class LendDetails(_Form):
    """When a lent thing comes back: a date, or a number of days from the agreement."""

    return_by: date | None = Field(default=None, strict=False)
    duration_days: int | None = Field(default=None, ge=1, le=365)

    @model_validator(mode="after")
    def _one(self) -> LendDetails:
        if (self.return_by is None) == (self.duration_days is None):
            raise ValueError("a lend needs either return_by (a date) or duration_days")
        return self


class RequestDetails(_Form):
    """What a request asks for."""

    need: Literal["borrow", "buy", "help"]


class ServiceDetails(_Form):
    """A service is offered for free or paid (a paid one has a price)."""

    paid: bool = False


class CarpoolDetails(_Form):
    """A ride: from, to, when, how many seats, once or every week."""

    origin: str = Field(min_length=2, max_length=200, alias="from")
    destination: str = Field(min_length=2, max_length=200, alias="to")
    departure: datetime = Field(strict=False)
    seats: int = Field(ge=1, le=8)
    recurrence: Literal["once", "weekly"] = "once"

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    @field_validator("departure")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the departure with its time zone (e.g. 2026-12-24T08:30+01:00)")
        return value


DETAILS: dict[Kind, type[_Form] | None] = {
    Kind.GIVE: None,
    Kind.SELL: None,
    Kind.LEND: LendDetails,
    Kind.REQUEST: RequestDetails,
    Kind.SERVICE: ServiceDetails,
    Kind.CARPOOL: CarpoolDetails,
}


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give the time with its time zone (e.g. 2026-12-24T18:00Z)")
    return value


def _category(value: str) -> str:
    if value not in CATEGORIES:
        raise ValueError("unknown category: see GET /api/quartier/v1/listings/categories")
    return value


class ListingForm(_Form):
    """A new listing. ``expires_at`` absent: the node's default; ``null``: a standing offer."""

    kind: Kind = Field(strict=False)
    title: str = Field(min_length=TITLE_MIN, max_length=TITLE_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_LENGTH)
    # "html": the description is HTML, reduced to a safe subset; "text": plain text
    format: Literal["text", "html"] = "text"
    category: str
    audience: Audience = Field(default=Audience.NODE, strict=False)
    # the slug of one of our circles: for its members only (see docs/circles.md)
    circle: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,30}$")
    details: dict[str, Any] = Field(default_factory=dict)
    price: PriceForm | None = None
    quantity: int = Field(default=1, ge=1, le=1000)
    availability: str = Field(default="", max_length=500)
    # only verified neighbours (ours, or attested by a node we trust) may answer
    verified_responders: bool = False
    location: PointForm | None = None
    photos: list[str] = Field(default_factory=list, max_length=MAX_PHOTOS)
    expires_at: datetime | None = Field(default=None, strict=False)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        return _category(value)

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @model_validator(mode="after")
    def _kind_rules(self) -> ListingForm:
        check_kind(self.kind, self.details, self.price)
        return self

    def parsed_details(self) -> dict[str, Any]:
        """``details`` as stored: validated for the kind, dates as ISO strings."""
        return parse_details(self.kind, self.details)


class ListingChanges(_Form):
    """An edit: only the fields given change (kind and audience are fixed once published)."""

    title: str | None = Field(default=None, min_length=TITLE_MIN, max_length=TITLE_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_LENGTH)
    format: Literal["text", "html"] = "text"
    category: str | None = None
    details: dict[str, Any] | None = None
    price: PriceForm | None = None
    quantity: int | None = Field(default=None, ge=1, le=1000)
    availability: str | None = Field(default=None, max_length=500)
    verified_responders: bool | None = None
    location: PointForm | None = None
    photos: list[str] | None = Field(default=None, max_length=MAX_PHOTOS)
    expires_at: datetime | None = Field(default=None, strict=False)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        return None if value is None else _category(value)

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class StatusForm(_Form):
    """A status the author sets by hand (expiry and withdrawal have their own ways)."""

    status: Literal["open", "reserved", "done"]


def check_kind(kind: Kind, details: dict[str, Any], price: PriceForm | None) -> None:
    """The rules that tie a kind to its details and its price (ValueError names the rule)."""
    parse_details(kind, details)
    if kind is Kind.SELL and price is None:
        raise ValueError("a sale needs a price")
    if kind is Kind.SERVICE and bool(details.get("paid")) != (price is not None):
        raise ValueError("a paid service needs a price, a free one has none")
    if kind in (Kind.GIVE, Kind.LEND) and price is not None:
        raise ValueError(f"a {kind.value} is free: it has no price")
    if kind is Kind.REQUEST and price is not None and details.get("need") != "buy":
        raise ValueError("only a request to buy has a price (the budget)")


def parse_details(kind: Kind, details: dict[str, Any]) -> dict[str, Any]:
    """``details`` validated against the kind's model, as JSON-ready values."""
    model = DETAILS[kind]
    if model is None:
        if details:
            raise ValueError(f"a {kind.value} listing takes no details")
        return {}
    try:
        parsed = model.model_validate(details)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        problem = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
        raise ValueError(f"details{'.' + where if where else ''}: {problem}") from None
    return parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
