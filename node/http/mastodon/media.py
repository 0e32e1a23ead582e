"""Media and search, as Mastodon apps call them.

    POST /api/v2/media, /api/v1/media     upload an image (multipart: file, description, focus)
    GET  /api/v1/media/{id}               one of the caller's uploads
    PUT  /api/v1/media/{id}               change its description (alt text) or focus
    GET  /api/v2/search?q=&type=&resolve= accounts, statuses and hashtags

Images are processed at once (re-encoded, metadata stripped): the answer is 200 with its URL,
never 202, so apps need not poll. Images only (JPEG, PNG, WebP): a video gets 422 saying so.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from node.errors import NotFound
from node.http.keys import MEDIA, SETTINGS, STATUSES
from node.http.mastodon.accounts import find_accounts
from node.http.mastodon.common import SLASH, member, renderer, reply
from node.http.uploads import read_form
from node.mastodon.params import ValidationError, read_params
from node.media.models import Media
from node.media.service import MAX_DESCRIPTION
from node.statuses.models import Status, StatusKind, StatusTag, Visibility

routes = web.RouteTableDef()

MEDIA_ID = r"{id:[0-9a-f]{32}}"
FOCUS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


def _focus(value: str | None) -> str | None:
    """A focal point "x,y" (each -1.0 to 1.0), normalised; 422 when malformed."""
    if value is None or value == "":
        return None
    match = FOCUS.match(value)
    if match is None:
        raise ValidationError("Validation failed: focus must be two numbers, x,y")
    x, y = float(match.group(1)), float(match.group(2))
    if not (-1 <= x <= 1 and -1 <= y <= 1):
        raise ValidationError("Validation failed: focus values are between -1.0 and 1.0")
    return f"{x:g},{y:g}"


def _attachment(request: web.Request, media: Media) -> dict[str, Any]:
    body = renderer(request).media(media)
    if media.focus:
        x, y = (float(v) for v in media.focus.split(","))
        body["meta"]["focus"] = {"x": x, "y": y}
    return body


@routes.post("/api/v{version:[12]}/media" + SLASH)
async def upload(request: web.Request) -> web.Response:
    """Upload an image for a status."""
    caller = await member(request, "write:media")
    service = request.app[MEDIA]
    owner = request.app[SETTINGS].uris.actor(caller.member.username)
    service.check_upload_rate(owner)  # before reading megabytes
    form = await read_form(
        request,
        service.limits.max_bytes,
        files=frozenset({"file", "thumbnail"}),
        max_files=2,
        text_max=MAX_DESCRIPTION,
        max_fields=10,
    )
    if form.error is not None:
        raise form.error
    file = next((f for f in form.files if f.name == "file"), None)
    if file is None:
        raise ValidationError("Validation failed: File can't be blank")
    fields = dict(form.fields)
    focus = _focus(fields.get("focus"))
    media = await service.upload(owner, file.data, fields.get("description", ""))
    if focus:
        media.focus = focus
        await media.save(update_fields=["focus"])
    return reply(_attachment(request, media))


async def _own(request: web.Request, owner: str) -> Media:
    media = await Media.get_or_none(id=request.match_info["id"], owner=owner)
    if media is None:
        raise NotFound("Record not found")
    return media


@routes.get(f"/api/v1/media/{MEDIA_ID}")
async def show(request: web.Request) -> web.Response:
    """One of the caller's uploads."""
    caller = await member(request, "read:statuses")
    owner = request.app[SETTINGS].uris.actor(caller.member.username)
    return reply(_attachment(request, await _own(request, owner)))


@routes.put(f"/api/v1/media/{MEDIA_ID}")
async def update(request: web.Request) -> web.Response:
    """Change an upload's description or focus (not once its status is posted, as on
    Mastodon: edit the status instead)."""
    caller = await member(request, "write:media")
    owner = request.app[SETTINGS].uris.actor(caller.member.username)
    media = await _own(request, owner)
    params = await read_params(request)
    description = params.text("description", limit=MAX_DESCRIPTION)
    focus = _focus(params.text("focus", limit=40))
    if description is not None:
        media = await request.app[MEDIA].describe(owner, media.id, description)
    if focus is not None:
        media.focus = focus
        await media.save(update_fields=["focus"])
    return reply(_attachment(request, media))


@routes.get("/api/v2/search" + SLASH)
async def search(request: web.Request) -> web.Response:
    """Accounts, statuses and hashtags matching ``q``."""
    caller = await member(request, "read:search")
    params = await read_params(request)
    kind = params.text("type")
    if kind not in (None, "", "accounts", "statuses", "hashtags"):
        raise ValidationError("Validation failed: type must be accounts, statuses or hashtags")
    limit = min(params.integer("limit", 20, low=1) or 20, 40)
    offset = params.integer("offset", 0, low=0) or 0
    q = (params.text("q", limit=500) or "").strip()
    found: dict[str, list[Any]] = {"accounts": [], "statuses": [], "hashtags": []}
    if not q:
        return reply(found)
    rendering = renderer(request)
    if kind in (None, "", "accounts"):
        actors = await find_accounts(request, caller, params, limit + offset)
        rendered = await rendering.accounts(actors[offset:])
        found["accounts"] = [rendered[a] for a in actors[offset:]]
    if kind in (None, "", "statuses"):
        found["statuses"] = await rendering.statuses(
            await _statuses(request, caller.member, q, limit, offset)
        )
    if kind in (None, "", "hashtags"):
        name = q.lstrip("#").lower()
        names = await (
            StatusTag.filter(name__startswith=name)
            .distinct()
            .order_by("name")
            .offset(offset)
            .limit(limit)
            .values_list("name", flat=True)
        )
        base = request.app[SETTINGS].uris.url("/tags/")
        found["hashtags"] = [{"name": n, "url": base + str(n), "history": []} for n in names]
    return reply(found)


async def _statuses(
    request: web.Request, viewer: Any, q: str, limit: int, offset: int
) -> list[Status]:
    """Statuses the caller may see: a status URL found here, else public ones and the
    caller's own whose text has every word of ``q``."""
    if q.startswith(("https://", "http://")):
        status = await Status.get_or_none(ap_id=q) or await Status.get_or_none(url=q)
        if status is not None and await request.app[STATUSES].may_see(viewer, status):
            return [status]
        return []
    words = [w for w in q.split() if w][:8]
    me = request.app[SETTINGS].uris.actor(viewer.username)
    query = Status.filter(kind__not=StatusKind.MESSAGE, reblog_of_id=None)
    for word in words:
        query = query.filter(content__icontains=word)
    public = query.filter(visibility=Visibility.PUBLIC)
    rows = await public.order_by("-id").offset(offset).limit(limit)
    mine = (
        await query.filter(author=me)
        .exclude(visibility=Visibility.PUBLIC)
        .order_by("-id")
        .limit(limit)
    )
    merged = sorted({s.id: s for s in [*rows, *mine]}.values(), key=lambda s: -s.id)
    return merged[:limit]
