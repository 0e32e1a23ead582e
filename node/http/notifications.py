"""What happened that the caller should see.

GET  /api/quartier/v1/notifications[?unread=true&before=ID&limit=N]   newest first
GET  /api/quartier/v1/notifications/unread_count              {"count": N}
POST /api/quartier/v1/notifications/{id}/read                 mark one read
POST /api/quartier/v1/notifications/read                      mark all read
"""

from __future__ import annotations

from aiohttp import web

from node.errors import ValidationFailed
from node.http.auth import authenticate
from node.http.keys import NOTIFICATIONS
from node.http.parsing import query_flag, query_id
from node.notifications.render import notification_to_api
from node.notifications.service import MAX_PAGE

routes = web.RouteTableDef()


@routes.get("/api/quartier/v1/notifications")
async def page(request: web.Request) -> web.Response:
    """A page of the caller's notifications; ``before`` the last id seen for the next one."""
    caller = await authenticate(request)
    limit = query_id(request, "limit") or 20
    if limit > MAX_PAGE:
        raise ValidationFailed(
            "invalid limit", details=[{"field": "limit", "message": f"1 to {MAX_PAGE}"}]
        )
    rows = await request.app[NOTIFICATIONS].page(
        caller.member,
        unread_only=query_flag(request, "unread"),
        before=query_id(request, "before"),
        limit=limit,
    )
    return web.json_response([notification_to_api(r) for r in rows])


@routes.get("/api/quartier/v1/notifications/unread_count")
async def unread_count(request: web.Request) -> web.Response:
    """How many notifications the caller has not read."""
    caller = await authenticate(request)
    return web.json_response(
        {"count": await request.app[NOTIFICATIONS].unread_count(caller.member)}
    )


@routes.post(r"/api/quartier/v1/notifications/{notification_id:\d{1,18}}/read")
async def mark_one(request: web.Request) -> web.Response:
    """Mark one notification read (204)."""
    caller = await authenticate(request)
    await request.app[NOTIFICATIONS].mark_read(
        caller.member, int(request.match_info["notification_id"])
    )
    return web.Response(status=204)


@routes.post("/api/quartier/v1/notifications/read")
async def mark_all(request: web.Request) -> web.Response:
    """Mark every notification read; ``{"marked": N}``."""
    caller = await authenticate(request)
    return web.json_response({"marked": await request.app[NOTIFICATIONS].mark_read(caller.member)})
