"""Statuses and timelines, as Mastodon apps read and write them.

    POST   /api/v1/statuses                      post (``Idempotency-Key`` honoured for an hour)
    GET    /api/v1/statuses/{id}                 one status the caller may see
    GET    /api/v1/statuses?id[]=                several
    PUT    /api/v1/statuses/{id}                 edit one of the caller's own
    DELETE /api/v1/statuses/{id}                 delete it (answers it, with ``text``, to redraft)
    GET    /api/v1/statuses/{id}/context         ancestors and descendants the caller may see
    GET    /api/v1/statuses/{id}/source          the text as written
    GET    /api/v1/statuses/{id}/history         its versions (the current one: we keep no older)
    GET    /api/v1/statuses/{id}/reblogged_by|favourited_by
    GET    /api/v1/timelines/home                the caller's home timeline
    GET    /api/v1/timelines/public[?local|remote|only_media]
    GET    /api/v1/timelines/tag/{tag}           statuses under a hashtag (a listing's kind too)
    GET    /api/v1/timelines/direct              the caller's direct messages
    GET    /api/v1/accounts/{id}/statuses        an account's statuses the caller may see

Favourites, boosts, bookmarks, pins and polls are not part of Quartier: those actions answer
422 with a sentence an app shows, never a silent success.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from tortoise.expressions import Q

from node.errors import NotFound
from node.http.auth import Caller
from node.http.keys import SETTINGS, STATUSES
from node.http.mastodon.accounts import actor_of
from node.http.mastodon.common import SLASH, member, paged, renderer, reply
from node.mastodon.entities import COUNTED_KINDS
from node.mastodon.paging import Page, fetch, read_page
from node.mastodon.params import Params, ValidationError, read_params
from node.statuses.models import Status, StatusKind, TimelineEntry, Visibility
from node.statuses.posting import MAX_SPOILER, Draft

routes = web.RouteTableDef()

ID = r"{id:\d{1,19}}"
MAX_CONTEXT = 60


def _draft(params: Params, caller: Caller, *, editing: bool = False) -> Draft:
    if params.get("poll") not in (None, "", {}):
        raise ValidationError("Validation failed: polls are not available on Quartier")
    if params.get("scheduled_at") not in (None, ""):
        raise ValidationError("Validation failed: scheduled posts are not available on Quartier")
    visibility = params.text("visibility") or "public"
    try:
        chosen = Visibility(visibility)
    except ValueError:
        raise ValidationError(
            f"Validation failed: Visibility {visibility} is not one of "
            "public, unlisted, private, direct"
        ) from None
    reply_to = params.text("in_reply_to_id")
    if reply_to is not None and reply_to != "" and not (reply_to.isdigit() and len(reply_to) <= 19):
        raise NotFound("Record not found")
    session = caller.session
    return Draft(
        text=params.text("status", "", limit=100_000) or "",
        visibility=chosen,
        spoiler_text=params.text("spoiler_text", "", limit=MAX_SPOILER) or "",
        sensitive=params.flag("sensitive"),
        language=(params.text("language", limit=16) or None),
        in_reply_to_id=int(reply_to) if reply_to else None,
        media_ids=params.strings("media_ids", limit=10),
        application=None if editing else _app_name(session),
    )


def _app_name(session: Any) -> str | None:
    app = getattr(session, "app", None)
    return getattr(app, "name", None) if app is not None else None


@routes.post("/api/v1/statuses" + SLASH)
async def post_status(request: web.Request) -> web.Response:
    """Post a status."""
    caller = await member(request, "write:statuses")
    if caller.session.app_id is not None:  # type: ignore[attr-defined]
        await caller.session.fetch_related("app")
    params = await read_params(request)
    key = request.headers.get("Idempotency-Key")
    if key is not None and len(key) > 200:
        raise ValidationError("Validation failed: Idempotency-Key is too long")
    status = await request.app[STATUSES].post(caller.member, _draft(params, caller), key)
    return reply(await renderer(request).status(status))


async def _visible(request: web.Request, caller: Caller, status_id: str) -> Status:
    status = await Status.get_or_none(id=int(status_id))
    if status is None or not await request.app[STATUSES].may_see(caller.member, status):
        raise NotFound("Record not found")
    return status


@routes.get("/api/v1/statuses" + SLASH)
async def many(request: web.Request) -> web.Response:
    """Several statuses by id (those the caller may see), in the order asked."""
    caller = await member(request, "read:statuses")
    params = await read_params(request)
    ids = [int(i) for i in params.strings("id", limit=40) if i.isdigit() and len(i) <= 19]
    rows = {s.id: s for s in await Status.filter(id__in=ids)}
    statuses = request.app[STATUSES]
    visible = [rows[i] for i in ids if i in rows and await statuses.may_see(caller.member, rows[i])]
    return reply(await renderer(request).statuses(visible))


@routes.get(f"/api/v1/statuses/{ID}" + SLASH)
async def get_status(request: web.Request) -> web.Response:
    """One status."""
    caller = await member(request, "read:statuses")
    status = await _visible(request, caller, request.match_info["id"])
    return reply(await renderer(request).status(status))


@routes.put(f"/api/v1/statuses/{ID}" + SLASH)
async def edit_status(request: web.Request) -> web.Response:
    """Edit one of the caller's own statuses."""
    caller = await member(request, "write:statuses")
    status = await _visible(request, caller, request.match_info["id"])
    params = await read_params(request)
    draft = _draft(params, caller, editing=True)
    status = await request.app[STATUSES].edit(caller.member, status, draft)
    return reply(await renderer(request).status(status))


