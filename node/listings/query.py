"""What a listing search asks for: :class:`ListingQuery`, read from HTTP parameters by
:func:`parse_query`, and the opaque cursor that continues it.

The same query object drives the SQL search (``node/listings/search.py``) and the Python
predicate that saved-search alerts run on each new listing; :func:`query_params` writes it back
as parameters (what a saved search stores), and ``parse_query(query_params(q)) == q``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from node.errors import ValidationFailed
from node.listings.cursor import Position, decode_position, encode_position
from node.listings.folding import terms
from node.listings.models import Audience, Kind, Status

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_TEXT = 500  # characters of free text
MAX_TERMS = 16
MAX_KM = 500.0
DEFAULT_KM = 10.0
MAX_VALUES = 50  # in one list parameter (kinds, categories, hosts)
# The last term of the text matches as a prefix (people type) once it has this many
# characters; a single letter matches as a whole term.
PREFIX_MIN = 2
LOCAL = "local"  # in ``origins``: the listings of this node

_CURRENCY = re.compile(r"[A-Z]{3}")
_CATEGORY = re.compile(r"[a-z0-9_-]{1,32}")
_HOST = re.compile(r"[a-z0-9.-]{1,253}(:[0-9]{1,5})?")
_INTEGER = re.compile(r"[0-9]{1,18}")
_NUMBER = re.compile(r"-?[0-9]{1,3}(\.[0-9]{1,12})?")


class Sort(StrEnum):
    """The order of results."""

    NEWEST = "newest"  # published_at, newest first (then id, highest first)
    ENDING_SOON = "ending_soon"  # expires_at, soonest first: only listings that expire
    NEAREST = "nearest"  # distance from ``near``, closest first (needs ``near``)


@dataclass(frozen=True)
class Near:
    """A circle: listings whose point lies within ``km`` of (``latitude``, ``longitude``)."""

    latitude: float
    longitude: float
    km: float = DEFAULT_KM


@dataclass(frozen=True)
class ListingQuery:
    """A search over listings. Every filter narrows the results; an empty set means "any".

    ``authors`` is the exception: ``None`` is any author, an empty set is nobody (a "verified
    authors only" search when nobody is verified finds nothing). Times are aware datetimes;
    ``published_since`` is inclusive, ``published_until`` and ``expiring_before`` exclusive.
    A price bound matches only listings with a price in ``currency``, which it requires.
    """

    text: str = ""
    kinds: frozenset[Kind] = frozenset()
    categories: frozenset[str] = frozenset()
    statuses: frozenset[Status] = frozenset({Status.OPEN})
    audiences: frozenset[Audience] = frozenset()
    # hosts listings came from; LOCAL stands for this node's own
    origins: frozenset[str] = frozenset()
    local: bool | None = None  # True: this node's listings only, False: other nodes' only
    min_price: int | None = None  # minor units (cents)
    max_price: int | None = None
    currency: str | None = None
    near: Near | None = None
    published_since: datetime | None = None
    published_until: datetime | None = None
    expiring_before: datetime | None = None
    authors: frozenset[str] | None = None  # actor URIs
    # verified authors only (HTTP ``verified=true``); who they are is the caller's to say in
    # ``verified_authors`` (the members service), not part of the search's identity
    verified_only: bool = False
    verified_authors: frozenset[str] | None = field(default=None, compare=False, repr=False)
    # silenced by the moderators (servers, each covering its subdomains, and actors): kept out
    # of the results; filled by the listing service, not part of the search's identity
    muted_hosts: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    muted_authors: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    # the circles (actor ids) the viewer belongs to: listings addressed to another circle are
    # kept out; filled by the listing service, not part of the search's identity
    circles: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    sort: Sort = Sort.NEWEST
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    # the text's terms, folded (derived)
    terms: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValidationFailed("the search is not valid", details=problems)
        object.__setattr__(self, "terms", tuple(terms(self.text)))

    @property
    def allowed_authors(self) -> frozenset[str] | None:
        """The authors a listing may have to match (``None``: any): ``authors``, and among
        them the verified ones when ``verified_only`` (nobody, until they are given)."""
        if not self.verified_only:
            return self.authors
        verified = self.verified_authors or frozenset()
        return verified if self.authors is None else verified & self.authors

    @property
    def prefix(self) -> bool:
        """Whether the last term matches as a prefix."""
        return bool(self.terms) and len(self.terms[-1]) >= PREFIX_MIN


def _problems(q: ListingQuery) -> list[dict[str, str]]:
    """What is wrong with ``q``, one entry per parameter (the HTTP names)."""
    problems: list[dict[str, str]] = []

    def bad(name: str, message: str) -> None:
        problems.append({"field": name, "message": message})

    if len(q.text) > MAX_TEXT:
        bad("q", f"at most {MAX_TEXT} characters")
    elif len(terms(q.text)) > MAX_TERMS:
        bad("q", f"at most {MAX_TERMS} words")
    if not 1 <= q.limit <= MAX_LIMIT:
        bad("limit", f"between 1 and {MAX_LIMIT}")
    for name, price in (("min_price", q.min_price), ("max_price", q.max_price)):
        if price is not None and price < 0:
            bad(name, "a price in minor units (cents), 0 or more")
    if q.min_price is not None and q.max_price is not None and q.min_price > q.max_price:
        bad("max_price", "at least min_price")
    if (q.min_price is not None or q.max_price is not None) and q.currency is None:
        bad("currency", "required with a price bound (ISO 4217, such as EUR)")
    if q.currency is not None and not _CURRENCY.fullmatch(q.currency):
        bad("currency", "a currency code (ISO 4217, such as EUR)")
    if q.near is not None:
        if not (-90 <= q.near.latitude <= 90 and -180 <= q.near.longitude <= 180):
            bad("near", "latitude,longitude in degrees")
        if not 0 < q.near.km <= MAX_KM:
            bad("km", f"a distance above 0 and up to {MAX_KM:g} km")
    if q.sort is Sort.NEAREST and q.near is None:
        bad("sort", "nearest needs near (latitude,longitude)")
    for name, moment in (
        ("published_since", q.published_since),
        ("published_until", q.published_until),
        ("expiring_before", q.expiring_before),
    ):
        if moment is not None and moment.tzinfo is None:
            bad(name, "a time with its time zone")
    for name, values in (
        ("kind", q.kinds),
        ("category", q.categories),
        ("status", q.statuses),
        ("audience", q.audiences),
        ("origin", q.origins),
    ):
        if len(values) > MAX_VALUES:
            bad(name, f"at most {MAX_VALUES} values")
    return problems


# --------------------------------------------------------------------------------------------
# HTTP parameters


PARAMETERS = frozenset(
    {
        "q",
        "kind",
        "category",
        "status",
        "audience",
        "origin",
        "local",
        "min_price",
        "max_price",
        "currency",
        "near",
        "km",
        "published_since",
        "published_until",
        "expiring_before",
        "author",
        "verified",
        "sort",
        "limit",
        "cursor",
    }
)


def parse_query(params: Mapping[str, str], *, ignore: Collection[str] = ()) -> ListingQuery:
    """A :class:`ListingQuery` from HTTP query parameters.

    Lists are comma-separated (``kind=give,lend``); prices are integers in minor units;
    ``near=45.76,4.83`` with ``km`` (default 10); times ISO 8601 with a time zone, or a date
    (midnight UTC); ``local=true|false``; ``author`` is one actor URI. Parameters in
    ``ignore`` belong to the caller; any other unknown one is an error (a misspelt filter must
    not quietly widen the search). Raises ``ValidationFailed`` naming every bad parameter.
    """
    problems: list[dict[str, str]] = []
    values: dict[str, Any] = {}

    def bad(name: str, message: str) -> None:
        problems.append({"field": name, "message": message})

    unknown = sorted(set(params) - PARAMETERS - set(ignore))
    for name in unknown:
        bad(name, "unknown parameter")

    def get(name: str) -> str | None:
        raw = params.get(name)
        return raw.strip() if raw is not None else None

    text = params.get("q")
    if text is not None:
        values["text"] = text
    for name, attr, enum in (
        ("kind", "kinds", Kind),
        ("status", "statuses", Status),
        ("audience", "audiences", Audience),
    ):
        raw = get(name)
        if raw is None:
            continue
        choices = [member.value for member in enum]
        try:
            chosen = frozenset(enum(item) for item in _items(raw))
        except ValueError:
            chosen = frozenset()
        if chosen:
            values[attr] = chosen
        else:
            bad(name, "one or more of " + ", ".join(choices))
    for name, attr, pattern, message in (
        ("category", "categories", _CATEGORY, "category names"),
        ("origin", "origins", _HOST, f"host names, or {LOCAL}"),
    ):
        raw = get(name)
        if raw is None:
            continue
        items = [item.lower() for item in _items(raw)]
        if not items or not all(pattern.fullmatch(item) for item in items):
            bad(name, message)
        else:
            values[attr] = frozenset(items)
    for name, attr in (("local", "local"), ("verified", "verified_only")):
        raw = get(name)
        if raw is not None:
            flag = {"true": True, "1": True, "false": False, "0": False}.get(raw.lower())
            if flag is None:
                bad(name, "true, false, 1 or 0")
            values[attr] = flag
    for name in ("min_price", "max_price", "limit"):
        raw = get(name)
        if raw is None:
            continue
        if not _INTEGER.fullmatch(raw):
            bad(name, "a whole number, 0 or more" if name != "limit" else "a whole number")
        else:
            values[name] = int(raw)
    raw = get("currency")
    if raw is not None:
        values["currency"] = raw.upper()
    near, km = get("near"), get("km")
    if near is not None:
        parts = near.split(",")
        if len(parts) != 2 or not all(_NUMBER.fullmatch(p.strip()) for p in parts):
            bad("near", "latitude,longitude in degrees, such as 45.76,4.83")
        else:
            where = Near(float(parts[0]), float(parts[1]))
            if km is not None:
                distance = _finite(km)
                if distance is None:
                    bad("km", "a distance in kilometres")
                else:
                    where = Near(where.latitude, where.longitude, distance)
            values["near"] = where
    elif km is not None:
        bad("km", "only with near")
    for name in ("published_since", "published_until", "expiring_before"):
        raw = get(name)
        if raw is not None:
            moment = _moment(raw)
            if moment is None:
                bad(name, "an ISO 8601 time with its time zone, or a date")
            values[name] = moment
    raw = get("author")
    if raw is not None:
        values["authors"] = frozenset({raw})
    raw = get("sort")
    if raw is not None:
        try:
            values["sort"] = Sort(raw)
        except ValueError:
            bad("sort", "one of " + ", ".join(s.value for s in Sort))
    raw = get("cursor")
    if raw is not None:
        values["cursor"] = raw
    try:
        # the ranges and combinations of what did parse, reported with what did not
        query = ListingQuery(**{k: v for k, v in values.items() if v is not None})
    except ValidationFailed as exc:
        problems += [p for p in exc.details if p not in problems]
    if problems:
        order = {name: n for n, name in enumerate(sorted(PARAMETERS))}
        problems.sort(key=lambda p: order.get(p["field"], -1))
        raise ValidationFailed("the search is not valid", details=problems)
    if query.cursor is not None:
        decode_cursor(query)  # a bad cursor fails here, with the other parameters
    return query


# What a visitor (no account) may see: this node's own public listings, open or reserved.
VISITOR_STATUSES = frozenset({Status.OPEN, Status.RESERVED})


def visitor_query(query: ListingQuery) -> ListingQuery | None:
    """``query`` narrowed to what a visitor may see (this node's listings with the audience
    ``public``, open or reserved), or ``None`` when it asks only for what a visitor may not
    see (another audience, other nodes', done listings): nothing is found then.

    Narrowed rather than post-filtered, so pages keep their size. Cursors stay bound to the
    search the caller asked for: ``query``'s cursor is carried over to the narrowed search
    here, and the page's next one back with :func:`visitor_cursor`."""
    if query.audiences and Audience.PUBLIC not in query.audiences:
        return None
    if query.local is False or (query.origins and LOCAL not in query.origins):
        return None
    statuses = (query.statuses or VISITOR_STATUSES) & VISITOR_STATUSES
    if not statuses:
        return None
    narrowed = replace(
        query,
        audiences=frozenset({Audience.PUBLIC}),
        origins=frozenset(),
        local=True,
        statuses=statuses,
        circles=frozenset(),
        cursor=None,
    )
    position = decode_cursor(query)
    if position is None:
        return narrowed
    return replace(narrowed, cursor=encode_cursor(narrowed, position))


def visitor_cursor(query: ListingQuery, narrowed: ListingQuery, cursor: str | None) -> str | None:
    """The next page's ``cursor`` of the ``narrowed`` search (:func:`visitor_query`), as a
    cursor of the ``query`` the caller sent (which their next request sends again)."""
    if cursor is None:
        return None
    position = decode_cursor(replace(narrowed, cursor=cursor))
    assert position is not None
    return encode_cursor(query, position)


def check_member_search(query: ListingQuery) -> None:
    """Refuse what a member may not search for (``ValidationFailed``): withdrawn listings,
    which only their author sees (``GET /api/quartier/v1/listings/mine``)."""
    if Status.WITHDRAWN in query.statuses:
        raise ValidationFailed(
            "the search is not valid",
            details=[
                {
                    "field": "status",
                    "message": "withdrawn listings are seen only by their author, in "
                    "/api/quartier/v1/listings/mine",
                }
            ],
        )


def _finite(raw: str) -> float | None:
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _items(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _moment(raw: str) -> datetime | None:
    """An aware datetime from ISO 8601 (``Z`` or an offset), or midnight UTC of a date."""
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def query_params(query: ListingQuery) -> dict[str, str]:
    """``query`` as the HTTP parameters :func:`parse_query` reads (defaults left out): what a
    saved search stores."""
    out: dict[str, str] = {}
    if query.text:
        out["q"] = query.text
    for name, items in (
        ("kind", query.kinds),
        ("category", query.categories),
        ("audience", query.audiences),
        ("origin", query.origins),
    ):
        if items:
            out[name] = ",".join(sorted(items))
    if query.statuses != {Status.OPEN}:
        out["status"] = ",".join(sorted(query.statuses))
    if query.local is not None:
        out["local"] = "true" if query.local else "false"
    for name, number in (("min_price", query.min_price), ("max_price", query.max_price)):
        if number is not None:
            out[name] = str(number)
    if query.currency is not None:
        out["currency"] = query.currency
    if query.near is not None:
        out["near"] = f"{query.near.latitude!r},{query.near.longitude!r}"
        out["km"] = repr(query.near.km)
    for name, moment in (
        ("published_since", query.published_since),
        ("published_until", query.published_until),
        ("expiring_before", query.expiring_before),
    ):
        if moment is not None:
            out[name] = moment.isoformat()
    if query.authors is not None:
        if len(query.authors) != 1:
            raise ValueError("only a search by one author has HTTP parameters")
        (out["author"],) = query.authors
    if query.verified_only:
        out["verified"] = "true"
    if query.sort is not Sort.NEWEST:
        out["sort"] = query.sort.value
    if query.limit != DEFAULT_LIMIT:
        out["limit"] = str(query.limit)
    if query.cursor is not None:
        out["cursor"] = query.cursor
    return out


# --------------------------------------------------------------------------------------------
# Cursors


def fingerprint(query: ListingQuery) -> str:
    """What a cursor is bound to: the search's filters and order (not its limit), hashed.

    A cursor from one search handed to another would skip or repeat listings silently: it is
    refused instead. Not a secret: a cursor only positions a caller inside results the
    filters already let them see."""
    params = query_params(replace(query, cursor=None, limit=DEFAULT_LIMIT, authors=None))
    canonical = {**params, "q": " ".join(query.terms)}
    if query.authors is not None:
        canonical["author"] = "\n".join(sorted(query.authors))
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


def decode_cursor(query: ListingQuery) -> Position | None:
    """The position ``query.cursor`` stands for (``None`` without one); ``ValidationFailed``
    naming ``cursor`` when it is not one of ours, or belongs to another search."""
    if query.cursor is None:
        return None
    return decode_position(query.cursor, query.sort.value, fingerprint(query))


def encode_cursor(query: ListingQuery, position: Position) -> str:
    """The opaque cursor of the page after ``position`` for ``query``."""
    return encode_position(position, query.sort.value, fingerprint(query))
