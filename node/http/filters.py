"""Keyword filters and the content they hold back (roles moderator and admin).

GET    /api/quartier/v1/moderation/filters        every filter, oldest first
POST   /api/quartier/v1/moderation/filters        {"phrase": "...", "action": "hide" | "hold"}
DELETE /api/quartier/v1/moderation/filters/{id}   remove a filter
GET    /api/quartier/v1/moderation/held?state=held  caught (held, hidden, released, rejected)
POST   /api/quartier/v1/moderation/held/{id}/release       {"reason": "..."}: shown and sent on
POST   /api/quartier/v1/moderation/held/{id}/reject        {"reason": "..."}: never shown
(held or hidden content; once decided, 404)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from moderation import filters
from moderation.content import MAX_PHRASE
from moderation.errors import InvalidFilter, NoSuchFilter
from moderation.models import (
    MAX_REASON_LENGTH,
    FilterAction,
    FilteredContent,
    HeldState,
    KeywordFilter,
)
from node.errors import NotFound, ValidationFailed
from node.http.auth import require_role
from node.http.keys import CLOCK, HELD
from node.http.parsing import Body, read_json
from node.members.models import Role

routes = web.RouteTableDef()


class NewFilter(Body):
    phrase: str = Field(min_length=1, max_length=MAX_PHRASE)
    action: FilterAction = Field(strict=False)


class Reason(Body):
    reason: str = Field(default="", max_length=MAX_REASON_LENGTH)


def filter_to_api(row: KeywordFilter) -> dict[str, Any]:
    """One filter as the API shows it."""
    return {
        "id": row.id,
        "phrase": row.phrase,
        "action": row.action.value,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
    }


def held_to_api(row: FilteredContent) -> dict[str, Any]:
    """Caught content as the moderators' queue shows it (the excerpt is plain text)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "target": row.target,
        "author": row.author,
        "local": row.local,
        "state": row.state.value,
        "reason": row.reason,
        "excerpt": row.excerpt,
        "created_at": row.created_at.isoformat(),
        "decided_by": row.decided_by or None,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
    }


@routes.get("/api/quartier/v1/moderation/filters")
async def list_filters(request: web.Request) -> web.Response:
    """Every keyword filter."""
    await require_role(request, Role.MODERATOR)
    return web.json_response([filter_to_api(f) for f in await filters.all_filters()])


@routes.post("/api/quartier/v1/moderation/filters")
async def add_filter(request: web.Request) -> web.Response:
    """A new filter; 201 with it, 422 for an empty or already filtered phrase."""
    caller = await require_role(request, Role.MODERATOR)
    body = await read_json(request, NewFilter)
    try:
        row = await filters.add_filter(
            body.phrase, body.action, caller.member.username, request.app[CLOCK]()
        )
    except InvalidFilter as exc:
        raise ValidationFailed(
            "invalid filter", details=[{"field": "phrase", "message": str(exc)}]
        ) from None
    return web.json_response(filter_to_api(row), status=201)


@routes.delete(r"/api/quartier/v1/moderation/filters/{id:\d{1,9}}")
async def remove_filter(request: web.Request) -> web.Response:
    """Remove a filter; 204 (404 when there is none)."""
    caller = await require_role(request, Role.MODERATOR)
    try:
        await filters.remove_filter(
            int(request.match_info["id"]), caller.member.username, request.app[CLOCK]()
        )
    except NoSuchFilter:
        raise NotFound("no such filter") from None
    return web.Response(status=204)


@routes.get("/api/quartier/v1/moderation/held")
async def list_held(request: web.Request) -> web.Response:
    """Caught content in a state (held by default), oldest first."""
    await require_role(request, Role.MODERATOR)
    raw = request.query.get("state", HeldState.HELD.value)
    try:
        state = HeldState(raw)
    except ValueError:
        allowed = ", ".join(s.value for s in HeldState)
        raise ValidationFailed(
            "invalid state", details=[{"field": "state", "message": f"one of {allowed}"}]
        ) from None
    return web.json_response([held_to_api(r) for r in await filters.queue(state)])


@routes.post(r"/api/quartier/v1/moderation/held/{id:\d{1,9}}/{decision:release|reject}")
async def decide(request: web.Request) -> web.Response:
    """Release or reject held (or hidden) content; 200 with it, 404 once decided."""
    caller = await require_role(request, Role.MODERATOR)
    body = await read_json(request, Reason)
    row = await request.app[HELD].decide(
        caller.member,
        int(request.match_info["id"]),
        release=request.match_info["decision"] == "release",
        reason=body.reason,
    )
    return web.json_response(held_to_api(row))
