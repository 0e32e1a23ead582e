"""The listings' pages: browse and search, a listing, create and edit, my listings.

They call the services the JSON API calls (``node/http/listings.py``): the listing service's
``search``, ``get``, ``create``, ``edit``, ``set_status``, ``withdraw``, ``mine``; answers go
through ``respond_to_listing`` (the API's own function); photos through the media service's
``upload``, their body read as a stream by ``read_form`` (``node/http/uploads.py``).

GET  /listings                    browse and search (the API's search parameters), paginated
GET  /listings/new                the form to publish a listing, with photos
POST /listings/new                publish; 303 to the listing
GET  /listings/mine               my listings and their state
GET  /listings/{id}               one listing: photos, author, terms; answer it, or manage it
POST /listings/{id}/respond       answer it (other members); 303 back to it
GET  /listings/{id}/edit          the edit form (its author; others get the 403 page)
POST /listings/{id}/edit          change it; 303 to it
POST /listings/{id}/status        open, reserved or done (its author)
POST /listings/{id}/withdraw      withdraw it (its author); 303 to my listings
POST /listings/responses/{id}/accept|decline   its author decides on an answer
GET  /listings/{id}/report        the form to report it to the moderators (not its author)
POST /listings/{id}/report        report it (the API's ``POST /api/quartier/v1/reports``); 303 back
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from babel.dates import format_date, format_datetime
from babel.numbers import NumberFormatError, parse_decimal
from multidict import MultiDict, MultiDictProxy
from pydantic import ValidationError

from moderation import filters
from node.errors import (
    Conflict,
    Forbidden,
    PayloadTooLarge,
    TooManyRequests,
    UnsupportedMediaType,
    ValidationFailed,
)
from node.http.auth import SESSION_COOKIE
from node.http.keys import LISTINGS, MEDIA, SETTINGS, TRUST
from node.http.listings import respond_to_listing, visitor_may_browse
from node.http.uploads import FormUpload, read_form
from node.listings.categories import CATEGORIES
from node.listings.forms import (
    DESCRIPTION_LENGTH,
    MAX_PHOTOS,
    ListingChanges,
    ListingForm,
)
from node.listings.models import Audience, Kind, Listing, Response, ResponseState, Status
from node.listings.money import format_price, from_minor
from node.listings.query import PARAMETERS, parse_query
from node.listings.search import ListingQuery
from node.listings.service import MAX_MESSAGE, VERIFIED_ONLY
from node.media.models import Media
from node.media.render import media_to_api
from node.members.models import Member, Verification
from node.verification.render import verifications_of
from node.web.common import (
    Form,
    current_session,
    login_redirect,
    member_form,
    member_session,
    page,
)
from node.web.i18n import choose_language
from node.web.reports import file_report, report_form
from node.web.security import CSRF_COOKIE, same_origin
from node.web.setup import error_page, retry_later

routes = web.RouteTableDef()
LISTING = r"/listings/{listing_id:\d{1,18}}"
PHOTO_FIELDS = frozenset(f"photo_{n}" for n in range(1, MAX_PHOTOS + 1))
# The text fields of the listing form (details by kind among them), as the template names them.
TEXT_FIELDS = (
    "kind", "title", "description", "category", "audience", "price_amount", "price_currency",
    "quantity", "availability", "verified_responders", "expires_on", "return_by",
    "duration_days", "need", "paid", "from", "to", "departure", "seats", "recurrence",
)  # fmt: skip
DEFAULT_CURRENCY = "EUR"
# The distances the search form offers around the community's centre, in km.
DISTANCES = (1, 2, 5, 10, 25)
HOME_COUNT = 5
OPEN_STATES = (Status.OPEN, Status.RESERVED)


@dataclass(frozen=True)
class Author:
    """Who published a listing, as a page shows them: a name and how they are verified."""

    name: str
    level: str  # verified, vouched or unverified
    local: bool


@dataclass(frozen=True)
class Shown:
    """A listing with what its page or card shows beside it, formatted for the page."""

    listing: Listing
    author: Author
    price: str | None
    category: str
    photos: list[dict[str, Any]]
    held: bool = False


def _lang(request: web.Request) -> str:
    return choose_language(request, request.app[SETTINGS].community)


def _listing_id(request: web.Request) -> int:
    return int(request.match_info["listing_id"])


def _me(request: web.Request, member: Member) -> str:
    return request.app[SETTINGS].uris.actor(member.username)


def _handle(actor: str) -> str:
    """Another node's member as people write them: ``name@host``."""
    parts = urlsplit(actor)
    name = parts.path.rstrip("/").rsplit("/", 1)[-1].lstrip("@")
    return f"{name}@{parts.hostname}" if name and parts.hostname else actor


