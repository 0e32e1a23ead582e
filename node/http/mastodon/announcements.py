"""The community's notices as Mastodon announcements (the banner apps show on top).

    GET  /api/v1/announcements                 the notices in force, urgent first
    POST /api/v1/announcements/{id}/dismiss    read: the notice's notification is marked read

Reactions are not part of Quartier: adding one answers 422.
"""

from __future__ import annotations

import html
from typing import Any

from aiohttp import web

from node.errors import NotFound
from node.http.keys import CLOCK, NOTICES
from node.http.mastodon.common import SLASH, member, reply
from node.mastodon.entities import iso
from node.mastodon.params import ValidationError
from node.notices.models import Notice
from node.notifications.models import Notification

routes = web.RouteTableDef()


def announcement(notice: Notice, read: bool) -> dict[str, Any]:
    """The Announcement entity of a notice."""
    body = f"<p><strong>{html.escape(notice.title)}</strong></p>"
    body += notice.text_html or "".join(
        f"<p>{html.escape(p)}</p>" for p in notice.text.split("\n\n") if p.strip()
    )
    if notice.place_name:
        body += f"<p>{html.escape(notice.place_name)}</p>"
    return {
        "id": str(notice.id),
        "content": body,
        "starts_at": iso(notice.starts_at),
        "ends_at": iso(notice.ends_at),
        "all_day": False,
        "published_at": iso(notice.published_at),
        "updated_at": iso(notice.updated_at),
        "read": read,
        "mentions": [],
        "statuses": [],
        "tags": [],
        "emojis": [],
        "reactions": [],
    }


@routes.get("/api/v1/announcements" + SLASH)
async def announcements(request: web.Request) -> web.Response:
    """The notices in force or to come that the caller may read."""
    caller = await member(request, "read:accounts")
    notices = await request.app[NOTICES].current(caller.member)
    unread = set(
        await Notification.filter(
            member=caller.member,
            notice_id__in=[n.id for n in notices],
            read_at__isnull=True,
        ).values_list("notice_id", flat=True)
    )
    return reply([announcement(n, n.id not in unread) for n in notices])


@routes.post(r"/api/v1/announcements/{id:\d{1,9}}/dismiss")
async def dismiss(request: web.Request) -> web.Response:
    """Mark a notice read."""
    caller = await member(request, "write:accounts")
    notice_id = int(request.match_info["id"])
    await request.app[NOTICES].get(notice_id, caller.member)  # 404 for what they cannot read
    await Notification.filter(
        member=caller.member, notice_id=notice_id, read_at__isnull=True
    ).update(read_at=request.app[CLOCK]())
    return reply({})


@routes.put(r"/api/v1/announcements/{id:\d{1,9}}/reactions/{name}")
@routes.delete(r"/api/v1/announcements/{id:\d{1,9}}/reactions/{name}")
async def reaction(request: web.Request) -> web.Response:
    """No reactions on notices."""
    await member(request, "write:favourites")
    if not await Notice.exists(id=int(request.match_info["id"])):
        raise NotFound("Record not found")
    raise ValidationError("Validation failed: reactions are not available on Quartier")
