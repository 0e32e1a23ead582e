"""Members' reports.

POST /api/v1/reports      {"listing": 12 | "message": 7 | "account": "bob@b.example",
                           "category": "spam", "comment": "...", "forward": true,
                           "identify": false}
GET  /api/v1/reports      the member's own reports, newest first

A report of another server's content is sent on to it as a Flag from this node (the member
stays anonymous unless ``identify``); see docs/moderation.md.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from moderation.models import Category
from node.http.auth import authenticate
from node.http.keys import REPORTS
from node.http.parsing import Body, read_json
from node.moderation.render import report_to_api
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


@routes.post("/api/v1/reports")
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


@routes.get("/api/v1/reports")
async def my_reports(request: web.Request) -> web.Response:
    """The caller's reports and where each stands."""
    caller = await authenticate(request)
    reports = await request.app[REPORTS].mine(caller.member)
    return web.json_response([report_to_api(r) for r in reports])