def category_name(category: str, lang: str) -> str:
    """A category's name in the page's language (the taxonomy names them in both)."""
    names = CATEGORIES.get(category)
    if names is None:
        return category
    return names.get(lang) or names.get("en") or category


async def authors_of(request: web.Request, actors: Iterable[str]) -> dict[str, Author]:
    """How each author is named and verified, in two queries whatever the number of listings:
    the API's ``verifications_of`` (our verified members and other nodes' attested ones), and
    our members' names and vouches."""
    settings = request.app[SETTINGS]
    uris = settings.uris
    wanted = set(actors)
    badges = await verifications_of(wanted, uris, settings.community.name, request.app[TRUST])
    local = {name: actor for actor in wanted if (name := uris.username_from_actor(actor))}
    members = {}
    if local:
        members = {m.username: m for m in await Member.filter(username__in=list(local))}
    shown: dict[str, Author] = {}
    for actor in wanted:
        username = uris.username_from_actor(actor)
        member = members.get(username) if username else None
        if member is not None:
            level = member.verification.value
            name = member.display_name or member.username
        else:
            level = Verification.UNVERIFIED.value
            name = _handle(actor)
        if actor in badges:
            level = Verification.VERIFIED.value
        shown[actor] = Author(name=name, level=level, local=member is not None)
    return shown


async def shown_listings(
    request: web.Request, listings: list[Listing], *, caught: bool = False
) -> list[Shown]:
    """``listings`` (their photos already fetched, as the service returns them) with their
    authors, prices, categories and photos: no query per listing."""
    lang = _lang(request)
    uris = request.app[SETTINGS].uris
    authors = await authors_of(request, {listing.author for listing in listings})
    held = {}
    if caught:  # held or hidden by a keyword filter: only its author sees it, and is told so
        held = await filters.not_shown("listing", [listing.ap_id for listing in listings])
    return [
        Shown(
            listing=listing,
            author=authors[listing.author],
            price=(
                format_price(listing.price_minor, listing.currency, lang)
                if listing.price_minor is not None and listing.currency
                else None
            ),
            category=category_name(listing.category, lang),
            photos=[media_to_api(photo, uris) for photo in listing.photos],
            held=listing.ap_id in held,
        )
        for listing in listings
    ]


# Browse and search


def search_params(request: web.Request) -> dict[str, str]:
    """The API's search parameters from the page's query, empty fields left out (a form
    sends every field); ``km`` alone searches around the community's centre."""
    params = {
        name: value.strip()
        for name in PARAMETERS
        if (value := request.query.get(name)) is not None and value.strip()
    }
    community = request.app[SETTINGS].community
    if "km" in params and "near" not in params:
        if community.latitude is None or community.longitude is None:
            del params["km"]  # no centre to measure from: the field is not offered
        else:
            params["near"] = f"{community.latitude:.6f},{community.longitude:.6f}"
    return params


