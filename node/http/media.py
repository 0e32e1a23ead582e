"""Photos: uploads for listings, and serving them to whoever may see them.

POST   /api/quartier/v1/media       upload (multipart/form-data: ``file``, optional ``description``)
GET    /api/quartier/v1/media/{id}     one of my photos
PUT    /api/quartier/v1/media/{id}     {"description": "..."}: change its alt text
GET    /media/{file}          the photo or its thumbnail (HEAD too; conditional GET)

Who may see a photo is the service's rule (:meth:`MediaService.access`); a request that may
not gets 404, whether or not it is logged in, so a photo's existence is never revealed.
"""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import Field

from node.errors import (
    Forbidden,
    NotFound,
    Unauthorized,
)
from node.http.auth import authenticate
from node.http.keys import MEDIA, SETTINGS
from node.http.parsing import Body, read_json
from node.http.signed import signed_by_partner
from node.http.uploads import read_upload
from node.media.render import media_to_api
from node.media.service import MAX_DESCRIPTION, Access

routes = web.RouteTableDef()
log = logging.getLogger(__name__)

_MEDIA_ID = r"{media_id:[0-9a-f]{32}}"
# Photos are immutable: a file name always holds the same bytes.
_PUBLIC_CACHE = "public, max-age=31536000, immutable"
# Restricted photos: the browser asks again each time (a 304 when unchanged), so an access
# that ended (a listing's audience narrowed, a session revoked) ends at once.
_PRIVATE_CACHE = "private, no-cache"


class Description(Body):
    description: str = Field(max_length=MAX_DESCRIPTION)


@routes.post("/api/quartier/v1/media")
async def upload(request: web.Request) -> web.Response:
    """Upload a photo; 201 with it (unattached until a listing takes it)."""
    caller = await authenticate(request)
    service = request.app[MEDIA]
    owner = request.app[SETTINGS].uris.actor(caller.member.username)
    service.check_upload_rate(owner)  # before reading megabytes
    upload = await read_upload(
        request,
        service.limits.max_bytes,
        what="the image",
        text_field="description",
        text_max=MAX_DESCRIPTION,
    )
    media = await service.upload(owner, upload.data, upload.text)
    return web.json_response(media_to_api(media, request.app[SETTINGS].uris), status=201)


@routes.get(rf"/api/quartier/v1/media/{_MEDIA_ID}")
async def show(request: web.Request) -> web.Response:
    """One of the caller's photos."""
    caller = await authenticate(request)
    uris = request.app[SETTINGS].uris
    media = await request.app[MEDIA].owned(
        uris.actor(caller.member.username), request.match_info["media_id"]
    )
    return web.json_response(media_to_api(media, uris))


@routes.put(rf"/api/quartier/v1/media/{_MEDIA_ID}")
async def describe(request: web.Request) -> web.Response:
    """Change the alt text of one of the caller's photos."""
    caller = await authenticate(request)
    body = await read_json(request, Description)
    uris = request.app[SETTINGS].uris
    media = await request.app[MEDIA].describe(
        uris.actor(caller.member.username), request.match_info["media_id"], body.description
    )
    return web.json_response(media_to_api(media, uris))


@routes.get(r"/media/{name:[0-9a-f]{32}(?:\.thumb)?\.(?:jpg|png)}")
async def serve(request: web.Request) -> web.StreamResponse:
    """A photo or thumbnail file, to those who may see it (404 to anyone else)."""
    service = request.app[MEDIA]
    name = request.match_info["name"]
    media = await service.by_file(name)
    if media is None:
        raise NotFound("no such photo")
    access = await service.access(media, await _member(request), lambda: signed_by_partner(request))
    if access is None:
        raise NotFound("no such photo")
    path = service.files.path(name)
    if not path.is_file():
        log.warning("photo %s is in the database but its file %s is missing", media.id, name)
        raise NotFound("no such photo")
    headers = {
        "Content-Type": media.content_type,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline",
        "Cache-Control": _PUBLIC_CACHE if access is Access.PUBLIC else _PRIVATE_CACHE,
        # Opened on its own, the file is an image and nothing else: no script, no plugin.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return web.FileResponse(path, headers=headers)


async def _member(request: web.Request) -> str | None:
    """The actor of the local member making the request, ``None`` when not (validly) logged
    in: a photo is answered as to anyone else, never with 401."""
    try:
        caller = await authenticate(request)
    except (Unauthorized, Forbidden):
        return None
    return request.app[SETTINGS].uris.actor(caller.member.username)
