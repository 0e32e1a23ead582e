"""A member's blocks and mutes.

GET    /api/quartier/v1/me/blocks     whom I block, newest first
POST   /api/quartier/v1/me/blocks     {"account": "bob", "bob@other.example" or an actor URL}
DELETE /api/quartier/v1/me/blocks/{key}     unblock: the block's id, or the account as POST takes it
                                      (URL-encoded)

and the same under ``/api/quartier/v1/me/mutes``. POST answers 201 with a new block or mute,
200 with the one that exists already. See docs/moderation.md for what each does.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from node.actors.lookup import MAX_TARGET
from node.http.auth import authenticate
from node.http.keys import RELATIONS
from node.http.parsing import Body, read_json
from node.relations.models import RelationKind
from node.relations.render import relation_to_api

routes = web.RouteTableDef()
KINDS = {"blocks": RelationKind.BLOCK, "mutes": RelationKind.MUTE}


class NewRelation(Body):
    account: str = Field(min_length=1, max_length=MAX_TARGET)


def _kind(request: web.Request) -> RelationKind:
    return KINDS[request.match_info["kinds"]]


@routes.get("/api/quartier/v1/me/{kinds:blocks|mutes}")
async def listed(request: web.Request) -> web.Response:
    """The caller's blocks (or mutes), newest first."""
    caller = await authenticate(request)
    rows = await request.app[RELATIONS].of_member(caller.member, _kind(request))
    return web.json_response([relation_to_api(r) for r in rows])


@routes.post("/api/quartier/v1/me/{kinds:blocks|mutes}")
async def add(request: web.Request) -> web.Response:
    """Block or mute an account here or elsewhere: 201 when new, 200 when it was already."""
    caller = await authenticate(request)
    body = await read_json(request, NewRelation)
    row, created = await request.app[RELATIONS].add(caller.member, _kind(request), body.account)
    return web.json_response(relation_to_api(row), status=201 if created else 200)


@routes.delete("/api/quartier/v1/me/{kinds:blocks|mutes}/{key:.{1,2048}}")
async def remove(request: web.Request) -> web.Response:
    """Lift a block or mute (404 when the caller has none such)."""
    caller = await authenticate(request)
    await request.app[RELATIONS].remove(caller.member, _kind(request), request.match_info["key"])
    return web.Response(status=204)