@routes.get("/listings", name="web.listings")
async def browse(request: web.Request) -> web.Response:
    """Browse and search: one call of the listing service's search, as the API's, and the
    next page's link keeping the query. A visitor sees this node's public listings when the
    community's policy lets listings reach the public (the service's search with no viewer),
    else is sent to log in."""
    session = await current_session(request)
    if session is None and not await visitor_may_browse(request):
        raise login_redirect(request)
    params = search_params(request)
    errors: dict[str, str] = {}
    found: list[Shown] = []
    next_url = None
    status = 200
    try:
        query = parse_query(params)
        viewer = session.member if session is not None else None
        result = await request.app[LISTINGS].search(query, viewer=viewer)
    except ValidationFailed as exc:
        errors = {str(d.get("field")): "invalid" for d in exc.details if isinstance(d, dict)}
        status = 422
    else:
        found = await shown_listings(request, result.listings)
        if result.next_cursor is not None:
            next_url = str(request.rel_url.update_query(cursor=result.next_cursor))
    community = request.app[SETTINGS].community
    context = {
        "values": {name: request.query.get(name, "") for name in PARAMETERS},
        "errors": errors,
        "found": found,
        "next_url": next_url,
        "first_url": str(request.rel_url.without_query_params("cursor"))
        if "cursor" in request.query
        else None,
        "kinds": [kind.value for kind in Kind],
        "categories": _categories(_lang(request)),
        "distances": DISTANCES if community.latitude is not None else (),
        "public_listings": session is None,
    }
    return await page(request, "listings/browse.html", context, session=session, status=status)


def _categories(lang: str) -> list[tuple[str, str]]:
    return [(key, category_name(key, lang)) for key in CATEGORIES]


# One listing


@routes.get(LISTING, name="web.listing")
async def show(request: web.Request) -> web.Response:
    """A listing: its photos, author, terms; the answer form, or its author's actions. A
    visitor sees it read-only, with a link to log in and answer, when it is one the
    visitors' search shows (see :func:`browse`); else is sent to log in."""
    session = await current_session(request)
    if session is None:
        if not await visitor_may_browse(request):
            raise login_redirect(request)
        return await _show_to_visitor(request)
    listing = await request.app[LISTINGS].get(session.member, _listing_id(request))
    context = await _show_context(request, session.member, listing, {}, {})
    context["reported"] = "reported" in request.query
    return await page(request, "listings/show.html", context, session=session)


async def _show_to_visitor(request: web.Request) -> web.Response:
    listing = await request.app[LISTINGS].get_public(_listing_id(request))
    (shown,) = await shown_listings(request, [listing])
    context = {
        "shown": shown,
        "dates": _detail_dates(listing.details or {}, _lang(request)),
        "mine": False,
        "visitor": True,
        "public_listings": True,
        "responses": [],
        "reported": False,
    }
    return await page(request, "listings/show.html", context)


async def _show_context(
    request: web.Request,
    member: Member,
    listing: Listing,
    values: dict[str, str],
    errors: dict[str, str],
) -> dict[str, Any]:
    (shown,) = await shown_listings(request, [listing], caught=True)
    mine = listing.author == _me(request, member)
    responses: list[Response] = await request.app[LISTINGS].responses(member, listing.id)
    names = await authors_of(request, {r.responder for r in responses}) if mine else {}
    return {
        "shown": shown,
        "dates": _detail_dates(listing.details or {}, _lang(request)),
        "mine": mine,
        "visitor": False,
        "responses": responses,
        "responder_names": {actor: author.name for actor, author in names.items()},
        "answered": any(
            r.state in (ResponseState.PENDING, ResponseState.ACCEPTED) for r in responses
        ),
        "values": {"message": "", "quantity": "1", **values},
        "errors": errors,
        "max_message": MAX_MESSAGE,
        "reported": False,
    }


def _detail_dates(details: dict[str, Any], lang: str) -> dict[str, str]:
    """The details' dates (a loan's return, a ride's departure) as the page's language
    writes them; what does not parse is shown as stored."""
    shown: dict[str, str] = {}
    if raw := details.get("return_by"):
        try:
            shown["return_by"] = format_date(date.fromisoformat(str(raw)), "medium", locale=lang)
        except ValueError:
            shown["return_by"] = str(raw)
    if raw := details.get("departure"):
        try:
            moment = datetime.fromisoformat(str(raw))
            shown["departure"] = format_datetime(
                moment, "medium", tzinfo=moment.tzinfo, locale=lang
            )
        except ValueError:
            shown["departure"] = str(raw)
    return shown


