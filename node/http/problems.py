"""Problem reports.

Members:
POST /api/quartier/v1/problems        {"category", "text", "photos": [media ids],
                                       "latitude", "longitude", "address", "public"}
GET  /api/quartier/v1/problems        the caller's reports (``?scope=public``: every public
                                      report of this node's members)
GET  /api/quartier/v1/problems/similar         ?category=&lat=&lon=: open public ones nearby
GET  /api/quartier/v1/problems/{id}
POST /api/quartier/v1/problems/{id}/me-too

Handlers (managers and admins):
GET  /api/quartier/v1/handling/problems        ?status=received,in_progress&category=
POST /api/quartier/v1/handling/problems/{id}/status     {"status", "reason"}
POST /api/quartier/v1/handling/problems/{id}/comments   {"text"}

GET  /problems/{uuid}                 the ActivityPub object (public ones; a private one to
                                      a fetch signed from the node handling it)

See docs/problems.md.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web
from pydantic import Field

from activitypub.media_types import ACTIVITY_JSON, wants_activity_json
from federation.errors import UnverifiedSender
from federation.inbound import InboundRequest, addressed_to_us, signer_of
from node.errors import NotAcceptable, NotFound, ValidationFailed
from node.http.auth import authenticate, require_role
from node.http.keys import CLOCK, FEDERATION_POLICY, PARTNERSHIPS, PROBLEMS, RESOLVER, SETTINGS
from node.http.parsing import Body, read_json
from node.members.models import Member, Role
from node.problems.models import Problem, ProblemStatus
from node.problems.render import problem_to_api
from node.problems.service import MAX_COMMENT, MAX_TEXT, NewProblem

routes = web.RouteTableDef()
_ID = r"{id:\d{1,9}}"


class NewProblemBody(Body):
    category: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    photos: list[str] = Field(default_factory=list, max_length=50)
    latitude: float | None = Field(default=None, ge=-90, le=90, strict=False)
    longitude: float | None = Field(default=None, ge=-180, le=180, strict=False)
    address: str = Field(default="", max_length=500)
    public: bool = True


class StatusBody(Body):
    status: ProblemStatus = Field(strict=False)
    reason: str = Field(default="", max_length=MAX_COMMENT)


class CommentBody(Body):
    text: str = Field(min_length=1, max_length=MAX_COMMENT)


async def render(request: web.Request, problem: Problem, member: Member) -> dict[str, Any]:
    """A problem with its photos, comments and "me too" count, as ``member`` sees it."""
    photos, comments, me_too = await request.app[PROBLEMS].details(problem)
    return problem_to_api(
        problem,
        request.app[SETTINGS].uris,
        photos=photos,
        comments=comments,
        me_too=me_too,
        viewer_id=member.id,
        staff=member.role in (Role.ADMIN, Role.MANAGER),
    )


def _coordinate(request: web.Request, name: str, bound: float) -> float:
    raw = request.query.get(name, "")
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > bound:
        message = f"a number between -{bound:g} and {bound:g}"
        raise ValidationFailed(message, details=[{"field": name, "message": message}])
    return value


@routes.post("/api/quartier/v1/problems")
async def create(request: web.Request) -> web.Response:
    """Report a problem; 201 with it and the open public problems like it nearby."""
    caller = await authenticate(request)
    body = await read_json(request, NewProblemBody)
    service = request.app[PROBLEMS]
    problem = await service.report(
        caller.member,
        NewProblem(
            category=body.category,
            text=body.text,
            latitude=body.latitude,
            longitude=body.longitude,
            photos=tuple(body.photos),
            public=body.public,
            address=body.address,
        ),
    )
    shown = await render(request, problem, caller.member)
    similar: list[Problem] = []
    if problem.latitude is not None and problem.longitude is not None:
        found = await service.similar(problem.category, problem.latitude, problem.longitude)
        similar = [p for p in found if p.id != problem.id]
    shown["similar"] = [await render(request, p, caller.member) for p in similar]
    return web.json_response(shown, status=201)


@routes.get("/api/quartier/v1/problems")
async def listing(request: web.Request) -> web.Response:
    """The caller's reports, or (``scope=public``) every public one of this node."""
    caller = await authenticate(request)
    service = request.app[PROBLEMS]
    scope = request.query.get("scope", "mine")
    if scope not in ("mine", "public"):
        raise ValidationFailed(
            "scope is mine or public", details=[{"field": "scope", "message": "mine or public"}]
        )
    found = await (service.public() if scope == "public" else service.mine(caller.member))
    return web.json_response([await render(request, p, caller.member) for p in found])


@routes.get("/api/quartier/v1/problems/similar")
async def similar(request: web.Request) -> web.Response:
    """Open public problems of a category near a point, nearest first."""
    caller = await authenticate(request)
    category = request.query.get("category", "")
    found = await request.app[PROBLEMS].similar(
        category, _coordinate(request, "lat", 90), _coordinate(request, "lon", 180)
    )
    return web.json_response([await render(request, p, caller.member) for p in found])


