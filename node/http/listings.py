"""The marketplace: listings, responses to them and the agreements they become.

GET    /api/quartier/v1/listings/categories         the fixed taxonomy, in English and French
GET    /api/quartier/v1/listings?q=&kind=&...       search this node's and partners' listings
                                                    (anonymous: this node's public ones, when
                                                    the community's policy lets them out)
POST   /api/quartier/v1/listings                    publish (201)
GET    /api/quartier/v1/listings/mine[?status=open,done]     the caller's listings
GET    /api/quartier/v1/listings/{id}               one listing (anonymous: as the search)
PATCH  /api/quartier/v1/listings/{id}               change the given fields
DELETE /api/quartier/v1/listings/{id}               withdraw (pending responses are declined)
POST   /api/quartier/v1/listings/{id}/status        {"status": "open" | "reserved" | "done"}
POST   /api/quartier/v1/listings/{id}/responses     answer a listing {"message", "quantity"}
GET    /api/quartier/v1/listings/{id}/responses     all of them (author) or one's own
GET    /api/quartier/v1/listings/agreements         responses the caller is part of
POST   /api/quartier/v1/listings/responses/{id}/accept       the author accepts: an agreement
POST   /api/quartier/v1/listings/responses/{id}/decline      the author declines
POST   /api/quartier/v1/listings/responses/{id}/withdraw     the responder takes it back
POST   /api/quartier/v1/listings/responses/{id}/done         either side: it happened {"thanks"}

GET    /listings/{uuid}                             the listing's Note (ActivityPub), to
                                                    anyone (public), to signed fetches of
                                                    partner nodes (partners), else 404
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import Field

from activitypub.activities import AS_CONTEXT
from activitypub.media_types import ACTIVITY_JSON, wants_activity_json
from activitypub.uris import UriScheme
from moderation import filters
from moderation.governance import Reach, SharedKind
from node.errors import NotAcceptable, NotFound, ValidationFailed
from node.http.auth import authenticate, has_credentials
from node.http.keys import CONTENT, GOVERNANCE, LISTINGS, SETTINGS, TRUST, VISITOR_LIMITER
from node.http.parsing import Body, read_json
from node.http.remote import client_address
from node.http.signed import signed_by_partner
from node.listings.forms import ListingChanges, ListingForm, StatusForm
from node.listings.models import Audience, Listing, Response, Status
from node.listings.render import categories_to_api, listing_to_api, response_to_api
from node.listings.search import parse_query
from node.media.models import Media
from node.members.models import Member
from node.moderation.safety import Creation
from node.verification.render import verifications_of

routes = web.RouteTableDef()
LISTING = r"/api/quartier/v1/listings/{listing_id:\d{1,18}}"
RESPONSE = r"/api/quartier/v1/listings/responses/{response_id:\d{1,18}}"


class NewResponse(Body):
    message: str = Field(default="", max_length=2000)
    quantity: int = Field(default=1, ge=1, le=1000)


class Done(Body):
    thanks: str = Field(default="", max_length=500)


def _uris(request: web.Request) -> UriScheme:
    return request.app[SETTINGS].uris


def _listing_id(request: web.Request) -> int:
    return int(request.match_info["listing_id"])


def _response_id(request: web.Request) -> int:
    return int(request.match_info["response_id"])


@routes.get(r"/listings/{uuid:[0-9a-f]{32}}")
async def document(request: web.Request) -> web.Response:
    """One of our listings as ActivityPub serves it; 404 to whoever may not see it (its
    existence is not revealed), 410 with a Tombstone once withdrawn."""
    if not wants_activity_json(request.headers.get("Accept")):
        raise NotAcceptable("this listing is available as application/activity+json")
    uris = _uris(request)
    listing = await Listing.get_or_none(
        ap_id=uris.url(f"/listings/{request.match_info['uuid']}"), local=True
    )
    # The community's policy caps every listing's own audience.
    reach = (await request.app[GOVERNANCE].current()).reach(SharedKind.LISTINGS)
    if listing is None or listing.audience is Audience.NODE or reach is Reach.NOBODY:
        raise NotFound("no such object")
    if await filters.not_shown("listing", [listing.ap_id]):
        raise NotFound("no such object")  # held or hidden by a keyword filter
    partners_only = listing.audience is Audience.PARTNERS or reach is Reach.PARTNERS
    if partners_only and not await signed_by_partner(request):
        raise NotFound("no such object")
    headers = {"Content-Type": f"{ACTIVITY_JSON}; charset=utf-8", "Vary": "Accept, Signature"}
    if partners_only:
        headers["Cache-Control"] = "private, no-store"
    if listing.status is Status.WITHDRAWN:
        gone = {"@context": AS_CONTEXT, "id": listing.ap_id, "type": "Tombstone"}
        return web.Response(status=410, body=json.dumps(gone).encode(), headers=headers)
    photos = await Media.filter(listing_id=listing.id).order_by("position")
    doc = request.app[LISTINGS].document(listing, list(photos))
    return web.Response(body=json.dumps(doc).encode(), headers=headers)


async def listings_public(app: web.Application) -> bool:
    """Whether the community's governance policy lets listings reach the public: then
    visitors (no account) see this node's public listings, in the API and the pages."""
    return (await app[GOVERNANCE].current()).reach(SharedKind.LISTINGS) is Reach.PUBLIC