@routes.post(LISTING + "/respond", name="web.listing_respond")
async def respond(request: web.Request) -> web.Response:
    """Answer a listing with the API's own function; 303 back to the listing, which then
    shows the answer. A refusal shows the listing again with the reason by the form."""
    listing_id = _listing_id(request)

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        # No session: the listing itself is not shown, only what was typed.
        values = {"message": str(form.get("message", ""))[:MAX_MESSAGE]}
        return "listings/respond.html", {"listing_id": listing_id, "values": values}

    got = await member_form(request, again)
    if isinstance(got, web.Response):
        return got
    form, session = got
    message = str(form.get("message", "")).strip()
    raw_quantity = str(form.get("quantity", "1")).strip() or "1"
    listing = await request.app[LISTINGS].get(session.member, listing_id)
    values = {"message": message[: MAX_MESSAGE * 2], "quantity": raw_quantity[:10]}

    async def refused(error: str, status: int) -> web.Response:
        errors = {"message": error}
        context = await _show_context(request, session.member, listing, values, errors)
        return await page(request, "listings/show.html", context, session=session, status=status)

    if not raw_quantity.isdigit() or not 1 <= int(raw_quantity) <= listing.available_quantity:
        return await refused("quantity", 422)
    if len(message) > MAX_MESSAGE:
        return await refused("too_long", 422)
    try:
        await respond_to_listing(request, session.member, listing_id, message, int(raw_quantity))
    except ValidationFailed:
        return await refused("invalid", 422)
    except Forbidden as exc:
        return await refused("verified_only" if VERIFIED_ONLY in str(exc) else "refused", 403)
    except Conflict:
        return await refused("conflict", 409)
    except TooManyRequests as exc:
        return retry_later(await refused("too_many", 429), exc)
    return _see(f"/listings/{listing_id}#answers")


# Reporting


@routes.get(LISTING + "/report", name="web.listing_report")
async def report_listing_form(request: web.Request) -> web.Response:
    """The form to report a listing to the moderators: a reason (the API's categories) and a
    comment. A listing the member may not see is a 404; their own, the 403 page (the
    service refuses a report of oneself)."""
    session = await member_session(request)
    listing = await request.app[LISTINGS].get(session.member, _listing_id(request))
    if listing.author == _me(request, session.member):
        raise web.HTTPForbidden()
    path = f"/listings/{listing.id}"
    return await report_form(request, session, what="listing", action=path + "/report", back=path)


@routes.post(LISTING + "/report", name="web.listing_report_post")
async def report_listing(request: web.Request) -> web.Response:
    """Report a listing as ``POST /api/quartier/v1/reports`` does (its check, limit and service);
    303 back to the listing, which thanks the member."""
    path = f"/listings/{_listing_id(request)}"
    return await file_report(
        request,
        what="listing",
        target=_listing_id(request),
        action=path + "/report",
        back=path,
        done=path + "?reported",
    )


# Publishing and editing


def _empty_values() -> dict[str, str]:
    values = dict.fromkeys(TEXT_FIELDS, "")
    values.update(
        kind=Kind.GIVE.value,
        audience=Audience.NODE.value,
        quantity="1",
        price_currency=DEFAULT_CURRENCY,
        recurrence="once",
    )
    for n in range(1, MAX_PHOTOS + 1):
        values[f"alt_{n}"] = ""
    return values


def _values_of(form: Form) -> dict[str, str]:
    """What was typed, to show it again (bounded: a page never echoes megabytes)."""
    values = _empty_values()
    for name in [*TEXT_FIELDS, *(f"alt_{n}" for n in range(1, MAX_PHOTOS + 1))]:
        if name in form:
            values[name] = str(form.get(name, ""))[:DESCRIPTION_LENGTH]
    for name in ("verified_responders", "paid"):
        values[name] = "true" if form.get(name) else ""
    return values


