"""Reading the terms of our namespace (:mod:`activitypub.listings.vocabulary`): a partner
node's listing kind, status, category and kind-specific details.

They are our format: a value we cannot read is a bug of the sender, and refuses the listing.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from activitypub.errors import ListingMalformed
from activitypub.listings.terms import (
    KINDS,
    MAX_LOAN_DAYS,
    MAX_SEATS,
    NEEDS,
    STATUSES,
    CarpoolDetails,
    Details,
    LendDetails,
    ListingKind,
    ListingStatus,
    RequestDetails,
    ServiceDetails,
)
from activitypub.notes import html_to_text
from activitypub.properties import object_types, timestamp, values

MAX_TITLE = 200
_CATEGORY = re.compile(r"[a-z0-9_-]{1,32}")


def read_kind(value: Any) -> ListingKind:
    """``listingKind``: one of our six kinds."""
    for kind in KINDS:
        if value == kind:
            return kind
    raise ListingMalformed(f"listingKind {value!r} is not one of {', '.join(KINDS)}")


def read_status(value: Any) -> ListingStatus:
    """``listingStatus``: where the listing is in its life (``open`` when absent)."""
    for status in STATUSES:
        if value == status:
            return status
    if value is None:
        return "open"
    raise ListingMalformed(f"listingStatus {value!r} is not one of {', '.join(STATUSES)}")


def read_details(kind: ListingKind, doc: dict[str, Any]) -> Details:
    """The details of a listing of ``kind``: a loan's return date or duration, a request's
    need, whether a service is paid, a ride's route, departure (``startTime``) and seats."""
    if kind == "lend":
        return_by = doc.get("returnBy")
        days = doc.get("loanDays")
        return LendDetails(
            return_by=_date(return_by, "returnBy") if return_by is not None else None,
            duration_days=_whole(days, "loanDays", MAX_LOAN_DAYS) if days is not None else None,
        )
    if kind == "request":
        need = doc.get("requestNeed")
        for known in NEEDS:
            if need == known:
                return RequestDetails(known)
        raise ListingMalformed(f"requestNeed {need!r} is not one of {', '.join(NEEDS)}")
    if kind == "service":
        return ServiceDetails(paid=doc.get("paidService") is True)
    if kind == "carpool":
        departure = timestamp(doc.get("startTime"))
        if departure is None:
            raise ListingMalformed("a ride has no startTime (its departure)")
        return CarpoolDetails(
            origin=_text(doc.get("rideFrom"), "rideFrom"),
            destination=_text(doc.get("rideTo"), "rideTo"),
            departure=departure,
            seats=_whole(doc.get("seats"), "seats", MAX_SEATS),
            recurrence="weekly" if doc.get("rideRecurrence") == "weekly" else "once",
        )
    return None


def _date(value: Any, what: str) -> date:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ListingMalformed(f"{what} {value!r} is not a date (YYYY-MM-DD)")


def _whole(value: Any, what: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
        raise ListingMalformed(f"{what} {value!r} is not a whole number from 1 to {limit}")
    return value


def _text(value: Any, what: str) -> str:
    text = html_to_text(value, MAX_TITLE) if isinstance(value, str) else ""
    if not text:
        raise ListingMalformed(f"{what} is missing")
    return text


def read_category(doc: dict[str, Any]) -> str:
    """Our taxonomy's key, or the category another server gives (Epicyon sends it as a
    ``PropertyValue`` attachment named ``category``); the node maps the latter."""
    ours = doc.get("listingCategory")
    if isinstance(ours, str) and _CATEGORY.fullmatch(ours):
        return ours
    for item in values(doc.get("attachment"), limit=20):
        if (
            isinstance(item, dict)
            and "PropertyValue" in object_types(item)
            and item.get("name") == "category"
            and isinstance(item.get("value"), str)
        ):
            return html_to_text(item["value"], 64)
    return ""
