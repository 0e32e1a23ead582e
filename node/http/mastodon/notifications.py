"""Notifications, conversations and markers, as Mastodon apps read them.

    GET  /api/v1/notifications[?types[]=&exclude_types[]=&account_id=]
    GET  /api/v1/notifications/{id}
    POST /api/v1/notifications/{id}/dismiss       gone for good (Mastodon's meaning)
    POST /api/v1/notifications/clear
    GET  /api/v1/notifications/unread_count
    GET  /api/v2/notifications                    grouped (one notification a group)
    GET  /api/v1/conversations                    the caller's direct conversations
    POST /api/v1/conversations/{id}/read
    GET  /api/v1/markers?timeline[]=home&timeline[]=notifications
    POST /api/v1/markers                          home[last_read_id]=, notifications[...]=

Setting the ``notifications`` marker marks the notifications up to it read, so the web pages'
unread count agrees with the app.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from tortoise.transactions import in_transaction

from node.conversations.models import Conversation, Participant
from node.errors import NotFound
from node.http.keys import CLOCK, CONVERSATIONS, NOTIFICATIONS, SETTINGS
from node.http.mastodon.accounts import actor_of
from node.http.mastodon.common import SLASH, member, paged, renderer, reply
from node.mastodon.entities import iso
from node.mastodon.notifications import MASTODON_TYPES, NotificationRenderer, our_types
from node.mastodon.paging import fetch, link_header, read_page
from node.mastodon.params import ValidationError, read_params
from node.members.models import Member
from node.notifications.models import Notification
from node.statuses.models import Marker

routes = web.RouteTableDef()

ID = r"{id:\d{1,19}}"
TIMELINES = ("home", "notifications")


def _notifications(request: web.Request) -> NotificationRenderer:
    settings = request.app[SETTINGS]
    languages = settings.community.languages
    return NotificationRenderer(
        renderer(request), settings.uris, languages[0] if languages else "en"
    )


async def _query(request: web.Request, member_row: Member) -> Any:
    params = await read_params(request)
    query = await request.app[NOTIFICATIONS].shown(member_row)
    wanted = [t for t in params.strings("types") if t in MASTODON_TYPES]
    if params.strings("types"):
        query = query.filter(type__in=our_types(wanted))
    excluded = [t for t in params.strings("exclude_types") if t in MASTODON_TYPES]
    if excluded:
        query = query.exclude(type__in=our_types(excluded))
    account = params.text("account_id")
    if account:
        if not account.isdigit() or len(account) > 19:
            raise ValidationError("Validation failed: account_id must be an id")
        query = query.filter(actor=await actor_of(account))
    return query, params


@routes.get("/api/v1/notifications" + SLASH)
async def notifications(request: web.Request) -> web.Response:
    """The caller's notifications, newest first."""
    caller = await member(request, "read:notifications")
    query, params = await _query(request, caller.member)
    rows = await fetch(query, read_page(params, default=40, most=80))
    rendered = await _notifications(request).render(rows, caller.member)
    return paged(request, rendered, [r.id for r in rows])


@routes.get("/api/v1/notifications/unread_count")
async def unread_count(request: web.Request) -> web.Response:
    """How many notifications the caller has not read."""
    caller = await member(request, "read:notifications")
    return reply({"count": await request.app[NOTIFICATIONS].unread_count(caller.member)})


@routes.get(f"/api/v1/notifications/{ID}")
async def one_notification(request: web.Request) -> web.Response:
    """One of the caller's notifications."""
    caller = await member(request, "read:notifications")
    row = await Notification.get_or_none(id=int(request.match_info["id"]), member=caller.member)
    rendered = await _notifications(request).render([row], caller.member) if row else []
    if not rendered:
        raise NotFound("Record not found")
    return reply(rendered[0])


@routes.post(f"/api/v1/notifications/{ID}/dismiss")
async def dismiss(request: web.Request) -> web.Response:
    """Remove one notification."""
    caller = await member(request, "write:notifications")
    gone = await Notification.filter(
        id=int(request.match_info["id"]), member=caller.member
    ).delete()
    if not gone:
        raise NotFound("Record not found")
    return reply({})


@routes.post("/api/v1/notifications/clear")
async def clear(request: web.Request) -> web.Response:
    """Remove every notification of the caller."""
    caller = await member(request, "write:notifications")
    await Notification.filter(member=caller.member).delete()
    return reply({})