def _form_context(
    request: web.Request,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    listing: Shown | None = None,
    kept: Iterable[str] = (),
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "listing": listing,
        "kept": set(kept),
        "kinds": [kind.value for kind in Kind],
        "audiences": [audience.value for audience in Audience],
        "categories": _categories(_lang(request)),
        "photo_slots": range(1, MAX_PHOTOS + 1),
        "max_photos": MAX_PHOTOS,
        "max_megabytes": request.app[MEDIA].limits.max_bytes // 1_048_576,
    }


def _details(kind: str, values: dict[str, str]) -> dict[str, Any]:
    """The kind's details from the form's fields (the service checks them)."""
    details: dict[str, Any] = {}
    if kind == Kind.LEND:
        if values["return_by"]:
            details["return_by"] = values["return_by"]
        if values["duration_days"]:
            details["duration_days"] = _integer(values["duration_days"], "details")
    elif kind == Kind.REQUEST:
        details["need"] = values["need"] or "help"
    elif kind == Kind.SERVICE:
        details["paid"] = bool(values["paid"])
    elif kind == Kind.CARPOOL:
        departure = values["departure"]
        if departure and len(departure) <= 16:  # a datetime-local: no zone, read as UTC
            departure += "Z"
        details.update(
            {
                "from": values["from"],
                "to": values["to"],
                "departure": departure,
                "seats": _integer(values["seats"] or "1", "details"),
                "recurrence": values["recurrence"] or "once",
            }
        )
    return details


class _FieldError(Exception):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _integer(raw: str, field: str) -> int:
    if not raw.strip().isdigit() or len(raw.strip()) > 9:
        raise _FieldError(field)
    return int(raw.strip())


def _body(values: dict[str, str], lang: str, photos: list[str]) -> dict[str, Any]:
    """The API's listing body from the form's fields (what ``ListingForm`` validates)."""
    kind = values["kind"]
    body: dict[str, Any] = {
        "kind": kind,
        "title": values["title"],
        "description": values["description"],
        "category": values["category"],
        "audience": values["audience"],
        "details": _details(kind, values),
        "price": None,
        "quantity": _integer(values["quantity"] or "1", "quantity"),
        "availability": values["availability"],
        "verified_responders": bool(values["verified_responders"]),
        "photos": photos,
    }
    if values["price_amount"].strip():
        try:
            amount = parse_decimal(values["price_amount"].strip(), locale=lang, strict=False)
        except NumberFormatError:
            raise _FieldError("price") from None
        body["price"] = {"amount": amount, "currency": values["price_currency"].strip().upper()}
    if values["expires_on"]:
        try:
            day = date.fromisoformat(values["expires_on"])
        except ValueError:
            raise _FieldError("expires_at") from None
        body["expires_at"] = datetime.combine(day, time(23, 59), UTC)
    return body


def _pydantic_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = error["loc"]
        field = str(loc[0]) if loc else ""
        if not field:  # the kind's rules (ListingForm._kind_rules)
            field = "price" if "price" in error["msg"] else "details"
        errors.setdefault(field, "invalid")
    return errors


def _service_errors(exc: ValidationFailed) -> dict[str, str]:
    errors = {}
    for detail in exc.details or []:
        if isinstance(detail, dict):
            errors[str(detail.get("field", "title")).split(".")[0]] = "invalid"
    return errors or {"title": "invalid"}


async def _upload_photos(
    request: web.Request, member: Member, upload: FormUpload, form: Form
) -> tuple[list[Media], dict[str, str], int]:
    """Store the form's photos with their alt text through the media service (the API's
    ``POST /api/quartier/v1/media``); on a refusal, the field's error and the status."""
    service = request.app[MEDIA]
    owner = _me(request, member)
    stored: list[Media] = []
    for file in upload.files:
        number = file.name.removeprefix("photo_")
        alt = str(form.get(f"alt_{number}", "")).strip()
        try:
            stored.append(await service.upload(owner, file.data, alt))
        except PayloadTooLarge:
            return stored, {file.name: "too_large"}, 413
        except TooManyRequests:
            return stored, {file.name: "too_many"}, 429
        except (UnsupportedMediaType, ValidationFailed) as exc:
            if isinstance(exc, ValidationFailed) and "description" in str(exc.details):
                return stored, {f"alt_{number}": "invalid"}, 422
            return stored, {file.name: "not_image"}, 422
    return stored, {}, 200


