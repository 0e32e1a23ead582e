"""The credentials this node issued, for any server to check.

GET /credentials/{token}               a residency (or endorsement) credential; 410 once revoked
GET /credentials/status/revocation     the revocation list (W3C Bitstring Status List)
GET /credentials/endorsements          the endorsements this node gave (a municipality)

Public and unsigned on purpose: a credential says only what its subject's actor document
already links, and a verifier must be able to check it without an account here.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from activitypub.collections import whole_ordered_collection
from activitypub.media_types import ACTIVITY_JSON
from node.errors import NotFound
from node.http.keys import CREDENTIALS, SETTINGS
from node.http.signed import shared_with

routes = web.RouteTableDef()

VC_MEDIA_TYPE = "application/vc"
# Checked again by verifiers at each refresh: a short cache keeps revocations quick to show.
_CACHE = "public, max-age=300"


@routes.get(r"/credentials/{token:[0-9a-f]{32}}")
async def credential(request: web.Request) -> web.Response:
    """One credential, as signed; 404 to whoever the community's policy does not share
    credentials with (nobody, or partner nodes only and the request is not signed by one)."""
    shown = await shared_with(request)
    if not shown.credentials:
        raise NotFound("no such credential")
    document = await request.app[CREDENTIALS].document(request.match_info["token"])
    response = _json(document, VC_MEDIA_TYPE)
    if shown.depends_on_signature:
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Vary"] = "Signature"
    return response


@routes.get("/credentials/status/revocation")
async def status_list(request: web.Request) -> web.Response:
    """The revocation list, signed."""
    return _json(await request.app[CREDENTIALS].status_list(), VC_MEDIA_TYPE)


@routes.get("/credentials/endorsements")
async def endorsements(request: web.Request) -> web.Response:
    """Every endorsement in force, each credential whole (one fetch for a verifier)."""
    uris = request.app[SETTINGS].uris
    given = await request.app[CREDENTIALS].endorsements()
    collection = whole_ordered_collection(uris.endorsements, [dict(c.document) for c in given])
    return _json(collection, ACTIVITY_JSON)


def _json(document: dict[str, Any], media_type: str) -> web.Response:
    return web.Response(
        body=json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(),
        headers={
            "Content-Type": f"{media_type}; charset=utf-8",
            "Cache-Control": _CACHE,
            "Access-Control-Allow-Origin": "*",
        },
    )
