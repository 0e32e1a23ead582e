"""Notices: what managers, landlords and town halls tell the community.

GET    /api/quartier/v1/notices[?state=current|past&before=&limit=]  current notices (pinned: urgent
                                                            first), or past ones, newest first
POST   /api/quartier/v1/notices                             publish (roles in the community's
                                                            governance.notices_by) (201)
GET    /api/quartier/v1/notices/{id}                        one notice
PATCH  /api/quartier/v1/notices/{id}                        change it (its author, an admin)
DELETE /api/quartier/v1/notices/{id}                        delete it everywhere (204)
GET    /api/quartier/v1/directory                           the community and, for a
                                                            municipality, its districts

GET    /notices/{uuid}                                      the notice's Note (ActivityPub):
                                                            public ones to anyone, district
                                                            ones to partner nodes' signed
                                                            fetches, else 404
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from activitypub.media_types import ACTIVITY_JSON, wants_activity_json
from activitypub.properties import format_timestamp
from activitypub.uris import UriScheme
from node.errors import NotAcceptable, NotFound, ValidationFailed
from node.http.auth import authenticate
from node.http.keys import DIRECTORY, NOTICES, SETTINGS
from node.http.parsing import read_json, read_json_object, validate
from node.http.signed import signed_by_partner
from node.media.models import Media
from node.media.render import media_to_api
from node.notices.forms import NewNotice, NoticeFields
from node.notices.models import Notice, NoticeAudience
from node.notices.service import NoticeForm

routes = web.RouteTableDef()
# Ids are 32-bit in the database: a longer number would overflow PostgreSQL's int4 (a 500).
NOTICE = r"/api/quartier/v1/notices/{notice_id:[0-9]{1,9}}"
MAX_ID = 2**31 - 1


def _uris(request: web.Request) -> UriScheme:
    return request.app[SETTINGS].uris


async def notices_to_api(request: web.Request, notices: list[Notice]) -> list[dict[str, Any]]:
    """Notices in the JSON API, their photos read in one query for the whole list."""
    photos: dict[int, list[Media]] = {n.id: [] for n in notices}
    local = [n.id for n in notices if n.local]
    for media in await Media.filter(notice_id__in=local).order_by("id") if local else []:
        photos[media.notice_id].append(media)  # type: ignore[attr-defined]
    return [_notice_to_api(request, n, photos[n.id]) for n in notices]


async def notice_to_api(request: web.Request, notice: Notice) -> dict[str, Any]:
    """A notice in the JSON API."""
    [shown] = await notices_to_api(request, [notice])
    return shown


def _notice_to_api(request: web.Request, notice: Notice, media: list[Media]) -> dict[str, Any]:
    uris = _uris(request)
    if notice.local:
        photos = [media_to_api(m, uris) for m in media]
    else:
        photos = [
            {"url": p.get("url"), "description": p.get("description", "")}
            for p in notice.remote_photos
        ]
    place = None
    if notice.place_name or notice.latitude is not None:
        place = {
            "name": notice.place_name,
            "latitude": notice.latitude,
            "longitude": notice.longitude,
        }
    return {
        "id": notice.id,
        "uri": notice.ap_id,
        "local": notice.local,
        "from": notice.origin_host,
        "author": notice.author,
        "kind": notice.kind,
        "urgent": notice.kind == "urgent",
        "title": notice.title,
        "text": notice.text,
        "text_html": notice.text_html,
        "place": place,
        "starts_at": format_timestamp(notice.starts_at),
        "ends_at": format_timestamp(notice.ends_at),
        "audience": notice.audience.value,
        "circle": notice.circle,
        "public": notice.public,
        "pinned": request.app[NOTICES].is_current(notice),
        "photos": photos,
        "published_at": format_timestamp(notice.published_at),
        "updated_at": format_timestamp(notice.updated_at),
    }


@routes.get("/api/quartier/v1/notices")
async def list_notices(request: web.Request) -> web.Response:
    """Current notices (pinned, urgent first), or ``state=past``: ended ones, paged by
    ``before`` (an id) with a ``Link`` to the next page."""
    caller = await authenticate(request)
    state = request.query.get("state", "current")
    service = request.app[NOTICES]
    headers: dict[str, str] = {}
    if state == "current":
        rows = await service.current(caller.member)
    elif state == "past":
        before, limit = _int(request, "before", None), _int(request, "limit", 20)
        rows = await service.past(before, max(1, limit or 20), caller.member)
        if rows and len(rows) == min(max(1, limit or 20), 100):
            following = request.rel_url.update_query(before=rows[-1].id)
            headers["Link"] = f'<{_uris(request).url(str(following))}>; rel="next"'
    else:
        raise ValidationFailed(
            "state is current or past", details=[{"field": "state", "message": "unknown"}]
        )
    return web.json_response({"notices": await notices_to_api(request, rows)}, headers=headers)


def _int(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    # ASCII digits, and no more than a 32-bit id (PostgreSQL's int4 refuses larger: a 500).
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or int(raw) > MAX_ID:
        raise ValidationFailed(
            f"{name} must be a positive number", details=[{"field": name, "message": raw[:40]}]
        )
    return int(raw)


@routes.post("/api/quartier/v1/notices")
async def publish_notice(request: web.Request) -> web.Response:
    """Publish a notice: every member is notified; 403 for a role the policy does not name."""
    caller = await authenticate(request)
    service = request.app[NOTICES]
    await service.check_may_publish(caller.member)  # before reading what they wrote
    body = await read_json(request, NewNotice)
    notice = await service.publish(
        caller.member,
        NoticeForm(
            terms=body.terms(),
            audience=body.audience,
            public=body.public,
            photo=body.photo,
            circle=body.circle,
        ),
    )
    return web.json_response(await notice_to_api(request, notice), status=201)


@routes.get(NOTICE)
async def get_notice(request: web.Request) -> web.Response:
    """One notice."""
    caller = await authenticate(request)
    notice = await request.app[NOTICES].get(int(request.match_info["notice_id"]), caller.member)
    return web.json_response(await notice_to_api(request, notice))


@routes.patch(NOTICE)
async def edit_notice(request: web.Request) -> web.Response:
    """Change a notice: the fields given (title, text, kind, dates, place) replace the
    notice's, ``null`` clearing an optional one; the others stay. The result is checked as a
    whole (``ends_at`` after ``starts_at``)."""
    caller = await authenticate(request)
    service = request.app[NOTICES]
    notice = await service.get(int(request.match_info["notice_id"]))
    given = await read_json_object(request)
    body = validate(NoticeFields, {**_fields_of(notice), **given})
    notice = await service.edit(caller.member, notice.id, body.terms())
    return web.json_response(await notice_to_api(request, notice))


def _fields_of(notice: Notice) -> dict[str, Any]:
    """A stored notice's fields as :class:`NoticeFields` takes them."""
    return {
        "kind": notice.kind,
        "title": notice.title,
        "text": notice.text,
        "place": notice.place_name,
        "latitude": notice.latitude,
        "longitude": notice.longitude,
        "starts_at": notice.starts_at,
        "ends_at": notice.ends_at,
    }


