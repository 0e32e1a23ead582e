"""The moderators' API (roles moderator and admin).

GET  /api/quartier/v1/moderation/reports?state=open       the queue (open, resolved or dismissed)
GET  /api/quartier/v1/moderation/reports/{id}    one report
POST /api/quartier/v1/moderation/reports/{id}/dismiss     {"reason": "..."}
POST /api/quartier/v1/moderation/decisions       {"action": "hide", "listing": 3,
                                                  "reason": "...", "report": 7}
GET  /api/quartier/v1/moderation/decisions       every decision, newest first
GET  /api/quartier/v1/moderation/appeals?state=pending    appeals
POST /api/quartier/v1/moderation/appeals/{id}/uphold      {"reason": "..."}: the decision stands
POST /api/quartier/v1/moderation/appeals/{id}/overturn   {"reason": "..."}: the decision is reversed
GET  /api/quartier/v1/moderation/audit?before=&limit=     the audit log, newest first
"""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import Field

from moderation import audit
from moderation.domains import MAX_DOMAIN_LENGTH
from moderation.models import MAX_REASON_LENGTH, Action, AppealState, Report, ReportState
from node.errors import ValidationFailed
from node.http.auth import require_role
from node.http.keys import APPEALS, MODERATION
from node.http.parsing import Body, query_id, read_json
from node.members.models import Member, Role
from node.moderation.render import appeal_to_api, audit_to_api, decision_to_api, report_to_api
from node.moderation.service import TargetSpec

routes = web.RouteTableDef()
MAX_ID = 2**53


class Reason(Body):
    reason: str = Field(default="", max_length=MAX_REASON_LENGTH)


class NewDecision(Body):
    action: Action = Field(strict=False)
    listing: int | None = Field(default=None, ge=1, le=MAX_ID)
    message: int | None = Field(default=None, ge=1, le=MAX_ID)
    account: str | None = Field(default=None, min_length=1, max_length=2048)
    domain: str | None = Field(default=None, min_length=1, max_length=MAX_DOMAIN_LENGTH)
    report: int | None = Field(default=None, ge=1, le=MAX_ID)
    reason: str = Field(default="", max_length=MAX_REASON_LENGTH)


S = TypeVar("S", ReportState, AppealState)


def _state(request: web.Request, kind: type[S], default: S) -> S:
    raw = request.query.get("state", default.value)
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(s.value for s in kind)
        raise ValidationFailed(
            "invalid state", details=[{"field": "state", "message": f"one of {allowed}"}]
        ) from None


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def reporters_of(reports: list[Report]) -> dict[int, str]:
    """The usernames of the members here who made ``reports``, by member id (the API's and
    the staff pages' one lookup)."""
    ids = {r.reporter_member_id for r in reports if r.reporter_member_id is not None}
    members = await Member.filter(id__in=list(ids)) if ids else []
    return {m.id: m.username for m in members}


@routes.get("/api/quartier/v1/moderation/reports")
async def list_reports(request: web.Request) -> web.Response:
    """The queue: reports in a state (open by default), oldest first."""
    await require_role(request, Role.MODERATOR)
    state = _state(request, ReportState, ReportState.OPEN)
    reports = await request.app[MODERATION].queue(state)
    names = await reporters_of(reports)
    return web.json_response(
        [report_to_api(r, reporter=names.get(r.reporter_member_id or 0, "")) for r in reports]
    )


@routes.get(r"/api/quartier/v1/moderation/reports/{id:\d{1,9}}")
async def show_report(request: web.Request) -> web.Response:
    """One report, with who made it."""
    await require_role(request, Role.MODERATOR)
    report = await request.app[MODERATION].report(_id(request))
    names = await reporters_of([report])
    return web.json_response(
        report_to_api(report, reporter=names.get(report.reporter_member_id or 0, ""))
    )


@routes.post(r"/api/quartier/v1/moderation/reports/{id:\d{1,9}}/dismiss")
async def dismiss(request: web.Request) -> web.Response:
    """Close a report that needs nothing; 201 with the decision."""
    caller = await require_role(request, Role.MODERATOR)
    body = await read_json(request, Reason)
    decision = await request.app[MODERATION].dismiss(caller.member, _id(request), body.reason)
    return web.json_response(decision_to_api(decision), status=201)


@routes.post("/api/quartier/v1/moderation/decisions")
async def decide(request: web.Request) -> web.Response:
    """Take an action; 201 with the decision."""
    caller = await require_role(request, Role.MODERATOR)
    body = await read_json(request, NewDecision)
    spec = TargetSpec(body.listing, body.message, body.account, body.domain)
    decision = await request.app[MODERATION].decide(
        caller.member, body.action, spec, body.reason, body.report
    )
    return web.json_response(decision_to_api(decision), status=201)


@routes.get("/api/quartier/v1/moderation/decisions")
async def list_decisions(request: web.Request) -> web.Response:
    """Every decision, newest first, with its appeal."""
    await require_role(request, Role.MODERATOR)
    decisions = await request.app[MODERATION].decisions()
    return web.json_response([decision_to_api(d, d.appeal) for d in decisions])


@routes.get("/api/quartier/v1/moderation/appeals")
async def list_appeals(request: web.Request) -> web.Response:
    """Appeals in a state (pending by default), oldest first."""
    await require_role(request, Role.MODERATOR)
    state = _state(request, AppealState, AppealState.PENDING)
    appeals = await request.app[APPEALS].in_state(state)
    return web.json_response([appeal_to_api(a) for a in appeals])


@routes.post(r"/api/quartier/v1/moderation/appeals/{id:\d{1,9}}/{answer:uphold|overturn}")
async def answer_appeal(request: web.Request) -> web.Response:
    """Answer an appeal: the decision stands (uphold) or is reversed (overturn)."""
    caller = await require_role(request, Role.MODERATOR)
    body = await read_json(request, Reason)
    overturn = request.match_info["answer"] == "overturn"
    appeal = await request.app[APPEALS].answer(caller.member, _id(request), overturn, body.reason)
    return web.json_response(appeal_to_api(appeal))


@routes.get("/api/quartier/v1/moderation/audit")
async def audit_log(request: web.Request) -> web.Response:
    """The audit log, newest first; ``before`` (an entry's id) pages back."""
    await require_role(request, Role.MODERATOR)
    limit = query_id(request, "limit") or 50
    entries = await audit.page(before=query_id(request, "before"), limit=limit)
    return web.json_response([audit_to_api(e) for e in entries])
