"""Partnerships with other nodes (admins).

GET    /api/quartier/v1/admin/partnerships             every partnership
POST   /api/quartier/v1/admin/partnerships             {"node": "b.example", "message": "..."}
POST   /api/quartier/v1/admin/partnerships/{id}/accept|reject   answer a request from another node
DELETE /api/quartier/v1/admin/partnerships/{id}        end it (or withdraw a proposal)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from federation.errors import PartnershipError
from federation.models import Partnership
from federation.peers import MAX_MESSAGE_LENGTH
from node.errors import Conflict
from node.http.auth import require_role
from node.http.keys import PARTNERSHIPS
from node.http.parsing import Body, read_json
from node.members.models import Role

routes = web.RouteTableDef()


class Proposal(Body):
    # a host[:port], or its origin URL
    node: str = Field(min_length=1, max_length=255, pattern=r"^(https?://)?[A-Za-z0-9.\-\[\]:]+/?$")
    message: str = Field(default="", max_length=MAX_MESSAGE_LENGTH)


def partnership_to_api(row: Partnership, suspended: str | None) -> dict[str, Any]:
    """A partnership as admins see it; ``suspended``: why it carries nothing now, or None."""
    return {
        "id": row.id,
        "node": row.peer_host,
        "actor": row.peer_actor,
        "state": row.state.value,
        "suspended": suspended,
        "initiated_by_us": row.initiated_by_us,
        "message": row.message,
        "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": row.updated_at.isoformat().replace("+00:00", "Z"),
    }


async def _render(request: web.Request, row: Partnership) -> dict[str, Any]:
    return partnership_to_api(row, await request.app[PARTNERSHIPS].suspension(row))


@routes.get("/api/quartier/v1/admin/partnerships")
async def list_partnerships(request: web.Request) -> web.Response:
    """Every partnership, newest first."""
    await require_role(request, Role.ADMIN)
    service = request.app[PARTNERSHIPS]
    rows = await service.all()
    return web.json_response([partnership_to_api(r, await service.suspension(r)) for r in rows])


@routes.post("/api/quartier/v1/admin/partnerships")
async def propose(request: web.Request) -> web.Response:
    """Propose a partnership to another node; 201 with it, ``proposed`` until they answer."""
    await require_role(request, Role.ADMIN)
    body = await read_json(request, Proposal)
    try:
        row = await request.app[PARTNERSHIPS].propose(body.node, body.message)
    except PartnershipError as exc:
        raise Conflict(str(exc)) from None
    return web.json_response(await _render(request, row), status=201)


@routes.post(r"/api/quartier/v1/admin/partnerships/{pid:\d{1,9}}/{decision:accept|reject}")
async def decide(request: web.Request) -> web.Response:
    """Accept or refuse a request from another node."""
    await require_role(request, Role.ADMIN)
    try:
        row = await request.app[PARTNERSHIPS].decide(
            int(request.match_info["pid"]), accept=request.match_info["decision"] == "accept"
        )
    except PartnershipError as exc:
        raise Conflict(str(exc)) from None
    return web.json_response(await _render(request, row))


@routes.delete(r"/api/quartier/v1/admin/partnerships/{pid:\d{1,9}}")
async def end(request: web.Request) -> web.Response:
    """End a partnership; the other node is told."""
    await require_role(request, Role.ADMIN)
    try:
        row = await request.app[PARTNERSHIPS].end(int(request.match_info["pid"]))
    except PartnershipError as exc:
        raise Conflict(str(exc)) from None
    return web.json_response(await _render(request, row))
