"""Liveness.

GET /healthz    200 {"status": "ok"} when the database answers, 503 otherwise

The front page (GET /) is a web page now: node/web/pages.py.
"""

from __future__ import annotations

import logging

from aiohttp import web

from node.http.keys import DATABASE

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