@routes.get(f"/api/quartier/v1/problems/{_ID}")
async def get(request: web.Request) -> web.Response:
    """One problem the caller may see."""
    caller = await authenticate(request)
    problem = await request.app[PROBLEMS].visible(caller.member, int(request.match_info["id"]))
    return web.json_response(await render(request, problem, caller.member))


@routes.post(f"/api/quartier/v1/problems/{_ID}/me-too")
async def me_too(request: web.Request) -> web.Response:
    """The caller has the same problem (counted once)."""
    caller = await authenticate(request)
    problem = await request.app[PROBLEMS].me_too(caller.member, int(request.match_info["id"]))
    return web.json_response(await render(request, problem, caller.member))


@routes.get("/api/quartier/v1/handling/problems")
async def handling(request: web.Request) -> web.Response:
    """Problems this node handles, newest first (``status`` a comma-separated list)."""
    caller = await require_role(request, Role.MANAGER)
    statuses: list[ProblemStatus] = []
    for raw in filter(None, request.query.get("status", "").split(",")):
        try:
            statuses.append(ProblemStatus(raw))
        except ValueError:
            message = f"must be among {', '.join(ProblemStatus)}"
            raise ValidationFailed(
                message, details=[{"field": "status", "message": message}]
            ) from None
    category = request.query.get("category") or None
    if category is not None and ("\x00" in category or len(category) > 32):
        # PostgreSQL refuses NUL in a query's parameters: an error, not "no match".
        message = "a category (32 characters at most, no NUL)"
        raise ValidationFailed(message, details=[{"field": "category", "message": message}])
    found = await request.app[PROBLEMS].handled(status=statuses, category=category)
    return web.json_response([await render(request, p, caller.member) for p in found])


@routes.post(f"/api/quartier/v1/handling/problems/{_ID}/status")
async def set_status(request: web.Request) -> web.Response:
    """Acknowledge, start, resolve or reject (with a reason) a problem handled here."""
    caller = await require_role(request, Role.MANAGER)
    body = await read_json(request, StatusBody)
    problem = await request.app[PROBLEMS].set_status(
        int(request.match_info["id"]), body.status, body.reason, by=caller.member.username
    )
    return web.json_response(await render(request, problem, caller.member))


@routes.post(f"/api/quartier/v1/handling/problems/{_ID}/comments")
async def comment(request: web.Request) -> web.Response:
    """Comment on a problem handled here; the reporter sees it."""
    caller = await require_role(request, Role.MANAGER)
    body = await read_json(request, CommentBody)
    problem = await request.app[PROBLEMS].comment(
        int(request.match_info["id"]), body.text, by=caller.member.username
    )
    return web.json_response(await render(request, problem, caller.member), status=201)


@routes.get(r"/problems/{uuid:[0-9a-f]{32}}")
async def document(request: web.Request) -> web.Response:
    """One of our members' problems as ActivityPub serves it: a public one to anyone, a
    private one to a request signed by the partner node it was sent to; 404 otherwise (its
    existence is not revealed)."""
    if not wants_activity_json(request.headers.get("Accept")):
        raise NotAcceptable("this problem is available as application/activity+json")
    uris = request.app[SETTINGS].uris
    problem = await Problem.get_or_none(
        ap_id=uris.url(f"/problems/{request.match_info['uuid']}"), origin_host__isnull=True
    )
    if problem is None or (not problem.public and not await _signed_by_handler(request, problem)):
        raise NotFound("no such object")
    headers = {"Content-Type": f"{ACTIVITY_JSON}; charset=utf-8", "Vary": "Accept, Signature"}
    if not problem.public:
        headers["Cache-Control"] = "private, no-store"
    doc = await request.app[PROBLEMS].document(problem)
    return web.Response(body=json.dumps(doc).encode(), headers=headers)


async def _signed_by_handler(request: web.Request, problem: Problem) -> bool:
    """Whether ``request`` is signed from the partner node ``problem`` was sent to: a private
    report is the reporter's and its handler's, not every partner's (nor any partner's when
    this node's managers handle it). As :func:`signed_by_partner`, with the handler's host
    checked before any key is fetched."""
    host = problem.handler_host
    if host is None or not ("Signature" in request.headers or "Signature-Input" in request.headers):
        return False
    partnerships, policy = request.app[PARTNERSHIPS], request.app[FEDERATION_POLICY]

    async def admitted(authority: str) -> bool:
        if authority != host or not await partnerships.is_partner(authority):
            return False
        return await policy.refuse_partnership(authority) is None

    settings = request.app[SETTINGS]
    fetch = InboundRequest(
        method=request.method,
        url=settings.server.base_url + request.raw_path,
        headers=addressed_to_us(request.headers, settings.uris.domain),
        body=None,
    )
    try:
        await signer_of(fetch, request.app[RESOLVER], request.app[CLOCK](), admit=admitted)
    except UnverifiedSender:
        return False
    return True