async def visitor_may_browse(request: web.Request) -> bool:
    """Whether this visitor (no account) may see the public listings now: the policy lets
    listings reach the public, and the visitor's address is under the visitors' limit (past
    it, ``TooManyRequests``: a search costs the node far more than it costs a scraper)."""
    if not await listings_public(request.app):
        return False
    request.app[VISITOR_LIMITER].hit(f"visitor:{client_address(request)}")
    return True


async def _viewer(request: web.Request) -> Member | None:
    """The member searching, or ``None`` for an anonymous caller the policy lets see public
    listings; 401 for any other caller (as for members' endpoints)."""
    if has_credentials(request) or not await visitor_may_browse(request):
        return (await authenticate(request)).member
    return None


@routes.get("/api/quartier/v1/listings/categories")
async def categories(request: web.Request) -> web.Response:
    """The categories a listing may be filed under (public: pickers need them first)."""
    return web.json_response(categories_to_api())


@routes.get("/api/quartier/v1/listings")
async def search(request: web.Request) -> web.Response:
    """Search and browse: full text, filters, an order and cursor pagination (the next
    page's URL also in a ``Link`` header, as Mastodon pages)."""
    viewer = await _viewer(request)
    query = parse_query(request.query)
    page = await request.app[LISTINGS].search(query, viewer=viewer)
    uris = _uris(request)
    found = []
    for listing, shown in zip(page.listings, await _shown(request, page.listings), strict=True):
        if query.near is not None:
            shown["distance_m"] = round(page.distances_m[listing.id])
        found.append(shown)
    headers = {}
    if page.next_cursor is not None:
        following = uris.url(str(request.rel_url.update_query(cursor=page.next_cursor)))
        headers["Link"] = f'<{following}>; rel="next"'
    body = {"listings": found, "next": page.next_cursor}
    return web.json_response(body, headers=headers)


@routes.post("/api/quartier/v1/listings")
async def create(request: web.Request) -> web.Response:
    """Publish a listing; 201 with it."""
    caller = await authenticate(request)
    form = await read_json(request, ListingForm)
    listing = await request.app[LISTINGS].create(caller.member, form)
    return web.json_response((await _shown(request, [listing]))[0], status=201)


@routes.get("/api/quartier/v1/listings/mine")
async def mine(request: web.Request) -> web.Response:
    """The caller's listings, newest first, optionally of some statuses only."""
    caller = await authenticate(request)
    statuses = None
    if "status" in request.query:
        try:
            statuses = [Status(s) for s in request.query["status"].split(",")]
        except ValueError:
            choices = ", ".join(s.value for s in Status)
            raise ValidationFailed(
                "invalid status", details=[{"field": "status", "message": f"one of {choices}"}]
            ) from None
    rows = await request.app[LISTINGS].mine(caller.member, statuses)
    return web.json_response(await _shown(request, rows))


@routes.get("/api/quartier/v1/listings/agreements")
async def agreements(request: web.Request) -> web.Response:
    """Responses the caller gave or received, newest first."""
    caller = await authenticate(request)
    rows = await request.app[LISTINGS].agreements(caller.member)
    return web.json_response([response_to_api(r) for r in rows])


