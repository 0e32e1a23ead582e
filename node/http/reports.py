"""Members' reports.

POST /api/quartier/v1/reports      {"listing": 12 | "message": 7 | "account": "bob@b.example",
                           "category": "spam", "comment": "...", "forward": true,
                           "identify": false}
GET  /api/quartier/v1/reports      the member's own reports, newest first
GET  /api/quartier/v1/decisions    moderators' decisions about the member, with their appeals
POST /api/quartier/v1/decisions/{id}/appeal   {"text": "..."}: once per decision
POST /api/quartier/v1/suspension/appeal       {"username", "password", "text"}: a suspended member,
                                     who cannot log in, appeals their suspension

A report of another server's content is sent on to it as a Flag from this node (the member
stays anonymous unless ``identify``); see docs/moderation.md.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from moderation.models import Category
from node.errors import AccountSuspended, NotFound
from node.http.auth import authenticate
from node.http.keys import APPEALS, LOGIN_LIMITER, MEMBERS, REPORTS
from node.http.parsing import Body, read_json
from node.http.remote import client_address
from node.members.models import Member
from node.members.service import canonical_username
from node.moderation.appeals import MAX_TEXT
from node.moderation.render import appeal_to_api, decision_to_api, report_to_api
from node.moderation.reports import MAX_COMMENT

routes = web.RouteTableDef()
MAX_ID = 2**53  # what JSON clients hold exactly; more is no id of ours


class NewReport(Body):
    listing: int | None = Field(default=None, ge=1, le=MAX_ID)
    message: int | None = Field(default=None, ge=1, le=MAX_ID)
    account: str | None = Field(default=None, min_length=1, max_length=2048)
    category: Category = Field(strict=False)
    comment: str = Field(default="", max_length=MAX_COMMENT)
    forward: bool = True
    identify: bool = False


@routes.post("/api/quartier/v1/reports")
async def create_report(request: web.Request) -> web.Response:
    """Report something; 201 with the report (and where it was sent on, if anywhere)."""
    caller = await authenticate(request)
    body = await read_json(request, NewReport)
    report = await request.app[REPORTS].report(
        caller.member,
        listing=body.listing,
        message=body.message,
        account=body.account,
        category=body.category,
        comment=body.comment,
        forward=body.forward,
        identify=body.identify,
    )
    return web.json_response(report_to_api(report), status=201)


@routes.get("/api/quartier/v1/reports")
async def my_reports(request: web.Request) -> web.Response:
    """The caller's reports and where each stands."""
    caller = await authenticate(request)
    reports = await request.app[REPORTS].mine(caller.member)
    return web.json_response([report_to_api(r) for r in reports])


class NewAppeal(Body):
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class SuspensionAppeal(NewAppeal):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


@routes.get("/api/quartier/v1/decisions")
async def my_decisions(request: web.Request) -> web.Response:
    """The moderators' decisions about the caller (hidden content, warnings), newest first."""
    caller = await authenticate(request)
    decisions = await request.app[APPEALS].of_member(caller.member)
    return web.json_response([decision_to_api(d, d.appeal) for d in decisions])


@routes.post(r"/api/quartier/v1/decisions/{id:\d{1,9}}/appeal")
async def appeal(request: web.Request) -> web.Response:
    """Appeal a decision about the caller; 201 with the appeal, 409 the second time."""
    caller = await authenticate(request)
    body = await read_json(request, NewAppeal)
    made = await request.app[APPEALS].appeal(
        caller.member, int(request.match_info["id"]), body.text
    )
    return web.json_response(appeal_to_api(made), status=201)


@routes.post("/api/quartier/v1/suspension/appeal")
async def appeal_suspension(request: web.Request) -> web.Response:
    """A suspended member appeals their suspension with their password (they have no
    session); limited like logins. 201 with the appeal."""
    body = await read_json(request, SuspensionAppeal)
    limiter = request.app[LOGIN_LIMITER]
    user_key = f"login-user:{canonical_username(body.username)}"
    ip_key = f"login-ip:{client_address(request)}"
    limiter.hit(user_key, ip_key)
    try:
        await request.app[MEMBERS].authenticate(body.username, body.password)
    except AccountSuspended:
        pass  # the right password of a suspended member: what this endpoint is for
    else:
        raise NotFound("this account is not suspended")
    limiter.forgive(user_key, ip_key)
    member = await Member.get(username=canonical_username(body.username))
    appeals = request.app[APPEALS]
    decision = await appeals.latest_suspension(member)
    made = await appeals.appeal(member, decision.id, body.text)
    return web.json_response(appeal_to_api(made), status=201)