def _may_post(request: web.Request) -> bool:
    """Whether a listing form may be from one of our pages at all: our origin, and a cookie
    (the session's, or the anonymous token's of a form shown with a login box). Asked before
    the body is read: megabytes of photos are not read for a forged or anonymous post."""
    has_cookie = SESSION_COOKIE in request.cookies or CSRF_COOKIE in request.cookies
    return same_origin(request) and has_cookie


async def _read_listing_form(request: web.Request) -> FormUpload:
    if request.content_type == "application/x-www-form-urlencoded":
        # no photo chosen: some clients then send the form without files (small, bounded)
        posted = await request.post()
        return FormUpload(fields=[(name, str(value)) for name, value in posted.items()])
    # The body is streamed: photos are larger than the node's max_body_bytes, and a photo
    # too large must not lose what was typed before it.
    return await read_form(
        request,
        request.app[MEDIA].limits.max_bytes,
        files=PHOTO_FIELDS,
        max_files=MAX_PHOTOS,
        text_max=DESCRIPTION_LENGTH,
    )


def _upload_error(upload: FormUpload) -> tuple[dict[str, str], int] | None:
    if upload.error is None:
        return None
    if isinstance(upload.error, PayloadTooLarge):
        return {upload.error_field or "photo_1": "too_large"}, 413
    return {"photo_1": "not_image"}, upload.error.status if upload.error.status < 500 else 400


@routes.get("/listings/new", name="web.listing_new")
async def new_form(request: web.Request) -> web.Response:
    """The form to publish a listing."""
    session = await member_session(request)
    context = _form_context(request, _empty_values(), {})
    return await page(request, "listings/form.html", context, session=session)


@routes.post("/listings/new", name="web.listing_create")
async def create(request: web.Request) -> web.Response:
    """Publish a listing with its photos; 303 to it. A refusal shows the form again, filled
    in, the reason by its field: 413 for a photo too large, 422 for a file that is not an
    image or an invalid field, 409 past the open listings' cap, 429 past a limit."""
    if not _may_post(request):
        return error_page(request, 403)
    upload = await _read_listing_form(request)
    form: Form = MultiDictProxy(MultiDict(upload.fields))

    async def again(posted: Form) -> tuple[str, dict[str, Any]]:
        return "listings/form.html", _form_context(request, _values_of(posted), {})

    got = await member_form(request, again, form)
    if isinstance(got, web.Response):
        return got
    form, session = got
    values = _values_of(form)
    lang = _lang(request)

    async def refused(errors: dict[str, str], status: int) -> web.Response:
        context = _form_context(request, values, errors)
        return await page(request, "listings/form.html", context, session=session, status=status)

    if (failed := _upload_error(upload)) is not None:
        return await refused(*failed)
    try:
        checked = ListingForm.model_validate(_body(values, lang, []))
    except _FieldError as exc:
        return await refused({exc.field: "invalid"}, 422)
    except ValidationError as exc:
        return await refused(_pydantic_errors(exc), 422)
    photos, errors, status = await _upload_photos(request, session.member, upload, form)
    if errors:
        return await refused(errors, status)
    listing_form = checked.model_copy(update={"photos": [photo.id for photo in photos]})
    try:
        listing = await request.app[LISTINGS].create(session.member, listing_form)
    except ValidationFailed as exc:
        return await refused(_service_errors(exc), 422)
    except Conflict:
        return await refused({"title": "too_many_open"}, 409)
    except TooManyRequests as exc:
        return retry_later(await refused({"title": "too_many"}, 429), exc)
    return _see(f"/listings/{listing.id}")