@routes.get("/api/v2/notifications" + SLASH)
async def grouped(request: web.Request) -> web.Response:
    """Grouped notifications (Mastodon 4.3): each notification its own group."""
    caller = await member(request, "read:notifications")
    query, params = await _query(request, caller.member)
    rows = await fetch(query, read_page(params, default=40, most=80))
    rendered = await _notifications(request).render(rows, caller.member)
    accounts: dict[str, Any] = {}
    statuses: dict[str, Any] = {}
    groups = []
    for item in rendered:
        accounts[item["account"]["id"]] = item["account"]
        group = {
            "group_key": item["group_key"],
            "notifications_count": 1,
            "type": item["type"],
            "most_recent_notification_id": item["id"],
            "page_min_id": item["id"],
            "page_max_id": item["id"],
            "latest_page_notification_at": item["created_at"],
            "sample_account_ids": [item["account"]["id"]],
        }
        if "status" in item:
            statuses[item["status"]["id"]] = item["status"]
            group["status_id"] = item["status"]["id"]
        groups.append(group)
    body = {
        "accounts": list(accounts.values()),
        "statuses": list(statuses.values()),
        "notification_groups": groups,
    }
    link = link_header(request, request.app[SETTINGS].server.base_url, [r.id for r in rows])
    return reply(body, headers={"Link": link} if link else None)


# Conversations


@routes.get("/api/v1/conversations" + SLASH)
async def conversations(request: web.Request) -> web.Response:
    """The caller's direct conversations, the most recently active first."""
    caller = await member(request, "read:statuses")
    params = await read_params(request)
    page = read_page(params, default=20, most=40)
    me = request.app[SETTINGS].uris.actor(caller.member.username)
    mine = await Participant.filter(actor=me).values_list("conversation_id", "last_read_id")
    last_read = {int(c): int(r) for c, r in mine}
    rows = await fetch(Conversation.filter(id__in=list(last_read)), page)
    items = await renderer(request).conversations(rows, me, last_read)
    return paged(request, items, [r.id for r in rows])


@routes.post(f"/api/v1/conversations/{ID}/read")
async def conversation_read(request: web.Request) -> web.Response:
    """Mark a conversation read."""
    caller = await member(request, "write:conversations")
    conversation_id = int(request.match_info["id"])
    await request.app[CONVERSATIONS].mark_read(caller.member, conversation_id)
    me = request.app[SETTINGS].uris.actor(caller.member.username)
    rows = await Conversation.filter(id=conversation_id)
    items = await renderer(request).conversations(rows, me, {conversation_id: 2**62})
    return reply(items[0])


@routes.delete(f"/api/v1/conversations/{ID}")
async def conversation_remove(request: web.Request) -> web.Response:
    """Apps may hide a conversation; ours stay (the other side keeps theirs): refused."""
    await member(request, "write:conversations")
    raise ValidationError("Validation failed: conversations cannot be removed on Quartier")


# Markers


@routes.get("/api/v1/markers" + SLASH)
async def markers(request: web.Request) -> web.Response:
    """Where the caller stopped reading each timeline asked for."""
    caller = await member(request, "read:statuses")
    params = await read_params(request)
    wanted = [t for t in params.strings("timeline") if t in TIMELINES]
    rows = await Marker.filter(member_id=caller.member.id, timeline__in=wanted)
    return reply({row.timeline: _marker(row) for row in rows})


def _marker(row: Marker) -> dict[str, Any]:
    return {
        "last_read_id": row.last_read_id,
        "version": row.version,
        "updated_at": iso(row.updated_at),
    }


@routes.post("/api/v1/markers" + SLASH)
async def save_markers(request: web.Request) -> web.Response:
    """Move the caller's markers; the notifications marker marks them read up to it."""
    caller = await member(request, "write:statuses")
    params = await read_params(request)
    now = request.app[CLOCK]()
    found = {}
    for timeline in TIMELINES:
        given = params.mapping(timeline).get("last_read_id")
        if given is None:
            continue
        if not isinstance(given, str | int) or not str(given).isdigit() or len(str(given)) > 19:
            raise ValidationError(f"Validation failed: {timeline}[last_read_id] must be an id")
        async with in_transaction():
            row = await Marker.get_or_none(member_id=caller.member.id, timeline=timeline)
            if row is None:
                row = await Marker.create(
                    member_id=caller.member.id,
                    timeline=timeline,
                    last_read_id=str(given),
                    updated_at=now,
                )
            else:
                row.last_read_id, row.version, row.updated_at = str(given), row.version + 1, now
                await row.save()
            if timeline == "notifications":
                await Notification.filter(
                    member=caller.member, id__lte=int(given), read_at__isnull=True
                ).update(read_at=now)
        found[timeline] = _marker(row)
    return reply(found)
