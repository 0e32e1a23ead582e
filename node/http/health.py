"""Liveness and the node's front page.

GET /healthz    200 {"status": "ok"} when the database answers, 503 otherwise
GET /           what this node is, in HTML, with pointers for newcomers
"""

from __future__ import annotations

import html
import logging

from aiohttp import web

from node.http.keys import DATABASE, SETTINGS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Whether the node can serve: the database answers a trivial query."""
    try:
        await request.app[DATABASE].db().execute_query("SELECT 1")
    except Exception:
        log.exception("health check: database unreachable")
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    """A plain front page naming the community."""
    community = request.app[SETTINGS].community
    name = html.escape(community.name)
    description = html.escape(community.description)
    area = html.escape(community.area)
    page = f"""<!doctype html>
<html lang="{html.escape(community.languages[0])}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{name}</title></head>
<body>
<h1>{name}</h1>
<p>{description}</p>
<p>{area}</p>
<p>This is a Quartier node: a neighbourhood server for real neighbours. Membership is by
invitation; ask a neighbour or the node's managers for an invite.</p>
</body>
</html>
"""
    return web.Response(text=page, content_type="text/html")
