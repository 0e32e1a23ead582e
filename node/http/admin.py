"""Administration: invites and roles.

POST   /api/quartier/v1/admin/invites      create an invite (the code is shown once)
GET    /api/quartier/v1/admin/invites[?all=true]    usable invites (or all)
DELETE /api/quartier/v1/admin/invites/{id}          revoke an unused invite
GET    /api/quartier/v1/admin/members      every member, real names included
PATCH  /api/quartier/v1/admin/members/{username}    change a member's role
POST   /api/quartier/v1/admin/members/{username}/verification  {"verified", "reason", "found_false"}
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from pydantic import Field

from node.http.auth import require_role
from node.http.keys import MEMBERS, SETTINGS, VERIFICATION
from node.http.parsing import Body, query_flag, read_json
from node.members.models import Role
from node.members.render import invite_to_api, member_to_api

routes = web.RouteTableDef()


class NewInvite(Body):
    role: Role = Field(default=Role.RESIDENT, strict=False)
    note: str = Field(default="", max_length=200)
    ttl_hours: int | None = Field(default=None, ge=1, le=24 * 365)


class RoleChange(Body):
    role: Role = Field(strict=False)


class VerificationChange(Body):
    verified: bool
    reason: str = Field(default="", max_length=500)
    # Taken back because it was false: the member's own vouches are discredited too.
    found_false: bool = False


@routes.post("/api/quartier/v1/admin/invites")
async def create_invite(request: web.Request) -> web.Response:
    """Create a single-use invite; 201 with its code."""
    caller = await require_role(request, Role.ADMIN)
    body = await read_json(request, NewInvite)
    ttl = timedelta(hours=body.ttl_hours) if body.ttl_hours else None
    invite, secret = await request.app[MEMBERS].create_invite(
        body.role, created_by=caller.member, note=body.note, ttl=ttl
    )
    return web.json_response(invite_to_api(invite, secret.secret), status=201)


@routes.get("/api/quartier/v1/admin/invites")
async def list_invites(request: web.Request) -> web.Response:
    """Usable invites, or every invite with ``?all=true``."""
    await require_role(request, Role.ADMIN)
    include_spent = query_flag(request, "all")
    invites = await request.app[MEMBERS].list_invites(include_spent=include_spent)
    return web.json_response([invite_to_api(i) for i in invites])


@routes.delete(r"/api/quartier/v1/admin/invites/{invite_id:\d{1,9}}")
async def revoke_invite(request: web.Request) -> web.Response:
    """Revoke an unused invite."""
    await require_role(request, Role.ADMIN)
    await request.app[MEMBERS].revoke_invite(int(request.match_info["invite_id"]))
    return web.Response(status=204)


@routes.get("/api/quartier/v1/admin/members")
async def list_members(request: web.Request) -> web.Response:
    """Every member with private fields."""
    await require_role(request, Role.ADMIN)
    uris = request.app[SETTINGS].uris
    members = await request.app[MEMBERS].list_members()
    return web.json_response([member_to_api(m, uris, private=True) for m in members])


@routes.patch(r"/api/quartier/v1/admin/members/{username}")
async def change_role(request: web.Request) -> web.Response:
    """Give a member another role."""
    await require_role(request, Role.ADMIN)
    body = await read_json(request, RoleChange)
    member = await request.app[MEMBERS].set_role(request.match_info["username"], body.role)
    return web.json_response(member_to_api(member, request.app[SETTINGS].uris, private=True))


@routes.post(r"/api/quartier/v1/admin/members/{username}/verification")
async def set_verification(request: web.Request) -> web.Response:
    """A manager verifies a member they know, or takes the verification back."""
    caller = await require_role(request, Role.MANAGER)
    body = await read_json(request, VerificationChange)
    member = await request.app[MEMBERS].get(request.match_info["username"])
    member = await request.app[VERIFICATION].set_by_manager(
        member,
        verified=body.verified,
        by=caller.member,
        reason=body.reason,
        false=body.found_false,
    )
    return web.json_response(member_to_api(member, request.app[SETTINGS].uris, private=True))