def _listing_values(listing: Listing) -> dict[str, str]:
    """A listing's fields as the form shows them."""
    values = _empty_values()
    details = listing.details or {}
    values.update(
        kind=listing.kind.value,
        title=listing.title,
        description=listing.description,
        category=listing.category,
        audience=listing.audience.value,
        quantity=str(listing.quantity),
        availability=listing.availability,
        verified_responders="true" if listing.verified_responders else "",
        expires_on=listing.expires_at.date().isoformat() if listing.expires_at else "",
        price_currency=listing.currency or DEFAULT_CURRENCY,
        price_amount="",
    )
    if listing.price_minor is not None and listing.currency:
        values["price_amount"] = str(from_minor(listing.price_minor, listing.currency))
    for name in ("return_by", "duration_days", "need", "from", "to", "seats", "recurrence"):
        if name in details:
            values[name] = str(details[name])
    if details.get("paid"):
        values["paid"] = "true"
    if "departure" in details:
        values["departure"] = str(details["departure"])[:16]
    return values


async def _own(request: web.Request, member: Member) -> Listing:
    """The member's own listing (403 page for another's, 404 for none)."""
    listing = await request.app[LISTINGS].get(member, _listing_id(request))
    if listing.author != _me(request, member):
        raise web.HTTPForbidden()
    return listing


@routes.get(LISTING + "/edit", name="web.listing_edit")
async def edit_form(request: web.Request) -> web.Response:
    """The edit form of one's own listing."""
    session = await member_session(request)
    listing = await _own(request, session.member)
    (shown,) = await shown_listings(request, [listing])
    kept = [photo["id"] for photo in shown.photos]
    context = _form_context(request, _listing_values(listing), {}, listing=shown, kept=kept)
    return await page(request, "listings/form.html", context, session=session)


@routes.post(LISTING + "/edit", name="web.listing_update")
async def edit(request: web.Request) -> web.Response:
    """Change one's own listing with the service's edit (the API's ``PATCH``); 303 to it.
    Kind and audience are fixed once published. Errors as for a new listing."""
    if not _may_post(request):
        return error_page(request, 403)
    upload = await _read_listing_form(request)
    form: Form = MultiDictProxy(MultiDict(upload.fields))
    listing_id = _listing_id(request)

    async def again(posted: Form) -> tuple[str, dict[str, Any]]:
        context = _form_context(request, _values_of(posted), {})
        return "listings/form.html", {**context, "edit_id": listing_id}

    got = await member_form(request, again, form)
    if isinstance(got, web.Response):
        return got
    form, session = got
    listing = await _own(request, session.member)
    (shown,) = await shown_listings(request, [listing])
    kept = [photo["id"] for photo in shown.photos if photo["id"] in form.getall("keep", [])]
    values = _values_of(form)
    values.update(kind=listing.kind.value, audience=listing.audience.value)

    async def refused(errors: dict[str, str], status: int) -> web.Response:
        context = _form_context(request, values, errors, listing=shown, kept=kept)
        return await page(request, "listings/form.html", context, session=session, status=status)

    if (failed := _upload_error(upload)) is not None:
        return await refused(*failed)
    if len(kept) + len(upload.files) > MAX_PHOTOS:
        return await refused({"photo_1": "too_many_photos"}, 422)
    try:
        body = _body(values, _lang(request), [])
        for fixed in ("kind", "audience"):
            del body[fixed]
        if values["expires_on"] == _listing_values(listing)["expires_on"]:
            body.pop("expires_at", None)  # the date shown unchanged: the expiry stays as it is
        checked = ListingChanges.model_validate(body)
    except _FieldError as exc:
        return await refused({exc.field: "invalid"}, 422)
    except ValidationError as exc:
        return await refused(_pydantic_errors(exc), 422)
    photos, errors, status = await _upload_photos(request, session.member, upload, form)
    if errors:
        return await refused(errors, status)
    changes = checked.model_copy(update={"photos": [*kept, *(photo.id for photo in photos)]})
    try:
        await request.app[LISTINGS].edit(session.member, listing.id, changes)
    except ValidationFailed as exc:
        return await refused(_service_errors(exc), 422)
    except Conflict:
        return await refused({"title": "closed"}, 409)
    return _see(f"/listings/{listing.id}")


