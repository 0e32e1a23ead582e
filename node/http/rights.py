"""Members' data rights: export everything (articles 15 and 20), erase the account (article 17).

GET  /api/quartier/v1/me/export                      the caller's data, one ZIP archive, streamed
POST /api/quartier/v1/me/erasure                     {"password": "..."}: erase the caller's account
GET  /api/quartier/v1/admin/members/{username}/export     an admin exports a member's data (audited)
POST /api/quartier/v1/admin/members/{username}/erasure  {"reason": "..."}: an admin erases one

See node/rights/ for what the archive holds and what erasure does on this and other servers.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field
from tortoise.transactions import in_transaction

from moderation import audit
from node.errors import Conflict, WrongPassword
from node.http.auth import authenticate, require_role
from node.http.keys import ACTOR_DOCUMENTS, CLOCK, ERASER, EXPORTER, MEMBERS, SETTINGS
from node.http.parsing import Body, read_json
from node.members.models import Member, Role
from node.members.passwords import verify_password
from node.rights.export import export_filename

routes = web.RouteTableDef()
MEMBER = r"/api/quartier/v1/admin/members/{username:[a-z0-9_]{1,30}}"


class Confirmation(Body):
    password: str = Field(min_length=1, max_length=1000)


class AdminErasure(Body):
    reason: str = Field(default="", max_length=1000)


@routes.get("/api/quartier/v1/me/export")
async def export_mine(request: web.Request) -> web.StreamResponse:
    """The caller's archive; 409 while another export of theirs is being sent."""
    caller = await authenticate(request)
    return await _stream(request, caller.member)


@routes.get(MEMBER + "/export")
async def export_member(request: web.Request) -> web.StreamResponse:
    """A member's archive, for an admin answering their request (the audit log says who)."""
    caller = await require_role(request, Role.ADMIN)
    member = await request.app[MEMBERS].get(request.match_info["username"])
    async with in_transaction():
        await audit.record(
            caller.member.username,
            "account.exported",
            request.app[SETTINGS].uris.actor(member.username),
            "",
            request.app[CLOCK](),
        )
    return await _stream(request, member)


async def _stream(request: web.Request, member: Member) -> web.StreamResponse:
    exporter = request.app[EXPORTER]
    if member.username in exporter.busy:
        raise Conflict("an export of this account is already being sent: wait for it to finish")
    exporter.busy.add(member.username)
    try:
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": (
                    f'attachment; filename="{export_filename(member, request.app[CLOCK]())}"'
                ),
                "Cache-Control": "private, no-store",
            }
        )
        await response.prepare(request)
        async for chunk in exporter.archive(member):
            if chunk:
                await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        exporter.busy.discard(member.username)


@routes.post("/api/quartier/v1/me/erasure")
async def erase_mine(request: web.Request) -> web.Response:
    """Erase the caller's account, once they typed their password again."""
    caller = await authenticate(request)
    body = await read_json(request, Confirmation)
    if not await verify_password(caller.member.password_hash, body.password):
        raise WrongPassword("password")
    return await _erase(request, caller.member, by=caller.member.username, reason="")


@routes.post(MEMBER + "/erasure")
async def erase_member(request: web.Request) -> web.Response:
    """An admin erases a member's account (at their request, or as the law requires)."""
    caller = await require_role(request, Role.ADMIN)
    body = await read_json(request, AdminErasure)
    member = await request.app[MEMBERS].get(request.match_info["username"])
    return await _erase(request, member, by=caller.member.username, reason=body.reason)


async def _erase(request: web.Request, member: Member, *, by: str, reason: str) -> web.Response:
    erased = await request.app[ERASER].erase(member, by=by, reason=reason)
    request.app[ACTOR_DOCUMENTS].invalidate(member.username)
    return web.json_response(
        {
            "erased": erased.username,
            "servers_told": erased.servers_told,
            "messages_withdrawn": erased.messages_withdrawn,
        }
    )