@routes.get(LISTING)
async def get(request: web.Request) -> web.Response:
    """One listing (to an anonymous caller, one the search would show them)."""
    viewer = await _viewer(request)
    service = request.app[LISTINGS]
    listing_id = _listing_id(request)
    listing = (
        await service.get(viewer, listing_id)
        if viewer is not None
        else await service.get_public(listing_id)
    )
    return web.json_response((await _shown(request, [listing]))[0])


@routes.patch(LISTING)
async def edit(request: web.Request) -> web.Response:
    """Change the given fields of one's own open listing."""
    caller = await authenticate(request)
    changes = await read_json(request, ListingChanges)
    listing = await request.app[LISTINGS].edit(caller.member, _listing_id(request), changes)
    return web.json_response((await _shown(request, [listing]))[0])


@routes.delete(LISTING)
async def withdraw(request: web.Request) -> web.Response:
    """Withdraw one's own listing; 200 with it (withdrawing twice changes nothing)."""
    caller = await authenticate(request)
    listing = await request.app[LISTINGS].withdraw(caller.member, _listing_id(request))
    return web.json_response((await _shown(request, [listing]))[0])


@routes.post(LISTING + "/status")
async def set_status(request: web.Request) -> web.Response:
    """Mark one's own listing reserved, done, or open again."""
    caller = await authenticate(request)
    form = await read_json(request, StatusForm)
    listing = await request.app[LISTINGS].set_status(
        caller.member, _listing_id(request), Status(form.status)
    )
    return web.json_response((await _shown(request, [listing]))[0])


@routes.post(LISTING + "/responses")
async def respond(request: web.Request) -> web.Response:
    """Answer a listing; 201 with the (pending) response."""
    caller = await authenticate(request)
    body = await read_json(request, NewResponse)
    response = await respond_to_listing(
        request, caller.member, _listing_id(request), body.message, body.quantity
    )
    return web.json_response(response_to_api(response), status=201)


async def respond_to_listing(
    request: web.Request, member: Member, listing_id: int, message: str, quantity: int
) -> Response:
    """Answer a listing as the API and the web pages both do: counted against the hourly
    limit of responses (429), then recorded by the listing service."""
    request.app[CONTENT].count(Creation.RESPONSE, member)
    return await request.app[LISTINGS].respond(member, listing_id, message, quantity)


@routes.get(LISTING + "/responses")
async def responses(request: web.Request) -> web.Response:
    """The responses to a listing the caller may see."""
    caller = await authenticate(request)
    rows = await request.app[LISTINGS].responses(caller.member, _listing_id(request))
    return web.json_response([response_to_api(r) for r in rows])


@routes.post(RESPONSE + "/{decision:accept|decline}")
async def decide(request: web.Request) -> web.Response:
    """The listing's author accepts or declines a response."""
    caller = await authenticate(request)
    accept = request.match_info["decision"] == "accept"
    response = await request.app[LISTINGS].decide(
        caller.member, _response_id(request), accept=accept
    )
    return web.json_response(response_to_api(response))


@routes.post(RESPONSE + "/withdraw")
async def withdraw_response(request: web.Request) -> web.Response:
    """The responder takes a response back."""
    caller = await authenticate(request)
    response = await request.app[LISTINGS].withdraw_response(caller.member, _response_id(request))
    return web.json_response(response_to_api(response))


@routes.post(RESPONSE + "/done")
async def done(request: web.Request) -> web.Response:
    """Either side marks the agreement done, with an optional thank-you."""
    caller = await authenticate(request)
    body = await read_json(request, Done)
    response = await request.app[LISTINGS].complete(
        caller.member, _response_id(request), body.thanks
    )
    return web.json_response(response_to_api(response))


async def _shown(request: web.Request, listings: list[Listing]) -> list[dict[str, Any]]:
    """The listings as the API shows them, each with how its author is verified."""
    settings = request.app[SETTINGS]
    badges = await verifications_of(
        {listing.author for listing in listings},
        settings.uris,
        settings.community.name,
        request.app[TRUST],
    )
    # held or hidden by a keyword filter: only its author sees it, and is told so
    caught = await filters.not_shown("listing", [listing.ap_id for listing in listings])
    shown = []
    for listing in listings:
        doc = listing_to_api(listing, settings.uris)
        doc["author_verification"] = badges.get(listing.author)
        state = caught.get(listing.ap_id)
        doc["filtered"] = state.value if state is not None else None
        shown.append(doc)
    return shown