async def _action_form(request: web.Request, action: str) -> tuple[Form, Member] | web.Response:
    """A one-button form of a listing's author (status, withdraw)."""
    listing_id = _listing_id(request)

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        context = {
            "action": f"/listings/{listing_id}/{action}",
            "status": str(form.get("status", ""))[:20],
        }
        return "listings/confirm.html", context

    got = await member_form(request, again)
    if isinstance(got, web.Response):
        return got
    form, session = got
    return form, session.member


@routes.post(LISTING + "/status", name="web.listing_status")
async def set_status(request: web.Request) -> web.Response:
    """Mark one's listing open, reserved or done (the API's status change); 303 to it."""
    got = await _action_form(request, "status")
    if isinstance(got, web.Response):
        return got
    form, member = got
    try:
        status = Status(str(form.get("status", "")))
    except ValueError:
        return error_page(request, 422)
    if status not in (Status.OPEN, Status.RESERVED, Status.DONE):
        return error_page(request, 422)
    await _own(request, member)
    await request.app[LISTINGS].set_status(member, _listing_id(request), status)
    return _see(f"/listings/{_listing_id(request)}")


@routes.post(LISTING + "/withdraw", name="web.listing_withdraw")
async def withdraw(request: web.Request) -> web.Response:
    """Withdraw one's listing (the API's ``DELETE``): pending answers are declined; 303 to
    my listings."""
    got = await _action_form(request, "withdraw")
    if isinstance(got, web.Response):
        return got
    _, member = got
    await _own(request, member)
    await request.app[LISTINGS].withdraw(member, _listing_id(request))
    return _see("/listings/mine")


@routes.post(
    r"/listings/responses/{response_id:\d{1,18}}/{decision:accept|decline}",
    name="web.listing_decide",
)
async def decide(request: web.Request) -> web.Response:
    """The listing's author accepts or declines an answer (the API's decision); 303 back to
    the listing."""
    response_id = int(request.match_info["response_id"])
    decision = request.match_info["decision"]

    async def again(form: Form) -> tuple[str, dict[str, Any]]:
        action = f"/listings/responses/{response_id}/{decision}"
        return "listings/confirm.html", {"action": action, "status": ""}

    got = await member_form(request, again)
    if isinstance(got, web.Response):
        return got
    _, session = got
    response = await request.app[LISTINGS].decide(
        session.member, response_id, accept=decision == "accept"
    )
    return _see(f"/listings/{response.listing.id}#answers")


@routes.get("/listings/mine", name="web.listings_mine")
async def mine(request: web.Request) -> web.Response:
    """The member's listings, newest first, with their state."""
    session = await member_session(request)
    rows = await request.app[LISTINGS].mine(session.member)
    found = await shown_listings(request, rows, caught=True)
    return await page(request, "listings/mine.html", {"found": found}, session=session)


# The home page's part


async def home_listings(request: web.Request, member: Member) -> dict[str, Any]:
    """What a member's home shows of the marketplace: the newest listings of this node and
    of partners (one search each), and the answers and agreements waiting on the member."""
    service = request.app[LISTINGS]
    nearby = await service.search(ListingQuery(local=True, limit=HOME_COUNT), viewer=member)
    partners = await service.search(ListingQuery(local=False, limit=HOME_COUNT), viewer=member)
    shown = await shown_listings(request, [*nearby.listings, *partners.listings])
    waiting = [
        r
        for r in await service.agreements(member)
        if r.state in (ResponseState.PENDING, ResponseState.ACCEPTED)
    ]
    return {
        "nearby": shown[: len(nearby.listings)],
        "partners": shown[len(nearby.listings) :],
        "waiting": waiting,
        "me": _me(request, member),
    }


def _see(path: str) -> web.Response:
    # 303: the browser follows with a GET, so a reload does not post the form again.
    return web.Response(status=303, headers={"Location": path})