@routes.delete(f"/api/v1/statuses/{ID}" + SLASH)
async def delete_status(request: web.Request) -> web.Response:
    """Delete one of the caller's own statuses; the answer carries its text, to redraft."""
    caller = await member(request, "write:statuses")
    status = await _visible(request, caller, request.match_info["id"])
    body = await renderer(request).status(status)
    await request.app[STATUSES].delete(caller.member, status)
    body["text"] = status.text or ""
    return reply(body)


@routes.get(f"/api/v1/statuses/{ID}/source")
async def source(request: web.Request) -> web.Response:
    """The text of one of the caller's statuses as written."""
    caller = await member(request, "read:statuses")
    status = await _visible(request, caller, request.match_info["id"])
    me = request.app[SETTINGS].uris.actor(caller.member.username)
    if status.author != me:
        raise NotFound("Record not found")
    return reply(
        {"id": str(status.id), "text": status.text or "", "spoiler_text": status.spoiler_text}
    )


@routes.get(f"/api/v1/statuses/{ID}/history")
async def history(request: web.Request) -> web.Response:
    """The versions of a status; we keep the current one only."""
    caller = await member(request, "read:statuses")
    status = await _visible(request, caller, request.match_info["id"])
    body = await renderer(request).status(status)
    return reply(
        [
            {
                "content": body["content"],
                "spoiler_text": body["spoiler_text"],
                "sensitive": body["sensitive"],
                "created_at": body["edited_at"] or body["created_at"],
                "account": body["account"],
                "poll": None,
                "media_attachments": body["media_attachments"],
                "emojis": [],
            }
        ]
    )


@routes.get(f"/api/v1/statuses/{ID}/{{who:reblogged_by|favourited_by}}")
async def who(request: web.Request) -> web.Response:
    """Nobody: boosts and favourites are not part of Quartier."""
    caller = await member(request, "read:statuses")
    await _visible(request, caller, request.match_info["id"])
    return reply([])


@routes.post(
    f"/api/v1/statuses/{ID}/{{action:favourite|unfavourite|reblog|unreblog|bookmark|"
    "unbookmark|pin|unpin|mute|unmute}"
)
async def unsupported_action(request: web.Request) -> web.Response:
    """Actions Quartier does not have: a clear refusal an app shows."""
    caller = await member(request, "write:statuses")
    await _visible(request, caller, request.match_info["id"])
    action = request.match_info["action"].removeprefix("un")
    raise ValidationError(f"Validation failed: {action} is not available on Quartier")


@routes.get(f"/api/v1/statuses/{ID}/context")
async def context(request: web.Request) -> web.Response:
    """The thread around a status: what it answers, up the chain, and the answers to it."""
    caller = await member(request, "read:statuses")
    status = await _visible(request, caller, request.match_info["id"])
    statuses = request.app[STATUSES]
    ancestors: list[Status] = []
    parent_id = status.in_reply_to
    while parent_id and len(ancestors) < MAX_CONTEXT:
        parent = await Status.get_or_none(ap_id=parent_id)
        if parent is None or not await statuses.may_see(caller.member, parent):
            break
        ancestors.insert(0, parent)
        parent_id = parent.in_reply_to
    descendants: list[Status] = []
    frontier = [status.ap_id]
    while frontier and len(descendants) < MAX_CONTEXT:
        children = await Status.filter(in_reply_to__in=frontier).order_by("id").limit(MAX_CONTEXT)
        seen = [c for c in children if await statuses.may_see(caller.member, c)]
        descendants.extend(seen[: MAX_CONTEXT - len(descendants)])
        frontier = [c.ap_id for c in seen]
    rendered = renderer(request)
    return reply(
        {
            "ancestors": await rendered.statuses(ancestors),
            "descendants": await rendered.statuses(descendants),
        }
    )


