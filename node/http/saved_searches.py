"""Saved searches: alerts on new listings.

GET    /api/quartier/v1/saved_searches          the caller's, oldest first
POST   /api/quartier/v1/saved_searches       {"name": "...", "query": {"q": "velo", "kind": "give"}}
DELETE /api/quartier/v1/saved_searches/{id}     204
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from activitypub.properties import format_timestamp
from node.http.auth import authenticate
from node.http.keys import SAVED_SEARCHES
from node.http.parsing import Body, read_json
from node.listings.models import SavedSearch

routes = web.RouteTableDef()


class NewSavedSearch(Body):
    name: str = Field(min_length=1, max_length=100)
    # the parameters of GET /api/quartier/v1/listings, values as strings as in a URL
    query: dict[str, str] = Field(max_length=30)


def saved_to_api(row: SavedSearch) -> dict[str, Any]:
    """One saved search: its parameters are those of ``GET /api/quartier/v1/listings``."""
    return {
        "id": row.id,
        "name": row.name,
        "query": row.query,
        "created_at": format_timestamp(row.created_at),
    }


@routes.get("/api/quartier/v1/saved_searches")
async def listed(request: web.Request) -> web.Response:
    """The caller's saved searches."""
    caller = await authenticate(request)
    rows = await request.app[SAVED_SEARCHES].of_member(caller.member)
    return web.json_response([saved_to_api(r) for r in rows])


@routes.post("/api/quartier/v1/saved_searches")
async def save(request: web.Request) -> web.Response:
    """Keep a search; new listings matching it notify the caller. 201 with it."""
    caller = await authenticate(request)
    body = await read_json(request, NewSavedSearch)
    row = await request.app[SAVED_SEARCHES].save(caller.member, body.name, body.query)
    return web.json_response(saved_to_api(row), status=201)


@routes.delete(r"/api/quartier/v1/saved_searches/{search_id:\d{1,9}}")
async def delete(request: web.Request) -> web.Response:
    """Forget a saved search (204)."""
    caller = await authenticate(request)
    await request.app[SAVED_SEARCHES].delete(caller.member, int(request.match_info["search_id"]))
    return web.Response(status=204)