@routes.delete(NOTICE)
async def delete_notice(request: web.Request) -> web.Response:
    """Delete a notice here and on every node it went to."""
    caller = await authenticate(request)
    await request.app[NOTICES].withdraw(caller.member, int(request.match_info["notice_id"]))
    return web.Response(status=204)


@routes.get(r"/notices/{uuid:[0-9a-f]{32}}")
async def document(request: web.Request) -> web.Response:
    """One of our notices as ActivityPub serves it; 404 to whoever may not see it."""
    if not wants_activity_json(request.headers.get("Accept")):
        raise NotAcceptable("this notice is available as application/activity+json")
    uris = _uris(request)
    notice = await Notice.get_or_none(
        ap_id=uris.url(f"/notices/{request.match_info['uuid']}"), local=True
    )
    if notice is None:
        raise NotFound("no such object")
    headers = {"Content-Type": f"{ACTIVITY_JSON}; charset=utf-8", "Vary": "Accept, Signature"}
    if not notice.public:
        if notice.audience is not NoticeAudience.DISTRICTS or not await signed_by_partner(request):
            raise NotFound("no such object")
        headers["Cache-Control"] = "private, no-store"
    photos = list(await Media.filter(notice_id=notice.id).order_by("id"))
    doc = request.app[NOTICES].document(notice, photos)
    return web.Response(body=json.dumps(doc).encode(), headers=headers)


@routes.get("/api/quartier/v1/directory")
async def directory(request: web.Request) -> web.Response:
    """The community, and for a municipality its districts (the active partner nodes) with
    what their NodeInfo says: name, area, kind, member counts, and the partnership's state.
    Public, as a town hall's list of its districts is."""
    return web.json_response(await request.app[DIRECTORY].describe())
