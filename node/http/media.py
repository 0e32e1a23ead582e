"""Photos: uploads for listings, and serving them to whoever may see them.

POST   /api/v1/media          upload (multipart/form-data: ``file``, optional ``description``)
GET    /api/v1/media/{id}     one of my photos
PUT    /api/v1/media/{id}     {"description": "..."}: change its alt text
GET    /media/{file}          the photo or its thumbnail (HEAD too; conditional GET)

Who may see a photo is the service's rule (:meth:`MediaService.access`); a request that may
not gets 404, whether or not it is logged in, so a photo's existence is never revealed.
"""

from __future__ import annotations

import logging

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import Field

from node.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from node.http.auth import authenticate
from node.http.keys import MEDIA, SETTINGS
from node.http.parsing import Body, printable, read_json
from node.http.signed import signed_by_partner
from node.media.images import file_field_error
from node.media.render import media_to_api
from node.media.service import MAX_DESCRIPTION, Access

routes = web.RouteTableDef()
log = logging.getLogger(__name__)

_MEDIA_ID = r"{media_id:[0-9a-f]{32}}"
# Room for the multipart framing around the file (boundaries, part headers, the description).
_FRAMING = 64 * 1024
_MAX_PARTS = 4
_CHUNK = 64 * 1024
# Photos are immutable: a file name always holds the same bytes.
_PUBLIC_CACHE = "public, max-age=31536000, immutable"
# Restricted photos: the browser asks again each time (a 304 when unchanged), so an access
# that ended (a listing's audience narrowed, a session revoked) ends at once.
_PRIVATE_CACHE = "private, no-cache"


# What aiohttp's multipart reader raises on a malformed body: broken framing or boundary
# (ValueError, its assertions), bad part headers (HttpProcessingError, LineTooLong included),
# an unknown charset in a filename* (LookupError), an unknown transfer encoding (RuntimeError),
# and its content-disposition warnings where warnings are errors (the test suite).
_MALFORMED = (ValueError, LookupError, HttpProcessingError, AssertionError, RuntimeError,
              RuntimeWarning)  # fmt: skip


class Description(Body):
    description: str = Field(max_length=MAX_DESCRIPTION)


@routes.post("/api/v1/media")
async def upload(request: web.Request) -> web.Response:
    """Upload a photo; 201 with it (unattached until a listing takes it)."""
    caller = await authenticate(request)
    service = request.app[MEDIA]
    owner = request.app[SETTINGS].uris.actor(caller.member.username)
    service.check_upload_rate(owner)  # before reading megabytes
    data, description = await _read_upload(request, service.limits.max_bytes)
    media = await service.upload(owner, data, description)
    return web.json_response(media_to_api(media, request.app[SETTINGS].uris), status=201)


@routes.get(rf"/api/v1/media/{_MEDIA_ID}")
async def show(request: web.Request) -> web.Response:
    """One of the caller's photos."""
    caller = await authenticate(request)
    uris = request.app[SETTINGS].uris
    media = await request.app[MEDIA].owned(
        uris.actor(caller.member.username), request.match_info["media_id"]
    )
    return web.json_response(media_to_api(media, uris))


@routes.put(rf"/api/v1/media/{_MEDIA_ID}")
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


async def _read_upload(request: web.Request, max_bytes: int) -> tuple[bytes, str]:
    """The ``file`` and ``description`` fields of a multipart upload, read as a stream: the
    file is refused (413) as soon as it passes ``max_bytes``, never read whole into memory.
    (The node's ``server.max_body_bytes`` does not apply: photos are larger than that.)"""
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType("send the photo as multipart/form-data, in a field named 'file'")
    too_large = PayloadTooLarge(f"the image is larger than {_megabytes(max_bytes)}")
    declared = request.content_length
    if declared is not None and declared > max_bytes + _FRAMING:
        raise too_large  # refused from its headers: nothing of the body is read
    try:
        reader = await request.multipart()
        data: bytes | None = None
        description: str | None = None
        for _ in range(_MAX_PARTS + 1):
            part = await reader.next()
            if part is None:
                break
            if isinstance(part, MultipartReader):
                raise _field("(body)", "nested multipart bodies are not accepted")
            if part.name == "file" and data is None:
                data = await _read_part(part, max_bytes, too_large)
            elif part.name == "description" and description is None:
                description = _text(await _read_part(part, MAX_DESCRIPTION * 4, _too_long()))
            else:
                raise _field(part.name or "(unnamed part)", "unknown or repeated field")
        else:
            raise _field("(body)", f"at most {_MAX_PARTS} parts")
    except _MALFORMED as exc:
        raise BadRequest(f"the multipart body is malformed: {_brief(exc)}") from None
    if data is None:
        raise file_field_error("the photo is missing: send it in a field named 'file'")
    return data, description or ""


async def _read_part(part: BodyPartReader, limit: int, too_large: Exception) -> bytes:
    received = bytearray()
    while chunk := await part.read_chunk(_CHUNK):
        received += chunk
        if len(received) > limit:
            raise too_large
    return bytes(received)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _field("description", "must be UTF-8 text") from None


def _too_long() -> ValidationFailed:
    return _field("description", f"at most {MAX_DESCRIPTION} characters")


def _field(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        "the upload is not valid", details=[{"field": field, "message": message}]
    )


def _brief(exc: BaseException) -> str:
    """The reader's complaint, printable and short (it may quote the body)."""
    text = " ".join(str(exc).split())
    return printable(text)[:200] or type(exc).__name__


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:g} MB" if size >= 1_048_576 else f"{size} bytes"


async def _member(request: web.Request) -> str | None:
    """The actor of the local member making the request, ``None`` when not (validly) logged
    in: a photo is answered as to anyone else, never with 401."""
    try:
        caller = await authenticate(request)
    except (Unauthorized, Forbidden):
        return None
    return request.app[SETTINGS].uris.actor(caller.member.username)