# Timelines


async def _page_of_statuses(request: web.Request, query: Any, page: Page) -> web.Response:
    return await _statuses_page(request, await fetch(query, page))


async def _statuses_page(request: web.Request, rows: list[Status]) -> web.Response:
    rendered = await renderer(request).statuses(rows)
    return paged(request, rendered, [r.id for r in rows])


@routes.get("/api/v1/timelines/home" + SLASH)
async def home(request: web.Request) -> web.Response:
    """The caller's home timeline: their posts, their follows' and the listings here."""
    caller = await member(request, "read:statuses")
    page = read_page(await read_params(request))
    entries = await fetch(TimelineEntry.filter(member_id=caller.member.id), page, "status_id")
    ids = [e.status_id for e in entries]  # type: ignore[attr-defined]
    by_id = {s.id: s for s in await Status.filter(id__in=ids)}
    return await _statuses_page(request, [by_id[i] for i in ids if i in by_id])


def _public(params: Params) -> Any:
    # Every listing status is for every member (their home timelines all have it): the local
    # and tag timelines show the members-only ones too, to members (a token is needed).
    query = Status.filter(
        Q(visibility=Visibility.PUBLIC) | Q(kind=StatusKind.LISTING),
        reblog_of_id=None,
        kind__in=list(COUNTED_KINDS),
    )
    if params.flag("local"):
        query = query.filter(local=True)
    elif params.flag("remote"):
        query = query.filter(local=False)
    if params.flag("only_media"):
        query = query.filter(has_media=True)
    return query


@routes.get("/api/v1/timelines/public" + SLASH)
async def public(request: web.Request) -> web.Response:
    """Public statuses known here (``local``: this node's only)."""
    await member(request, "read:statuses")
    params = await read_params(request)
    return await _page_of_statuses(request, _public(params), read_page(params))


@routes.get("/api/v1/timelines/tag/{tag}")
async def tag(request: web.Request) -> web.Response:
    """Public statuses under a hashtag (a listing is under its kind: ``#give``, ``#lend``...)."""
    await member(request, "read:statuses")
    params = await read_params(request)
    name = request.match_info["tag"].lower()[:100]
    query = _public(params).filter(tag_index__name=name)
    return await _page_of_statuses(request, query, read_page(params))


@routes.get("/api/v1/timelines/direct" + SLASH)
async def direct(request: web.Request) -> web.Response:
    """The caller's direct messages, newest first."""
    caller = await member(request, "read:statuses")
    params = await read_params(request)
    query = Status.filter(
        timeline_entries__member_id=caller.member.id, visibility=Visibility.DIRECT
    )
    return await _page_of_statuses(request, query, read_page(params))


@routes.get(r"/api/v1/accounts/{id:\d{1,19}}/statuses")
async def account_statuses(request: web.Request) -> web.Response:
    """An account's statuses the caller may see, newest first (``exclude_replies``,
    ``exclude_reblogs``, ``only_media``, ``tagged``; ``pinned``: none, Quartier has no pins)."""
    caller = await member(request, "read:statuses")
    params = await read_params(request)
    actor = await actor_of(request.match_info["id"])
    if params.flag("pinned"):
        return reply([])
    query = Status.filter(author=actor, kind__in=list(COUNTED_KINDS))
    me = request.app[SETTINGS].uris.actor(caller.member.username)
    if actor != me:
        # Public and unlisted ones, and those in the caller's own home timeline (followers-
        # only posts they follow, listings here); direct messages are read in conversations.
        query = query.filter(
            Q(visibility__in=[Visibility.PUBLIC, Visibility.UNLISTED])
            | Q(timeline_entries__member_id=caller.member.id)
        ).distinct()
    if params.flag("exclude_replies"):
        query = query.filter(in_reply_to=None)
    if params.flag("exclude_reblogs"):
        query = query.filter(reblog_of_id=None)
    if params.flag("only_media"):
        query = query.filter(has_media=True)
    tagged = params.text("tagged", limit=100)
    if tagged:
        query = query.filter(tag_index__name=tagged.lstrip("#").lower())
    return await _page_of_statuses(request, query, read_page(params))
