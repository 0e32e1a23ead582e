"""Following neighbours, here and on other nodes.

POST   /api/quartier/v1/follows                 {"target": "bob@other.example" or actor URL}
GET    /api/quartier/v1/follows                 whom I follow (or asked to)
DELETE /api/quartier/v1/follows/{id}            unfollow, or withdraw a request
GET    /api/quartier/v1/followers               who follows me
GET    /api/quartier/v1/follow_requests         who asks to follow me
POST   /api/quartier/v1/follow_requests/{id}/accept      approve
POST   /api/quartier/v1/follow_requests/{id}/reject      refuse
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from node.follows.render import follow_to_api
from node.http.auth import authenticate
from node.http.keys import CONTENT, FOLLOWS
from node.http.parsing import Body, read_json
from node.moderation.safety import Creation

routes = web.RouteTableDef()


class NewFollow(Body):
    target: str = Field(min_length=3, max_length=2048)


@routes.post("/api/quartier/v1/follows")
async def follow(request: web.Request) -> web.Response:
    """Ask to follow a member of this or another node; 201 with the (pending) follow."""
    caller = await authenticate(request)
    body = await read_json(request, NewFollow)
    request.app[CONTENT].count(Creation.FOLLOW, caller.member)
    row = await request.app[FOLLOWS].follow(caller.member, body.target)
    return web.json_response(follow_to_api(row), status=201)


@routes.get("/api/quartier/v1/follows")
async def following(request: web.Request) -> web.Response:
    """Whom the caller follows, pending requests included."""
    caller = await authenticate(request)
    rows = await request.app[FOLLOWS].of_member(caller.member, direction="following")
    return web.json_response([follow_to_api(r) for r in rows])


@routes.delete(r"/api/quartier/v1/follows/{follow_id:\d{1,9}}")
async def unfollow(request: web.Request) -> web.Response:
    """Stop following, or withdraw a request."""
    caller = await authenticate(request)
    await request.app[FOLLOWS].unfollow(caller.member, int(request.match_info["follow_id"]))
    return web.Response(status=204)


@routes.get("/api/quartier/v1/followers")
async def followers(request: web.Request) -> web.Response:
    """Who follows the caller."""
    caller = await authenticate(request)
    rows = await request.app[FOLLOWS].of_member(caller.member, direction="followers")
    return web.json_response([follow_to_api(r) for r in rows])


@routes.get("/api/quartier/v1/follow_requests")
async def requests(request: web.Request) -> web.Response:
    """Who asks to follow the caller."""
    caller = await authenticate(request)
    rows = await request.app[FOLLOWS].of_member(caller.member, direction="requests")
    return web.json_response([follow_to_api(r) for r in rows])


@routes.post(r"/api/quartier/v1/follow_requests/{follow_id:\d{1,9}}/{decision:accept|reject}")
async def decide(request: web.Request) -> web.Response:
    """Approve (200 with the follow) or refuse (204) a request."""
    caller = await authenticate(request)
    accept = request.match_info["decision"] == "accept"
    row = await request.app[FOLLOWS].decide(
        caller.member, int(request.match_info["follow_id"]), accept=accept
    )
    if row is None:
        return web.Response(status=204)
    return web.json_response(follow_to_api(row))
